"""The ``voiceflow dictate`` command: push-to-talk dictation from a microphone."""

from __future__ import annotations

import argparse
import sys

from voiceflow.config import MODES, CaptureConfig

__all__ = ["add_parser", "run"]

_DEFAULTS = CaptureConfig()


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "dictate", help="push-to-talk dictation from a microphone",
        description="Push-to-talk dictation: Enter starts recording, Enter stops (or, with "
        "--vad, a pause stops); each utterance's text is printed as soon as it is ready while "
        "the next one is recorded. Ctrl-D (end of input) finishes, Ctrl-C quits.",
    )
    parser.add_argument("--device", default=None,
                        help="input device index or name (see `voiceflow devices`); default: the system's")
    parser.add_argument("--samplerate", type=int, default=_DEFAULTS.samplerate,
                        help="rate to open the device at (Hz, default %(default)s; the device's own "
                        "rate is used if it refuses)")
    parser.add_argument("--model", default="tiny.en", help="Whisper model name or directory (default %(default)s)")
    parser.add_argument("--mode", default="balanced", choices=tuple(MODES),
                        help="speed/accuracy preset (default %(default)s)")
    parser.add_argument("--vad", action="store_true",
                        help="stop each utterance automatically after a pause")
    parser.add_argument("--silence", type=float, default=_DEFAULTS.vad_silence_seconds, metavar="SECONDS",
                        help="--vad: pause that ends an utterance (default %(default)s s)")
    parser.add_argument("--threshold-db", type=float, default=_DEFAULTS.vad_threshold_dbfs, metavar="DBFS",
                        help="--vad: frames quieter than this are silence (default %(default)s dBFS)")
    parser.add_argument("--append", metavar="FILE", default=None, help="also append each utterance's text to FILE")
    parser.add_argument("--copy", action="store_true",
                        help="also copy each utterance's text to the clipboard (wl-copy, xclip, xsel, pbcopy)")
    parser.add_argument("--no-live", dest="live", action="store_false",
                        help="do not transcribe while recording (no live text; all the work starts at release)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from voiceflow.dictation.session import SilenceDetector, clipboard_command, run_dictation

    copy_command = None
    if args.copy:
        copy_command = clipboard_command()
        if copy_command is None:
            print("voiceflow dictate: --copy needs a clipboard tool: install wl-clipboard (Wayland), "
                  "xclip or xsel (X11); none was found for this session", file=sys.stderr)
            return 2
    device = int(args.device) if args.device is not None and args.device.isdigit() else args.device
    from voiceflow.capture.recorder import Recorder
    from voiceflow.config import Config
    from voiceflow.capture.devices import DeviceError

    vad = SilenceDetector(args.silence, args.threshold_db) if args.vad else None
    recorder = Recorder.from_config(Config.for_mode(args.mode), device=device, samplerate=args.samplerate)
    try:
        recorder.open()  # before the model loads: fail fast, and the pre-roll starts filling
    except DeviceError as exc:
        print(f"voiceflow dictate: {exc}", file=sys.stderr)
        return 1
    try:
        from voiceflow.asr.transcriber import Transcriber

        print(f"loading model {args.model} ({args.mode}) ...", file=sys.stderr, flush=True)
        transcriber = Transcriber(model=args.model, mode=args.mode)
    except BaseException:
        recorder.close()
        raise
    with transcriber:
        from voiceflow.dictation.live import LiveDictation

        live = LiveDictation(transcriber, sys.stderr) if args.live else None
        return run_dictation(recorder, transcriber, vad=vad, append_to=args.append,
                             copy_command=copy_command, live=live)
