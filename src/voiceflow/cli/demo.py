"""``voiceflow demo``: transcribe the speech sample shipped in the package, offline.

The sample (``voiceflow/data/sample.wav``, 5.5 s, 16 kHz mono int16) was synthesised with
``espeak-ng -v en-us -s 150 -w tmp.wav "$(cat sample.txt)"`` and converted with
``sox tmp.wav -r 16000 -c 1 -b 16 sample.wav``; ``sample.txt`` is its reference text.

The demo runs the full path a user's file takes (read, audio guard, ``Transcriber``) and prints
the text, the reference, the word error rate (:mod:`voiceflow.bench.wer`: case and
punctuation ignored, no optional package needed), a timing breakdown, the mode and the peak
memory. Exit code 0 when text came out; 1 when none did or the model could not be loaded (one
error line).
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import resources
from pathlib import Path

_STARTED = time.perf_counter()  # this module is imported only when the demo command runs


def sample_path() -> Path:
    """Path of the bundled speech sample (a real file inside the installed package)."""
    return Path(str(resources.files("voiceflow") / "data" / "sample.wav"))


def sample_reference() -> str:
    """The text spoken in the bundled sample."""
    return (resources.files("voiceflow") / "data" / "sample.txt").read_text(encoding="utf-8").strip()


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``demo`` command to ``subparsers``."""
    from voiceflow.config import MODES

    parser = subparsers.add_parser(
        "demo",
        help="transcribe the bundled speech sample (offline check)",
        description="Transcribe a short speech sample shipped with voiceflow; no network needed.",
    )
    parser.add_argument("--mode", choices=tuple(MODES), default="balanced", help="preset (default: balanced)")
    parser.add_argument("--model", default="tiny.en", help="model name or directory (default: tiny.en)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Transcribe the sample and print the report; returns 0 if any text came out."""
    from voiceflow.audio.file import read_audio

    started = time.perf_counter()
    audio = read_audio(sample_path())
    read_done = time.perf_counter()
    from voiceflow.asr.transcriber import Transcriber

    imported = time.perf_counter()
    try:
        transcriber = Transcriber(args.model, mode=args.mode)
    except (OSError, ValueError) as error:  # model not found / not loadable
        print(f"voiceflow demo: error: {error}", file=sys.stderr)
        return 1
    with transcriber:
        loaded = time.perf_counter()
        transcript = transcriber.transcribe(audio, 16000)
        done = time.perf_counter()

    reference = sample_reference()
    t = transcript.timings
    print(f"text:      {transcript.text.strip()}")
    print(f"reference: {reference}")
    print(f"WER:       {_wer_line(reference, transcript.text)}")
    print(f"mode:      {transcript.mode} (model {args.model})")
    print(
        f"timings:   audio {transcript.duration:.2f} s | read + guard {read_done - started:.3f} s"
        f" | import {imported - read_done:.3f} s | load + warm-up {loaded - imported:.3f} s"
        f" | transcribe {done - loaded:.3f} s (features {t.features:.3f}, encode {t.encode:.3f},"
        f" decode {t.decode:.3f})"
    )
    print(
        f"total:     {done - _STARTED:.3f} s from command start to text;"
        f" peak RSS {_peak_rss_mib():.0f} MiB"
    )
    return 0 if transcript.text.strip() else 1


def _wer_line(reference: str, hypothesis: str) -> str:
    from voiceflow.bench.wer import word_error_rate

    return f"{100 * word_error_rate([reference], [hypothesis]):.1f} % (case and punctuation ignored)"


def _peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB); Linux reports KiB, macOS bytes."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
