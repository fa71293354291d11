"""``voiceflow transcribe FILE...``: batch transcription to txt / json / srt / vtt.

Where the work runs:

* one worker (the default): a :class:`~voiceflow.asr.pipeline.PipelinedTranscriber` in this
  process, so the next file is decoded while the model works on the current one;
* ``--workers N``: N local processes with one CTranslate2 thread each, so a batch scales with
  cores;
* ``--scheduler ADDRESS``: a Dask distributed cluster (:mod:`voiceflow.asr.cluster`), one
  model per worker process.

Whatever runs the work, results are written here, in input order. Before any model loads, the
arguments are checked (usage errors: exit 2) and so is every input path: a missing, empty,
unreadable or directory path prints its error line at once. ``-`` reads one audio file from
stdin. Every file that cannot be transcribed prints one ``voiceflow transcribe: error: FILE:
reason`` line on stderr and the batch goes on.

Exit codes: 0 every file transcribed; 1 some failed (the last stderr line says how many);
2 usage error (bad option, ``--output`` that is a file, two inputs that would write the same
output file, a model that cannot be found). When stdout is closed early (``| head -1``) the
command stops working and exits 141 (128 + SIGPIPE, what a shell reports for a process that
SIGPIPE ended) without a traceback.

A file cut short or damaged part-way prints a ``warning:`` line and its transcript is what could
be decoded (JSON: ``"truncated": true``); with ``--strict`` it is a failed file instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Iterator

from voiceflow.config import MODES
from voiceflow.cli.formats import FORMATS, render

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141

STDIN = "-"
STDIN_NAME = "<stdin>"
"""How ``-`` is named in messages and JSON; its output file is ``stdin.<format>``."""

Outcome = tuple[str, Any, "str | None"]  # (path, transcript or None, one-line error or None)

_PROG = "voiceflow transcribe"


class UsageError(ValueError):
    """Arguments that cannot work together; reported as one line, exit code 2."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``transcribe`` command to ``subparsers``."""
    parser = subparsers.add_parser(
        "transcribe",
        help="transcribe audio files (txt/json/srt/vtt)",
        description=(
            "Transcribe audio files offline. Without --output the result goes to stdout "
            "(json: one object per line). Exit code: 0 all done, 1 some files failed, 2 usage error."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, mp3, ...); - reads stdin")
    parser.add_argument(
        "--mode", choices=tuple(MODES), default="balanced", help="speed/accuracy preset (default: balanced)"
    )
    parser.add_argument("--format", choices=FORMATS, default="txt", help="output format (default: txt)")
    parser.add_argument(
        "--output", "-o", metavar="DIR", type=Path,
        help="write DIR/<name>.<format> per file (created if missing) and print one line per file written",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=_positive_int, default=1, metavar="N",
        help="worker processes, one CPU thread each (default: 1, in this process)",
    )  # fmt: skip
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run on a Dask distributed cluster (e.g. tcp://host:8786; pip install 'voiceflow[dask]')",
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
    """Transcribe ``args.files``; returns the exit code (0, 1, 2 or 141)."""
    stdin_file: str | None = None
    try:
        paths = [str(path) for path in args.files]
        _check_usage(args, paths)
        from voiceflow.asr.models import resolve_model

        model = resolve_model(args.model)
        if STDIN in paths:
            stdin_file = _stdin_to_file()
    except (UsageError, OSError, ValueError) as error:
        print(f"{_PROG}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE

    sink = _Sink(args.format, args.output, len(paths))
    try:
        readable = []
        for path in paths:  # answered before any model loads
            problem = None if path == STDIN else _input_problem(path)
            if problem is None:
                readable.append(path)
            else:
                sink.deliver(path, None, problem)
        if readable and args.output is not None:
            args.output.mkdir(parents=True, exist_ok=True)
        outcomes = _outcomes(readable, model, args, stdin_file)
        try:
            for path, transcript, problem in outcomes:
                if problem is None and transcript.truncated:
                    cut = f"{path}: truncated or damaged: transcribed the {transcript.duration:.2f} s that could be decoded"
                    if args.strict:
                        transcript, problem = None, f"{cut} (--strict)"
                    else:
                        sink.warn(cut)
                sink.deliver(path, transcript, problem)
        finally:
            close = getattr(outcomes, "close", None)
            if close is not None:
                close()  # a generator: stops its workers, cancelling what has not started
        sink.finish()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        if stdin_file is not None:
            os.unlink(stdin_file)
    return EXIT_FAILED if sink.failed else 0


# --- checks before any work ------------------------------------------------------------------
def _check_usage(args: argparse.Namespace, paths: list[str]) -> None:
    if args.scheduler is not None:
        if args.workers != 1:
            raise UsageError("--workers and --scheduler exclude each other (the cluster has its own workers)")
        try:
            import voiceflow.asr.cluster  # noqa: F401 - needs the optional Dask extra
        except ImportError as error:
            raise UsageError(str(error)) from None
    if paths.count(STDIN) > 1:
        raise UsageError("stdin (-) can be read only once")
    if STDIN in paths and sys.stdin.isatty():
        raise UsageError("- reads audio from stdin, which is a terminal; pipe or redirect a file into it")
    if args.output is None:
        return
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"--output {args.output}: exists and is not a directory")
    first: dict[str, str] = {}
    clashes = []
    for path in paths:
        name = output_name(path, args.format)
        if name in first:
            clashes.append(f"{first[name]} and {path} would both write {args.output / name}")
        else:
            first[name] = path
    if clashes:
        raise UsageError("; ".join(clashes) + " (transcribe them in separate runs or rename them)")


def output_name(path: str, fmt: str) -> str:
    """File name written under ``--output`` for input ``path``: its stem plus the format."""
    stem = "stdin" if path == STDIN else Path(path).stem
    return f"{stem}.{fmt}"


def _input_problem(path: str) -> str | None:
    """Why ``path`` cannot be an audio file, found without reading it; None when it may be."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return f"{path}: no such file"
    except OSError as error:
        return f"{path}: {_one_line(error)}"
    if os.path.isdir(path):
        return f"{path}: is a directory, not an audio file"
    if not os.access(path, os.R_OK):
        return f"{path}: permission denied"
    if info.st_size == 0:
        return f"{path}: empty file (0 bytes)"
    return None


def _stdin_to_file() -> str:
    """Copy stdin's bytes to a temporary file (decoders need to seek); returns its path."""
    handle, name = tempfile.mkstemp(prefix="voiceflow-stdin-")
    with os.fdopen(handle, "wb") as out:
        while chunk := sys.stdin.buffer.read(1 << 20):
            out.write(chunk)
    return name


# --- running the work --------------------------------------------------------------------------
def _outcomes(paths: list[str], model: str, args: argparse.Namespace, stdin_file: str | None) -> Iterator[Outcome]:
    """Outcomes in input order, with ``-`` read from ``stdin_file`` and named ``<stdin>``."""
    if not paths:
        return iter(())
    sources = [stdin_file if path == STDIN and stdin_file else path for path in paths]
    if args.scheduler is not None:
        from voiceflow.asr.cluster import transcribe_on_cluster

        raw = transcribe_on_cluster(sources, args.scheduler, model=model, mode=args.mode)
    elif args.workers == 1 or len(paths) == 1:
        raw = _transcribe_in_process(sources, model, args.mode)
    else:
        raw = _transcribe_in_pool(sources, model, args.mode, args.workers)
    return _renamed(raw, dict(zip(sources, paths)), stdin_file)


def _renamed(outcomes: Iterator[Outcome], names: dict[str, str], stdin_file: str | None) -> Iterator[Outcome]:
    """``outcomes`` with each source named as the user typed it; closing this closes them."""
    try:
        for source, transcript, error in outcomes:
            path = names.get(source, source)
            if path == STDIN:
                path = STDIN_NAME
                if error is not None and stdin_file:
                    error = error.replace(stdin_file, STDIN_NAME)
            yield path, transcript, error
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()


def _transcribe_in_process(paths: list[str], model: str, mode: str) -> Iterator[Outcome]:
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
    # Leaving the block early (the consumer closed this generator) cancels what has not started.
    with transcriber, PipelinedTranscriber(transcriber, max_pending=2, on_result=delivered.put) as pipe:
        feeder = threading.Thread(target=_feed, args=(pipe, paths), name="voiceflow-feed", daemon=True)
        feeder.start()
        for _ in paths:
            result = delivered.get()
            problem = None if result.error is None else _describe(result.tag, result.error)
            yield result.tag, result.transcript, problem
        feeder.join()


def _feed(pipe: Any, paths: list[str]) -> None:
    try:
        for path in paths:
            pipe.submit(path, tag=path)
    except RuntimeError:  # the consumer stopped early and closed the pipeline
        return


def _transcribe_in_pool(paths: list[str], model: str, mode: str, workers: int) -> Iterator[Outcome]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(paths)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(model, mode),
    )
    try:
        futures = [pool.submit(_transcribe_file, path) for path in paths]
        for path, future in zip(paths, futures):
            try:
                transcript, error = future.result()
            except Exception as failure:  # noqa: BLE001 - a dead worker fails its files, not the batch
                transcript, error = None, f"{path}: worker failed: {_one_line(failure)}"
            yield path, transcript, error
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # early stop: queued files are not started


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


# --- writing results ---------------------------------------------------------------------------
class _Sink:
    """Writes each transcript (file or stdout), prints error lines, drives the progress bar.

    With a progress bar (several files, stderr a terminal) every line, stdout's included, goes
    through the bar's ``write``, which clears the bar, prints the line and redraws the bar below
    it, so transcripts on the same terminal never share a line with it.
    """

    def __init__(self, fmt: str, output: Path | None, total: int) -> None:
        self.fmt = fmt
        self.output = output
        self.total = total
        self.failed = 0
        self._bar = _progress_bar(total)

    def deliver(self, path: str, transcript: Any, error: str | None) -> None:
        if error is None:
            try:
                self._write(path, transcript)
            except BrokenPipeError:
                raise
            except OSError as failure:
                error = f"{path}: cannot write output: {_one_line(failure)}"
        if error is not None:
            self.failed += 1
            self._say(f"{_PROG}: error: {error}\n", sys.stderr)
        if self._bar is not None:
            self._bar.update(1)

    def warn(self, message: str) -> None:
        self._say(f"{_PROG}: warning: {message}\n", sys.stderr)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self.failed:
            print(f"{_PROG}: {self.failed} of {self.total} files failed", file=sys.stderr)

    def _write(self, path: str, transcript: Any) -> None:
        text = render(transcript, self.fmt, source=path)
        if self.output is not None:
            target = self.output / output_name(STDIN if path == STDIN_NAME else path, self.fmt)
            target.write_text(text, encoding="utf-8")
            self._say(f"{path} -> {target}\n", sys.stdout)
        elif self.total == 1 or self.fmt == "json":  # json: one object per line (JSON Lines)
            self._say(text, sys.stdout)
        else:
            self._say(f"==> {path} <==\n{text}", sys.stdout)

    def _say(self, text: str, stream: Any) -> None:
        if not text:
            return
        if self._bar is not None:
            self._bar.write(text, file=stream, end="")
        else:
            stream.write(text)
        stream.flush()


def _progress_bar(total: int) -> Any:
    """A tqdm bar on stderr for batches of several files on a terminal; else None."""
    if total < 2 or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)


def _silence_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the interpreter's final flush cannot fail."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests): nothing to protect
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


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
