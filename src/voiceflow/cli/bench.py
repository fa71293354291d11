"""The ``voiceflow bench`` commands: each parses its options here and runs from ``voiceflow.bench``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from voiceflow.bench import asr
from voiceflow.bench.asr import DEFAULT_CONFIGS, default_corpus, markdown_table, run_benchmark, write_chart
from voiceflow.bench.long import LONG_CONFIGS

__all__ = ["add_asr_parser", "add_stream_parser", "configure_asr", "configure_stream", "run_asr", "run_stream"]


# --- bench asr ---------------------------------------------------------------------------------
def configure_asr(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--corpus", type=Path, default=None, metavar="DIR",
                        help="folder of *.wav clips with *.txt references "
                             "(default: $VOICEFLOW_CORPUS/clips or ../shared/corpus/clips)")
    parser.add_argument("--configs", default=None, metavar="LIST",
                        help=f"comma-separated configurations (default: {','.join(DEFAULT_CONFIGS)}; "
                             f"with --long: {','.join(LONG_CONFIGS)})")
    parser.add_argument("--cold-runs", type=int, default=3, metavar="N",
                        help="cold starts per configuration, their median reported (default: 3)")
    parser.add_argument("--repeats", type=int, default=3, metavar="N",
                        help="timed calls per clip and configuration; the clip's time is their median (default: 3)")
    parser.add_argument("--long", action="store_true",
                        help="long files: the corpus joined in several orders with pauses and quiet clips, "
                             "against faster-whisper's long-form and batched pipeline (voiceflow.bench.long)")
    parser.add_argument("--orders", type=int, default=3, metavar="N",
                        help="with --long: how many joined files (default: 3)")
    parser.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                        help="folder for asr_results.md, asr_results.json and asr_latency_wer.png "
                             "(default: the current directory)")
    return parser


def add_asr_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``asr`` to the ``voiceflow bench`` subcommands."""
    parser = subparsers.add_parser(
        "asr", help="latency / WER benchmark on a speech corpus",
        description=asr_description(),
    )
    configure_asr(parser)
    parser.set_defaults(func=run_asr)
    return parser


def asr_description() -> str:
    """The benchmark module's first paragraph as plain text (no reStructuredText markup)."""
    return asr.__doc__.split("\n\n")[0].replace("``", "").replace("\n", " ")


def run_asr(args: argparse.Namespace) -> int:
    prog = "voiceflow bench asr"

    def fail(message: str) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2

    missing = asr.missing_extras()  # before anything is timed
    if missing:
        return fail(f"needs {', '.join(missing)}: pip install 'voiceflow[bench]'")
    corpus = args.corpus or default_corpus()
    if not corpus.is_dir():
        return fail(f"corpus folder {corpus} not found (pass --corpus DIR)")
    known = LONG_CONFIGS if args.long else DEFAULT_CONFIGS
    configs = [c.strip() for c in (args.configs or ",".join(known)).split(",") if c.strip()]
    unknown = [c for c in configs if c not in known]
    if unknown or not configs:
        return fail(f"unknown configuration(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(known)}")
    if args.repeats < 1:
        return fail(f"--repeats must be at least 1, not {args.repeats}")
    if args.cold_runs < 1:
        return fail(f"--cold-runs must be at least 1, not {args.cold_runs}")
    if not asr.find_clips(corpus):
        return fail(f"no *.wav clips with a .txt reference beside them in {corpus}")
    out = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return fail(f"cannot create --out {out}: {error}")
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    if args.long:
        return _run_long(corpus, configs, args.orders, out, log)
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


def _run_long(corpus: Path, configs: list[str], orders: int, out: Path, log) -> int:
    from voiceflow.bench import long

    if orders < 1:
        print(f"voiceflow bench asr: error: --orders must be at least 1, not {orders}", file=sys.stderr)
        return 2
    rows, details = long.run_long_benchmark(corpus, configs, orders=orders, log=log)
    table = long.markdown_table(rows, details)
    print(table)
    (out / "asr_long_results.md").write_text(table, encoding="utf-8")
    (out / "asr_long_results.json").write_text(
        json.dumps({"rows": [r.__dict__ for r in rows], **details}, indent=1), encoding="utf-8"
    )
    log(f"wrote {out / 'asr_long_results.md'}")
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
    parser.add_argument("--replay", action="store_true",
                        help="feed each block once the worker is idle instead of at real-time pace: "
                             "the same decode points on any machine (reproducible WER)")
    parser.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                        help="folder for stream_results.md/.json and stream_latency.png (default: the current directory)")
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
    out = args.out
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    runs = stream.run_benchmark(corpus, modes, limit=args.limit, long_count=args.dictations, replay=args.replay, log=log)
    if not runs:
        print(f"voiceflow bench stream: no clips with references in {corpus}", file=sys.stderr)
        return 2
    print(stream.write_results(runs, out))
    log(f"wrote {out / 'stream_results.md'} and {out / 'stream_latency.png'}")
    return 0
