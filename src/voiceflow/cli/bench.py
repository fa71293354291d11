"""The ``voiceflow bench`` commands: each parses its options here and runs from ``voiceflow.bench``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from voiceflow.bench import asr
from voiceflow.bench.asr import DEFAULT_CONFIGS, default_corpus, markdown_table, run_benchmark, write_chart

__all__ = ["add_asr_parser", "add_stream_parser", "configure_asr", "configure_stream", "run_asr", "run_stream"]


# --- bench asr ---------------------------------------------------------------------------------
def configure_asr(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--corpus", type=Path, default=None,
                        help="folder of *.wav clips with *.txt references (default ../shared/corpus/clips)")
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                        help=f"comma-separated configurations (default {','.join(DEFAULT_CONFIGS)})")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold starts per configuration (median)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed calls per clip and configuration (the clip's time is their median)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for asr_results.md, asr_results.json and asr_latency_wer.png "
                             "(default: docs/ of the checkout)")
    return parser


def add_asr_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``asr`` to the ``voiceflow bench`` subcommands."""
    parser = subparsers.add_parser(
        "asr", help="latency / WER benchmark on a speech corpus",
        description=asr.__doc__.split("\n\n")[0],
    )
    configure_asr(parser)
    parser.set_defaults(func=run_asr)
    return parser


def run_asr(args: argparse.Namespace) -> int:
    corpus = args.corpus or default_corpus()
    if not corpus.is_dir():
        print(f"voiceflow bench asr: corpus folder {corpus} not found (pass --corpus DIR)", file=sys.stderr)
        return 2
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in DEFAULT_CONFIGS]
    if unknown:
        print(f"voiceflow bench asr: unknown configuration(s) {unknown}; choose from {DEFAULT_CONFIGS}",
              file=sys.stderr)
        return 2
    if args.repeats < 1:
        print(f"voiceflow bench asr: --repeats must be at least 1, not {args.repeats}", file=sys.stderr)
        return 2
    out = args.out or Path(asr.__file__).resolve().parents[3] / "docs"
    out.mkdir(parents=True, exist_ok=True)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    rows, details = run_benchmark(corpus, configs, cold_runs=args.cold_runs, repeats=args.repeats, log=log)
    table = markdown_table(rows, details)
    print(table)
    (out / "asr_results.md").write_text(table, encoding="utf-8")
    (out / "asr_results.json").write_text(
        json.dumps({"rows": [r.__dict__ for r in rows], **details}, indent=1), encoding="utf-8"
    )
    write_chart(rows, out / "asr_latency_wer.png")
    log(f"wrote {out / 'asr_results.md'} and {out / 'asr_latency_wer.png'}")
    return 0


# --- bench stream ------------------------------------------------------------------------------
def configure_stream(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--corpus", type=Path, default=None,
                        help="folder of *.wav clips with *.txt references (default ../shared/corpus/clips)")
    parser.add_argument("--modes", default="balanced,speed", help="comma-separated modes (default %(default)s)")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N clips (and N/4 dictations): the run takes as long as its audio")
    parser.add_argument("--dictations", type=int, default=5,
                        help="long dictations (20-60 s, clips joined with pauses) per mode (default %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for stream_results.md/.json and stream_latency.png (default: docs/ of the checkout)")
    return parser


def add_stream_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``stream`` to the ``voiceflow bench`` subcommands."""
    from voiceflow.bench import stream

    parser = subparsers.add_parser(
        "stream", help="streaming transcription at real-time pace vs one-shot and plain",
        description=stream.__doc__.split("\n\n")[0],
    )
    configure_stream(parser)
    parser.set_defaults(func=run_stream)
    return parser


def run_stream(args: argparse.Namespace) -> int:
    from voiceflow.bench import stream
    from voiceflow.config import MODES

    corpus = args.corpus or default_corpus()
    if not corpus.is_dir():
        print(f"voiceflow bench stream: corpus folder {corpus} not found (pass --corpus DIR)", file=sys.stderr)
        return 2
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        print(f"voiceflow bench stream: unknown mode(s) {unknown}; choose from {tuple(MODES)}", file=sys.stderr)
        return 2
    if (args.limit is not None and args.limit < 1) or args.dictations < 0:
        print("voiceflow bench stream: --limit must be at least 1 and --dictations at least 0", file=sys.stderr)
        return 2
    out = args.out or Path(stream.__file__).resolve().parents[3] / "docs"
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    runs = stream.run_benchmark(corpus, modes, limit=args.limit, long_count=args.dictations, log=log)
    if not runs:
        print(f"voiceflow bench stream: no clips with references in {corpus}", file=sys.stderr)
        return 2
    print(stream.write_results(runs, out))
    log(f"wrote {out / 'stream_results.md'} and {out / 'stream_latency.png'}")
    return 0
