"""Long files: voiceflow's modes against faster-whisper's long-form decoders (``voiceflow bench asr --long``).

The corpus clips are joined into long recordings, the way a meeting or a dictated memo is long:
``--orders`` files, each holding every clip once (the first in ``ls`` order, the others
shuffled with a fixed seed), with a pause of 0.3-1.5 s of digital silence between clips
(uniform, seeded) and one clip in five (seeded) 20 dB quieter than it was recorded.  For each
configuration -- ``plain`` (``WhisperModel.transcribe(audio, beam_size=5)``: faster-whisper's
sequential 30 s long-form, conditioned on the previous text), ``plain-batched``
(``BatchedInferencePipeline(model).transcribe(audio, beam_size=5)``: Silero VAD segments decoded
in batches of 8) and each mode -- in one run:

* WER over all files (``whisper-normalizer`` + ``jiwer``, corpus level: each file's text against
  its clips' references joined in order);
* per-clip recall: the fraction of each source clip's reference words found in the file's text
  (difflib alignment of the normalised words of the whole file), its minimum, and the clips
  whose recall is more than 20 points below ``plain``'s on the same file;
* realtime factor: audio seconds / processing seconds over all files;
* peak RSS of the worker process that ran the configuration.

Each configuration runs in its own worker process, with all audio built before any timing; the
workers are driven file by file, one configuration at a time, rotating the order, so load from
other processes hits them alike.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Sequence

import numpy as np

from voiceflow.bench.asr import MODES, SETTLE_S, corpus_wer, find_clips, load_engine, normalise, serve, stop_workers

PLAIN = "plain"
PLAIN_BATCHED = "plain-batched"
LONG_CONFIGS = (PLAIN, PLAIN_BATCHED, *MODES)
RATE = 16000
PAUSE_S = (0.3, 1.5)
QUIET_DB = 20.0
QUIET_EVERY = 5
RECALL_GAP = 0.20
"""A clip counts as lost by a configuration when its recall is this far below ``plain``'s."""


@dataclass
class LongFile:
    """One joined recording: ``audio`` (16 kHz float32) and, per source clip in order,
    ``(name, start_s, end_s, reference, quiet)``."""

    name: str
    audio: np.ndarray
    pieces: list[tuple[str, float, float, str, bool]] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return " ".join(ref for _, _, _, ref, _ in self.pieces)


