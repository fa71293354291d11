"""The ``voiceflow`` command line.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` (which calls
``set_defaults(func=run)``; ``run(args) -> int`` is the exit code). Only the chosen command's
module is imported, so ``voiceflow --help`` and ``voiceflow --version`` stay fast and a command
whose module is missing or broken cannot break the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NamedTuple, Sequence

from voiceflow import __version__


class _Command(NamedTuple):
    name: str
    module: str
    factory: str  # the module's function that adds this command's parser
    help: str


_COMMANDS = (
    _Command("transcribe", "voiceflow.cli.transcribe", "add_parser", "transcribe audio files (txt/json/srt/vtt)"),
    _Command("demo", "voiceflow.cli.demo", "add_parser", "transcribe the bundled speech sample (offline check)"),
    _Command("devices", "voiceflow.cli.devices", "add_parser", "list audio input devices"),
    _Command("dictate", "voiceflow.cli.dictate", "add_parser", "push-to-talk dictation from a mic"),
)
_BENCH_COMMANDS = (
    _Command("asr", "voiceflow.cli.bench", "add_asr_parser", "latency / WER benchmark on a speech corpus"),
    _Command("stream", "voiceflow.cli.bench", "add_stream_parser",
             "streaming transcription at real-time pace vs one-shot and plain"),
)


def build_parser(chosen: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The full parser. ``chosen`` is the command path (``["transcribe"]``, ``["bench", "asr"]``):
    that command's module is imported and adds its real parser; every other command gets a
    placeholder that only carries its help line."""
    parser = argparse.ArgumentParser(prog="voiceflow", description="Fast, safe, local push-to-talk dictation.")
    parser.add_argument("--version", action="version", version=f"voiceflow {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    path = list(chosen[:2])
    for command in _COMMANDS:
        _add(commands, command, path[:1] == [command.name])
    bench = commands.add_parser("bench", help="benchmarks", description="Benchmarks.")
    bench_commands = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK")
    for command in _BENCH_COMMANDS:
        _add(bench_commands, command, path == ["bench", command.name])
    bench.set_defaults(func=lambda args: _usage(bench))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voiceflow`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_positionals(argv))
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "ignores_arguments", False):
        parser.parse_args(argv)  # reports the unrecognised arguments and exits 2
    func = getattr(args, "func", None)
    if func is None:
        return _usage(parser)
    try:
        return int(func(args))
    except KeyboardInterrupt:
        print("voiceflow: interrupted", file=sys.stderr)
        return 130


def _add(subparsers: argparse._SubParsersAction, command: _Command, load: bool) -> None:
    if load:
        try:
            add_parser = getattr(importlib.import_module(command.module), command.factory)
        except (ImportError, AttributeError) as error:
            reason = f"{type(error).__name__}: {error}"
            func = lambda args: _unavailable(command, reason)  # noqa: E731
        else:
            add_parser(subparsers)
            return
    # A placeholder: listed in --help, swallows its arguments, and (if ever run) says why.
    placeholder = subparsers.add_parser(command.name, help=command.help, add_help=False)
    placeholder.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    if load:
        placeholder.set_defaults(func=func, ignores_arguments=True)


def _unavailable(command: _Command, reason: str) -> int:
    print(f"voiceflow: command {command.name!r} is unavailable ({reason})", file=sys.stderr)
    return 2


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _positionals(argv: Sequence[str]) -> list[str]:
    """The leading non-option words (the command path); stops at the first option."""
    words = []
    for word in argv:
        if word.startswith("-"):
            break
        words.append(word)
    return words


if __name__ == "__main__":
    sys.exit(main())
