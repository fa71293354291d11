"""``voiceflow transcribe FILE...``: batch transcription to txt / json / srt / vtt.

One worker (the default) runs a :class:`~voiceflow.asr.pipeline.PipelinedTranscriber` in this
process, so the next file is decoded while the model works on the current one. ``--workers N``
runs N processes with one CTranslate2 thread each, so a batch scales with cores.

Every file that cannot be transcribed (missing, empty, not audio, rejected by the audio guard)
prints one ``voiceflow transcribe: error: FILE: reason`` line on stderr and the batch goes on. A
file cut short or damaged part-way prints a ``warning:`` line and its transcript is what could be
decoded (JSON: ``"truncated": true``); with ``--strict`` it is an error instead. Exit code: the
number of files without a transcript, capped at 125 (126 and up mean other things to shells);
0 when all succeeded.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Iterable

from voiceflow.config import MODES
from voiceflow.cli.formats import FORMATS, render

MAX_EXIT_CODE = 125

Outcome = tuple[str, Any, "str | None"]  # (path, transcript or None, one-line error or None)

_PROG = "voiceflow transcribe"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``transcribe`` command to ``subparsers``."""
    parser = subparsers.add_parser(
        "transcribe",
        help="transcribe audio files (txt/json/srt/vtt)",
        description=(
            "Transcribe audio files offline. Without --output the result goes to stdout. "
            "Exit code: number of files that failed (at most 125)."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, mp3, ...)")
    parser.add_argument(
        "--mode", choices=tuple(MODES), default="balanced", help="speed/accuracy preset (default: balanced)"
    )
    parser.add_argument("--format", choices=FORMATS, default="txt", help="output format (default: txt)")
    parser.add_argument("--output", "-o", metavar="DIR", type=Path, help="write DIR/<name>.<format> per file")
    parser.add_argument(
        "--workers", type=_positive_int, default=1, metavar="N",
        help="worker processes, one CPU thread each (default: 1, in this process)",
    )  # fmt: skip
    parser.add_argument(
        "--model", default="tiny.en", help="model name or CTranslate2 directory (default: tiny.en, offline)"
    )
    parser.add_argument(
        "--strict", action="store_true",
        help="a truncated or damaged file is an error (default: a warning, and the transcript of what is there)",
    )  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Transcribe ``args.files``; returns the number of failures (capped at 125)."""
    paths = [str(path) for path in args.files]
    try:
        from voiceflow.asr.models import resolve_model

        model = resolve_model(args.model)
        if args.output is not None:
            args.output.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:
        print(f"{_PROG}: error: {error}", file=sys.stderr)
        return min(len(paths), MAX_EXIT_CODE)

    sink = _Sink(args.format, args.output, len(paths))
    if args.workers == 1 or len(paths) == 1:
        outcomes = _transcribe_in_process(paths, model, args.mode)
    else:
        outcomes = _transcribe_in_pool(paths, model, args.mode, args.workers)
    for path, transcript, error in outcomes:
        if error is None and getattr(transcript, "truncated", False):
            cut = f"{path}: truncated or damaged: transcribed the {transcript.duration:.2f} s that could be decoded"
            if getattr(args, "strict", False):
                transcript, error = None, f"{cut} (--strict)"
            else:
                sink.warn(cut)
        sink.deliver(path, transcript, error)
    sink.finish()
    return min(sink.failed, MAX_EXIT_CODE)


def _transcribe_in_process(paths: list[str], model: str, mode: str) -> Iterable[Outcome]:
    """A pipeline in this process: decoding file k+1 overlaps the model on file k."""
    import queue
    import threading

    from voiceflow.asr.pipeline import PipelinedTranscriber
    from voiceflow.asr.transcriber import Transcriber

    try:
        transcriber = Transcriber(model, mode=mode)
    except Exception as error:  # noqa: BLE001 - one line per file, as promised
        message = f"cannot load model {model!r}: {_one_line(error)}"
        for path in paths:
            yield path, None, f"{path}: {message}"
        return
    delivered: queue.Queue[Any] = queue.Queue()
    with transcriber, PipelinedTranscriber(transcriber, max_pending=2, on_result=delivered.put) as pipe:
        feeder = threading.Thread(target=_feed, args=(pipe, paths), name="voiceflow-feed", daemon=True)
        feeder.start()
        for _ in paths:
            result = delivered.get()
            error = None if result.error is None else _describe(result.tag, result.error)
            yield result.tag, result.transcript, error
        feeder.join()


def _feed(pipe: Any, paths: list[str]) -> None:
    try:
        for path in paths:
            pipe.submit(path, tag=path)
    except RuntimeError:  # the consumer stopped early and closed the pipeline
        return


def _transcribe_in_pool(paths: list[str], model: str, mode: str, workers: int) -> Iterable[Outcome]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    with ProcessPoolExecutor(
        max_workers=min(workers, len(paths)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(model, mode),
    ) as pool:
        futures = [pool.submit(_transcribe_file, path) for path in paths]
        for path, future in zip(paths, futures):
            try:
                transcript, error = future.result()
            except Exception as failure:  # noqa: BLE001 - a dead worker fails its files, not the batch
                transcript, error = None, f"{path}: worker failed: {_one_line(failure)}"
            yield path, transcript, error


_worker_transcriber: Any = None


def _init_worker(model: str, mode: str) -> None:
    global _worker_transcriber
    from voiceflow.asr.transcriber import Transcriber

    _worker_transcriber = Transcriber(model, mode=mode, cpu_threads=1, workers=1)


def _transcribe_file(path: str) -> tuple[Any, str | None]:
    import warnings

    from voiceflow.audio.file import TruncatedAudioWarning

    try:
        with warnings.catch_warnings():  # the parent prints one line from Transcript.truncated
            warnings.simplefilter("ignore", TruncatedAudioWarning)
            return _worker_transcriber.transcribe(path), None
    except Exception as error:  # noqa: BLE001
        return None, _describe(path, error)


class _Sink:
    """Writes each transcript (file or stdout), prints error lines, drives the progress bar."""

    def __init__(self, fmt: str, output: Path | None, total: int) -> None:
        self.fmt = fmt
        self.output = output
        self.total = total
        self.failed = 0
        self._names: set[str] = set()
        self._bar = _progress_bar(total)

    def deliver(self, path: str, transcript: Any, error: str | None) -> None:
        if error is None:
            try:
                self._write(path, transcript)
            except OSError as failure:
                error = f"{path}: cannot write output: {_one_line(failure)}"
        if error is not None:
            self.failed += 1
            self._say(f"{_PROG}: error: {error}")
        if self._bar is not None:
            self._bar.update(1)

    def warn(self, message: str) -> None:
        self._say(f"{_PROG}: warning: {message}")

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self.failed and self.total > 1:
            print(f"{_PROG}: {self.failed} of {self.total} files failed", file=sys.stderr)

    def _write(self, path: str, transcript: Any) -> None:
        text = render(transcript, self.fmt, source=path)
        if self.output is not None:
            target = self.output / self._unique_name(Path(path).stem)
            target.write_text(text, encoding="utf-8")
        elif self.total == 1 or self.fmt == "json":  # json: one object per line (JSON Lines)
            sys.stdout.write(text)
        else:
            sys.stdout.write(f"==> {path} <==\n{text}")
        sys.stdout.flush()

    def _unique_name(self, stem: str) -> str:
        name, n = f"{stem}.{self.fmt}", 1
        while name in self._names:  # a/x.wav and b/x.wav in one batch
            n += 1
            name = f"{stem}-{n}.{self.fmt}"
        self._names.add(name)
        return name

    def _say(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)


def _progress_bar(total: int) -> Any:
    """A tqdm bar on stderr for batches of several files on a terminal; else None."""
    if total < 2 or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)


def _describe(path: str, error: BaseException) -> str:
    """``FILE: reason`` on one line; the exception type is named when it is not self-explaining."""
    message = _one_line(error)
    if not isinstance(error, (OSError, ValueError)):
        message = f"{type(error).__name__}: {message}"
    return message if message.startswith(str(path)) else f"{path}: {message}"


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
