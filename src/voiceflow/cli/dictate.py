"""The ``voiceflow dictate`` command: push-to-talk dictation from a microphone."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from voiceflow.config import MODES, CaptureConfig

__all__ = ["add_parser", "run"]

_DEFAULTS = CaptureConfig()
_CONTROL_COMMANDS = ("begin", "end", "toggle", "cancel")  # voiceflow.dictation.control.COMMANDS


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _dbfs(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not -200 <= value < 0:
        raise argparse.ArgumentTypeError(f"must be a level below full scale, -200 to 0 dBFS "
                                         f"(e.g. -40), got {text}")
    return value


def _writable_file(text: str) -> str:
    """An --append path that can be written: an existing writable file, or a new file in a
    writable folder (checked at start, so a bad path is a usage error, not a traceback later)."""
    path = os.path.abspath(os.path.expanduser(text))
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            raise argparse.ArgumentTypeError(f"cannot write to {text} (permission denied)")
    else:
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            raise argparse.ArgumentTypeError(f"cannot create {text}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"cannot create {text}: folder {folder} is not writable")
    return path


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "dictate", help="push-to-talk dictation from a microphone",
        description="Push-to-talk dictation: Enter starts recording, Enter stops (or, with "
        "--vad, a pause stops); each utterance's text is printed as soon as it is ready while "
        "the next one is recorded. Ctrl-D (end of input) finishes, Ctrl-C quits. Desktop "
        "dictation: --hotkey F9 --type (hold the key anywhere, the words are typed into the "
        "focused window), or --listen plus a desktop shortcut running `voiceflow dictate toggle`. "
        "Voice commands: \"new line\", \"new paragraph\", \"scratch that\".",
    )
    parser.add_argument("action", nargs="?", choices=_CONTROL_COMMANDS,
                        help="control the session started with --listen and exit")
    parser.add_argument("--device", default=None,
                        help="input device index or name (see `voiceflow devices`); default: the system's")
    parser.add_argument("--samplerate", type=_positive_int, default=_DEFAULTS.samplerate,
                        help="rate to open the device at (Hz, default %(default)s; the device's own "
                        "rate is used if it refuses)")
    parser.add_argument("--model", default="tiny.en", help="Whisper model name or directory (default %(default)s)")
    parser.add_argument("--mode", default="balanced", choices=tuple(MODES),
                        help="speed/accuracy preset (default %(default)s)")
    parser.add_argument("--vad", action="store_true",
                        help="stop each utterance automatically after a pause")
    parser.add_argument("--silence", type=_positive_seconds, default=_DEFAULTS.vad_silence_seconds, metavar="SECONDS",
                        help="--vad: pause that ends an utterance (default %(default)s s)")
    parser.add_argument("--threshold-db", type=_dbfs, default=_DEFAULTS.vad_threshold_dbfs, metavar="DBFS",
                        help="--vad: frames quieter than this are silence (default %(default)s dBFS)")
    parser.add_argument("--append", metavar="FILE", default=None, type=_writable_file,
                        help="also append each utterance's text to FILE")
    parser.add_argument("--copy", action="store_true",
                        help="also copy each utterance's text to the clipboard (wl-copy, xclip, xsel, pbcopy)")
    desktop = parser.add_argument_group("desktop dictation")
    desktop.add_argument("--hotkey", metavar="KEY", default=None,
                         help="X11: hold KEY (a keysym name: F9, Control_R, Pause, ...) anywhere to talk; "
                         "the key is grabbed globally and never reaches the application")
    desktop.add_argument("--toggle", action="store_true",
                         help="--hotkey: one press starts, the next stops (instead of holding)")
    desktop.add_argument("--listen", action="store_true",
                         help="take begin/end/toggle/cancel from `voiceflow dictate ACTION` over a "
                         "private Unix socket in $XDG_RUNTIME_DIR (Wayland, desktop shortcuts)")
    where = desktop.add_mutually_exclusive_group()
    where.add_argument("--type", action="store_true",
                       help="type each text into the window focused when the utterance ended "
                       "(XTest on X11; wtype, ydotool or dotool on Wayland)")
    where.add_argument("--paste", action="store_true",
                       help="paste each text (Ctrl+V, Ctrl+Shift+V in terminals) and restore the "
                       "clipboard afterwards (X11, needs xclip)")
    text = parser.add_argument_group("text")
    text.add_argument("--replacements", metavar="FILE", default=None,
                      help='TOML table of replacements applied to each text, e.g. "voice flow" = "voiceflow"')
    text.add_argument("--hotwords", metavar="TEXT", default=None,
                      help="words or phrases the model should favour (names, jargon)")
    text.add_argument("--prompt", metavar="TEXT", default=None,
                      help="text that precedes the dictation (style, spelling) given to the model")
    parser.add_argument("--no-live", dest="live", action="store_false",
                        help="no live text and no streaming while recording: every utterance is transcribed whole "
                             "at release (less CPU while speaking, a longer wait after long ones)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.action is not None:
        return _send(args.action)
    from voiceflow.dictation.session import clipboard_command

    def usage(message: str) -> int:
        print(f"voiceflow dictate: {message}", file=sys.stderr)
        return 2

    if args.toggle and not args.hotkey:
        return usage("--toggle needs --hotkey")
    if (args.type or args.paste) and not (args.hotkey or args.listen):
        return usage("--type/--paste need --hotkey or --listen (Enter in this terminal would type here)")
    if args.vad and (args.hotkey or args.listen):
        return usage("--vad works with Enter; with --hotkey/--listen the key or command ends each utterance")
    copy_command = None
    if args.copy or args.type or args.paste:
        copy_command = clipboard_command()
        if copy_command is None and args.copy:
            print("voiceflow dictate: --copy needs a clipboard tool: install wl-clipboard (Wayland), "
                  "xclip or xsel (X11); none was found for this session", file=sys.stderr)
            return 2
    replacements = {}
    if args.replacements:
        from voiceflow.dictation.text import ReplacementsError, load_replacements

        try:
            replacements = load_replacements(args.replacements)
        except ReplacementsError as exc:
            return usage(str(exc))
    resources: list = []
    try:
        try:
            hotkey, control, window = _desktop(args, copy_command, resources)
        except _Usage as exc:
            return usage(str(exc))
        return _session(args, copy_command if args.copy else None, replacements, hotkey, control, window)
    finally:
        for resource in reversed(resources):
            resource.close()


class _Usage(Exception):
    """A request that cannot work here: a usage error (exit 2) with this reason."""


def _desktop(args: argparse.Namespace, copy_command: list[str] | None, resources: list) -> tuple:
    """The hotkey grab, control socket and window output the options ask for (each appended to
    ``resources`` for closing); raises :class:`_Usage` with the reason when one is impossible."""
    hotkey = control = window = None
    wayland = bool(os.environ.get("WAYLAND_DISPLAY"))
    x11 = bool(os.environ.get("DISPLAY"))
    if args.hotkey:
        from voiceflow.dictation.hotkey import HotkeyError, HotkeyGrab

        try:
            hotkey = HotkeyGrab(args.hotkey)
        except HotkeyError as exc:
            raise _Usage(str(exc)) from None
        resources.append(hotkey)
    if args.listen:
        from voiceflow.dictation.control import ControlError, ControlServer

        try:
            control = ControlServer()
        except (ControlError, OSError) as exc:
            raise _Usage(f"--listen: {exc}") from None
        resources.append(control)
    if args.type or args.paste:
        from voiceflow.dictation.keyboard import KeyboardError, XTestKeyboard, wayland_keyboard
        from voiceflow.dictation.output import WindowOutput

        keyboard = wayland_keyboard() if wayland and args.type else None
        if keyboard is None:
            if not x11 and not wayland:
                raise _Usage("no graphical session ($DISPLAY and $WAYLAND_DISPLAY are unset)")
            if not x11:
                raise _Usage("--paste needs X11; on Wayland use --type" if args.paste else
                             "--type on Wayland needs wtype, ydotool or dotool; none is installed")
            if wayland:
                print("voiceflow dictate: Wayland session without wtype/ydotool/dotool: typing through "
                      "XTest reaches only XWayland windows", file=sys.stderr)
            if args.paste:
                import shutil

                if shutil.which("xclip") is None:
                    raise _Usage("--paste needs xclip (apt install xclip)")
            try:
                keyboard = XTestKeyboard()
            except KeyboardError as exc:
                raise _Usage(str(exc)) from None
        resources.append(keyboard)
        window = WindowOutput(keyboard, "paste" if args.paste else "type", copy_command)
    return hotkey, control, window


class _Prompted:
    """A transcriber whose every call gets the session's ``prompt`` / ``hotwords``."""

    def __init__(self, transcriber, prompt, hotwords) -> None:
        self._transcriber, self._prompt, self._hotwords = transcriber, prompt, hotwords

    def transcribe(self, audio, sample_rate):
        return self._transcriber.transcribe(audio, sample_rate, prompt=self._prompt, hotwords=self._hotwords)

    def stream(self, sample_rate, on_update=None):
        return self._transcriber.stream(sample_rate, on_update, prompt=self._prompt, hotwords=self._hotwords)


