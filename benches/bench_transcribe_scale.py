"""Batch transcription at scale: files per minute for ``voiceflow transcribe`` with 1 and 2 local
workers and on a 2-worker Dask cluster, with the outputs compared byte for byte.

    python benches/bench_transcribe_scale.py [--corpus DIR] [--rounds N] [--format txt]

Each configuration runs the real command line (a fresh ``python -m voiceflow transcribe`` process
on every clip of the corpus, ``--format`` output to stdout) and is timed from process start to
exit, model loading included:

* ``--workers 1``: the in-process pipeline (the default);
* ``--workers 2``: two local worker processes, one CPU thread each;
* ``--scheduler``: a ``dask.distributed.LocalCluster(processes=True, n_workers=2,
  threads_per_worker=1)`` started before timing (as a real cluster would be already running).
  Its first run registers the worker plugin and loads one model per worker ("cold"); later runs
  find the models loaded ("warm"), as on a long-lived cluster.

Rounds rotate the order of the configurations so that load from other processes on a shared
machine hits all of them alike; each configuration's figure is its median over the rounds
(the cluster's cold figure is its one first run). Every output must equal the ``--workers 1``
output byte for byte; the script exits 1 if any differs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def default_corpus() -> Path:
    from voiceflow.bench.asr import default_corpus as corpus

    return corpus()


def run_transcribe(files: list[str], fmt: str, *extra: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "voiceflow", "transcribe", "--format", fmt, *extra, *files],
        capture_output=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"transcribe {' '.join(extra)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return seconds, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    parser.add_argument("--corpus", type=Path, default=None, help="folder of *.wav clips (default: the shared corpus)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per configuration")
    parser.add_argument("--format", default="txt", choices=("txt", "json", "srt", "vtt"),
                        help="output format compared byte for byte (json includes timings: never equal)")
    args = parser.parse_args(argv)
    corpus = args.corpus or default_corpus()
    files = sorted(str(path) for path in corpus.glob("*.wav"))
    if not files:
        print(f"bench_transcribe_scale: no *.wav clips in {corpus}", file=sys.stderr)
        return 2
    from distributed import LocalCluster

    audio_s = 0.0
    for path in files:
        with wave.open(path) as wav:
            audio_s += wav.getnframes() / wav.getframerate()
    print(f"{len(files)} clips, {audio_s:.0f} s of audio ({corpus}); {args.rounds} rounds, order rotated", file=sys.stderr)

    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        configs = {
            "--workers 1": ("--workers", "1"),
            "--workers 2": ("--workers", "2"),
            "--scheduler (2-worker LocalCluster)": ("--scheduler", cluster.scheduler_address),
        }
        names = list(configs)
        seconds: dict[str, list[float]] = {name: [] for name in names}
        outputs: dict[str, list[bytes]] = {name: [] for name in names}
        cluster_cold = None
        for round_ in range(args.rounds):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in order:
                elapsed, out = run_transcribe(files, args.format, *configs[name])
                if name.startswith("--scheduler") and cluster_cold is None:
                    cluster_cold = elapsed
                else:
                    seconds[name].append(elapsed)
                outputs[name].append(out)
                print(f"  round {round_ + 1}: {name}: {elapsed:.1f} s", file=sys.stderr)

    reference = outputs["--workers 1"][0]
    identical = all(out == reference for runs in outputs.values() for out in runs)
    base = statistics.median(seconds["--workers 1"])
    rows = []
    for name in names:
        if not seconds[name]:
            continue
        median = statistics.median(seconds[name])
        label = f"{name}, warm" if name.startswith("--scheduler") else name
        rows.append((label, median, len(seconds[name])))
    if cluster_cold is not None:
        rows.append(("--scheduler (2-worker LocalCluster), cold", cluster_cold, 1))
    print(f"\n{len(files)} clips, {audio_s:.0f} s of audio; wall time from process start to exit, "
          f"model loading included; median of the runs; ratios against `--workers 1` of the same run.\n")
    print("| configuration | runs | seconds | files per minute | x `--workers 1` |")
    print("|---|---:|---:|---:|---:|")
    for label, value, runs in rows:
        print(f"| {label} | {runs} | {value:.1f} | {60 * len(files) / value:.1f} | {base / value:.2f} |")
    print(f"\n{args.format} output byte-identical to `--workers 1` in every run: {'yes' if identical else 'NO'}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