def build_long_files(corpus: Path, orders: int = 3, seed: int = 0) -> list[LongFile]:
    """The joined recordings described in the module docstring (deterministic for ``seed``)."""
    from voiceflow.audio.file import read_audio

    clips = find_clips(corpus)
    if not clips:
        raise FileNotFoundError(f"no *.wav clips with .txt references in {corpus}")
    audio = {name: read_audio(path) for name, path, _ in clips}
    files = []
    for k in range(orders):
        rng = np.random.default_rng(seed + k)
        order = list(range(len(clips))) if k == 0 else list(rng.permutation(len(clips)))
        quiet = set(rng.choice(len(clips), size=max(1, len(clips) // QUIET_EVERY), replace=False).tolist())
        parts: list[np.ndarray] = []
        pieces = []
        t = 0.0
        for j, i in enumerate(order):
            name, _, reference = clips[i]
            clip = audio[name] * (10 ** (-QUIET_DB / 20) if i in quiet else 1.0)
            if j:
                pause = np.zeros(int(rng.uniform(*PAUSE_S) * RATE), np.float32)
                parts.append(pause)
                t += len(pause) / RATE
            parts.append(clip.astype(np.float32))
            pieces.append((name, t, t + len(clip) / RATE, reference, i in quiet))
            t += len(clip) / RATE
        files.append(LongFile(f"order{k}", np.concatenate(parts), pieces))
    return files


def clip_recall(file: LongFile, text: str) -> list[float]:
    """Per source clip of ``file``: the fraction of its normalised reference words that the
    normalised ``text`` holds, found by one difflib alignment of the whole file."""
    owner: list[int] = []
    ref_words: list[str] = []
    for index, (_, _, _, reference, _) in enumerate(file.pieces):
        words = normalise(reference).split()
        ref_words.extend(words)
        owner.extend([index] * len(words))
    matched = np.zeros(len(ref_words), bool)
    matcher = SequenceMatcher(None, ref_words, normalise(text).split(), autojunk=False)
    for block in matcher.get_matching_blocks():
        matched[block.a : block.a + block.size] = True
    totals = np.bincount(owner, minlength=len(file.pieces))
    hits = np.bincount(owner, weights=matched, minlength=len(file.pieces))
    return [float(h / n) if n else 1.0 for h, n in zip(hits, totals)]


# --- the worker process -----------------------------------------------------------------------
def _worker(config: str, folder: Path) -> int:
    """Serve the long files (``<index>.npy`` in ``folder``) to the driver (:func:`serve`); every
    configuration gets one untimed call on the first 20 s."""
    paths = sorted(folder.glob("*.npy"), key=lambda p: int(p.stem))
    audio = [np.load(p) for p in paths]
    return serve(load_engine(config), audio, warm=audio[0][: 20 * RATE])


# --- the driver -------------------------------------------------------------------------------
@dataclass
class LongRow:
    config: str
    rtf: float
    wer: float
    min_recall: float
    lost_clips: list[str]
    """``file:clip`` whose recall is more than ``RECALL_GAP`` below ``plain``'s."""
    peak_rss_mib: float


def run_long_benchmark(corpus: Path, configs: Sequence[str] = LONG_CONFIGS, orders: int = 3, seed: int = 0,
                       log=print) -> tuple[list[LongRow], dict]:
    """Build the long files, time every configuration on each, and score them."""
    files = build_long_files(corpus, orders, seed)
    log(f"{len(files)} long files, {sum(len(f.audio) for f in files) / RATE:.0f} s of audio in all")
    with tempfile.TemporaryDirectory(prefix="voiceflow-long-") as tmp:
        for i, f in enumerate(files):
            np.save(Path(tmp) / f"{i}.npy", f.audio)
        workers = {
            config: subprocess.Popen(
                [sys.executable, "-m", "voiceflow.bench.long", "--worker", config, tmp],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            )
            for config in configs
        }
        for config, proc in workers.items():
            if not proc.stdout.readline():
                raise RuntimeError(f"worker for {config!r} failed to start")
        texts = {c: [""] * len(files) for c in configs}
        seconds = {c: [0.0] * len(files) for c in configs}
        for i, f in enumerate(files):
            shift = i % len(configs)
            for config in list(configs[shift:]) + list(configs[:shift]):
                proc = workers[config]
                proc.stdin.write(f"{i}\n")
                proc.stdin.flush()
                reply = json.loads(proc.stdout.readline())
                texts[config][i], seconds[config][i] = reply["text"], reply["seconds"]
                log(f"  {f.name} {config}: {reply['seconds']:.1f} s")
                time.sleep(SETTLE_S)
        peak = stop_workers(workers)
    audio_s = sum(len(f.audio) for f in files) / RATE
    recalls = {c: [clip_recall(f, texts[c][i]) for i, f in enumerate(files)] for c in configs}
    rows = []
    for config in configs:
        lost = []
        if PLAIN in recalls:
            for i, f in enumerate(files):
                for (name, *_), mine, theirs in zip(f.pieces, recalls[config][i], recalls[PLAIN][i]):
                    if mine < theirs - RECALL_GAP:
                        lost.append(f"{f.name}:{name}")
        rows.append(LongRow(
            config=config,
            rtf=audio_s / sum(seconds[config]),
            wer=corpus_wer([f.reference for f in files], texts[config]),
            min_recall=min(min(r) for r in recalls[config]),
            lost_clips=lost,
            peak_rss_mib=peak[config],
        ))
    details = {
        "files": [{"name": f.name, "seconds": len(f.audio) / RATE,
                   "pieces": [{"clip": n, "start": a, "end": b, "quiet": q} for n, a, b, _, q in f.pieces]}
                  for f in files],
        "texts": texts,
        "seconds": seconds,
        "recalls": recalls,
        "audio_s": audio_s,
        "orders": orders,
        "seed": seed,
    }
    return rows, details


def markdown_table(rows: Sequence[LongRow], details: dict) -> str:
    base = next((r for r in rows if r.config == PLAIN), rows[0])
    lines = [
        f"{details['orders']} long files ({details['audio_s']:.0f} s of audio in all; seed {details['seed']}): "
        f"every clip once per file, {PAUSE_S[0]}-{PAUSE_S[1]} s pauses, one clip in {QUIET_EVERY} "
        f"{QUIET_DB:.0f} dB quieter. Ratios against `{base.config}` in the same run.",
        "",
        "| configuration | realtime factor | x plain | WER % | x plain | min clip recall | "
        f"clips > {RECALL_GAP * 100:.0f} pts below plain | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.config} | {r.rtf:.1f} | {r.rtf / base.rtf:.2f} | {r.wer * 100:.2f} | "
            f"{(r.wer / base.wer if base.wer else float('nan')):.2f} | {r.min_recall:.2f} | "
            f"{len(r.lost_clips)}{' (' + ', '.join(r.lost_clips) + ')' if r.lost_clips else ''} | "
            f"{r.peak_rss_mib:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python benches/bench_long.py [--corpus DIR] [--orders N] [--configs ...] [--out DIR]``."""
    import argparse

    from voiceflow.cli.bench import configure_asr, run_asr

    parser = configure_asr(argparse.ArgumentParser(prog="bench_long", description=__doc__.split("\n\n")[0]))
    args = parser.parse_args(["--long", *(sys.argv[1:] if argv is None else argv)])
    return run_asr(args)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        sys.exit(_worker(sys.argv[2], Path(sys.argv[3])))
    sys.exit(main())