def _session(args: argparse.Namespace, copy_command: list[str] | None, replacements: dict,
             hotkey, control, window) -> int:
    """Open the input, load the model and run the session (``copy_command``: for ``--copy``)."""
    from voiceflow.capture.devices import DeviceError
    from voiceflow.capture.recorder import Recorder
    from voiceflow.config import Config
    from voiceflow.dictation.session import SilenceDetector, run_dictation
    from voiceflow.dictation.text import DictationText

    device = int(args.device) if args.device is not None and args.device.isdigit() else args.device

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
    if hotkey is not None or control is not None:
        # A background session is stopped with SIGTERM: end it like Ctrl-C (finish, then exit).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    asr = transcriber if not (args.prompt or args.hotwords) else _Prompted(transcriber, args.prompt, args.hotwords)
    with transcriber:
        from voiceflow.dictation.live import LiveDictation

        live = LiveDictation(asr, sys.stderr) if args.live else None
        return run_dictation(recorder, asr, vad=vad, append_to=args.append, copy_command=copy_command,
                             hotkey=hotkey, toggle=args.toggle, control=control, window=window,
                             text=DictationText(replacements), live=live)


def _send(action: str) -> int:
    from voiceflow.dictation.control import ControlError, send_command

    try:
        answer = send_command(action)
    except ControlError as exc:
        print(f"voiceflow dictate {action}: {exc}", file=sys.stderr)
        return 1
    print(answer)
    return 0
