"""The ``voiceflow bench`` commands: each parses its options here and runs from ``voiceflow.bench``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from voiceflow.bench import asr
from voiceflow.bench.asr import DEFAULT_CONFIGS, default_corpus, markdown_table, run_benchmark, write_chart
from voiceflow.bench.long import LONG_CONFIGS

__all__ = ["add_asr_parser", "configure_asr", "run_asr"]


# --- bench asr ---------------------------------------------------------------------------------
def configure_asr(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--corpus", type=Path, default=None,
                        help="folder of *.wav clips with *.txt references (default ../shared/corpus/clips)")
    parser.add_argument("--configs", default=None,
                        help=f"comma-separated configurations (default {','.join(DEFAULT_CONFIGS)}; "
                             f"with --long: {','.join(LONG_CONFIGS)})")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold starts per configuration (median)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed calls per clip and configuration (the clip's time is their median)")
    parser.add_argument("--long", action="store_true",
                        help="long files: the corpus joined in several orders with pauses and quiet clips, "
                             "against faster-whisper's long-form and batched pipeline (voiceflow.bench.long)")
    parser.add_argument("--orders", type=int, default=3, help="with --long: how many joined files (default 3)")
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
    known = LONG_CONFIGS if getattr(args, "long", False) else DEFAULT_CONFIGS
    configs = [c.strip() for c in (args.configs or ",".join(known)).split(",") if c.strip()]
    unknown = [c for c in configs if c not in known]
    if unknown:
        print(f"voiceflow bench asr: unknown configuration(s) {unknown}; choose from {known}",
              file=sys.stderr)
        return 2
    if args.repeats < 1:
        print(f"voiceflow bench asr: --repeats must be at least 1, not {args.repeats}", file=sys.stderr)
        return 2
    out = args.out or Path(asr.__file__).resolve().parents[3] / "docs"
    out.mkdir(parents=True, exist_ok=True)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    if getattr(args, "long", False):
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
        print(f"voiceflow bench asr: --orders must be at least 1, not {orders}", file=sys.stderr)
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
