"""Streaming transcription at real-time pace against one-shot and plain faster-whisper
(``voiceflow bench stream``).

Each clip is fed to a :class:`~voiceflow.asr.stream.TranscriptStream` in 512-sample blocks at
the pace of the clock (the benchmark takes as long as the audio), the key is "released" at the
end of the clip, and then, on the same audio and in the same process, one-shot
``Transcriber.transcribe`` (same mode) and plain faster-whisper (``WhisperModel(tiny.en, "cpu",
"int8").transcribe(audio, beam_size=5)``, segments consumed) are timed -- interleaved clip by
clip, so load from other processes hits all three alike.  Reported per set and mode:

* release-to-text: the time inside ``finish()`` (streaming), inside ``transcribe()`` (one-shot),
  plain's processing time; medians and the ratios to plain's median, and the stream's longest
  wait (a median of a few milliseconds says nothing of the utterance a user waits seconds for);
* WER of each (``whisper-normalizer``'s English normaliser, then ``jiwer``, corpus level);
* onset-to-first-committed-word: wall time from feeding the first speech frame (the energy
  VAD's first loud frame of the clip) to the first ``on_update`` with committed text (median);
* CPU seconds the process used while the clip was fed, per second of audio;
* input blocks dropped (samples overwritten in the stream's ring, counted in 512-sample blocks,
  plus blocks ``feed`` rejected).

``--replay`` feeds each block only once the worker has taken the last one and is idle (the
decode points are then the same on any machine, so the WER is reproducible to the word; the
first word is then measured in audio time); the real-time run is what a user gets.

Sets: the corpus clips (``<= 12 s`` ones in the latency medians) and long dictations built from
them: clips joined with 0.5-1 s pauses into 20-60 s utterances (seeded, reproducible).
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from voiceflow.bench.asr import SHORT_S, corpus_wer, find_clips

BLOCK = 512
RATE = 16000
MODES = ("balanced", "speed")


@dataclass
class Run:
    """One clip in one mode."""

    set: str
    mode: str
    clip: str
    seconds: float
    reference: str
    stream_text: str
    oneshot_text: str
    plain_text: str
    stream_s: float
    oneshot_s: float
    plain_s: float
    first_word_s: float | None
    cpu_s: float
    dropped_blocks: int
    decodes: int


def long_dictations(clips: list[tuple[str, np.ndarray, str]], count: int, seed: int = 11
                    ) -> list[tuple[str, np.ndarray, str]]:
    """``count`` utterances of 20-60 s: clips in a seeded random order joined with 0.5-1 s of
    silence (the first clip's own room noise would be better; digital zero is what a gate
    would pass).  Returns ``(name, audio, reference)``."""
    rng = random.Random(seed)
    out = []
    pool = list(range(len(clips)))
    for k in range(count):
        target = rng.uniform(20.0, 60.0)
        rng.shuffle(pool)
        parts, refs, total = [], [], 0.0
        for i in pool:
            name, audio, ref = clips[i]
            if total + len(audio) / RATE > 60.0:
                continue
            if parts:
                pause = np.zeros(int(rng.uniform(0.5, 1.0) * RATE), np.float32)
                parts.append(pause)
                total += len(pause) / RATE
            parts.append(audio)
            refs.append(ref)
            total += len(audio) / RATE
            if total >= target:
                break
        if total >= 20.0:
            out.append((f"dictation{k + 1}", np.concatenate(parts), " ".join(refs)))
    return out


def speech_onset_s(audio: np.ndarray) -> float:
    """Seconds to the first frame the energy VAD calls speech (0.0 when none), in the clip
    lifted to speech level as one-shot ``transcribe()`` hears it (a quiet clip's onset is not
    its first loud syllable)."""
    from voiceflow.asr.chunking import HOP, EnergyVad, at_speech_level

    loud = np.flatnonzero(EnergyVad().speech_frames(at_speech_level(audio)))
    return float(loud[0] * HOP / RATE) if loud.size else 0.0


def feed_caught_up(stream, audio: np.ndarray, block: int = BLOCK) -> None:
    """Feed ``audio`` and, after each block, wait until the worker has taken it and is idle: a
    worker that always keeps up, so the decode points are the same on any machine."""
    for i in range(0, len(audio), block):
        stream.feed(audio[i:i + block])
        while not stream._idle():
            time.sleep(0.0005)


def stream_once(transcriber, audio: np.ndarray, replay: bool = False
                ) -> tuple[str, float, float | None, float, int, int]:
    """Feed ``audio`` in 512-sample blocks at real-time pace (``replay``: each block once the
    worker is idle, :func:`feed_caught_up`), then finish.  Returns ``(text, seconds inside
    finish, onset-to-first-committed-word or None, CPU seconds while feeding, dropped blocks,
    worker decodes)``; the first word is wall time at real-time pace, audio time in a replay."""
    first: list[float] = []

    def on_update(update) -> None:
        if update.text and not first:
            first.append(update.seconds if replay else time.perf_counter())

    onset = speech_onset_s(audio)
    stream = transcriber.stream(on_update=on_update)
    cpu0 = time.process_time()
    if replay:
        feed_caught_up(stream, audio)
        onset_at: float | None = onset  # audio time, as the updates' seconds
    else:
        t0 = time.perf_counter()
        onset_at = None
        for i in range(0, len(audio), BLOCK):
            stream.feed(audio[i:i + BLOCK])
            fed = (i + BLOCK) / RATE
            if onset_at is None and fed >= onset:
                onset_at = time.perf_counter()
            wait = t0 + fed - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
    cpu = time.process_time() - cpu0
    released = time.perf_counter()
    transcript = stream.finish()
    finish_s = time.perf_counter() - released
    first_word = first[0] - onset_at if first and onset_at is not None else None
    dropped = math.ceil(stream.lost_samples / BLOCK) + stream.rejected_blocks
    return transcript.text, finish_s, first_word, cpu, dropped, stream.decodes


def run_benchmark(corpus: Path, modes: Sequence[str] = MODES, *, limit: int | None = None, long_count: int = 5,
                  replay: bool = False, log: Callable[[str], None] = lambda m: None) -> list[Run]:
    from faster_whisper import WhisperModel

    from voiceflow.asr.models import resolve_model
    from voiceflow.asr.transcriber import Transcriber
    from voiceflow.audio.file import read_audio

    clips = [(name, read_audio(str(path)), ref) for name, path, ref in find_clips(corpus)]
    dictations = long_dictations(clips, long_count)
    if limit is not None:
        clips, dictations = clips[:limit], dictations[: max(1, limit // 4)]
    plain_model = WhisperModel(resolve_model("tiny.en"), device="cpu", compute_type="int8")

    def plain(audio: np.ndarray) -> tuple[str, float]:
        started = time.perf_counter()
        segments, _ = plain_model.transcribe(audio, beam_size=5)
        text = "".join(s.text for s in segments).strip()
        return text, time.perf_counter() - started

    plain(clips[0][1])  # warm
    runs: list[Run] = []
    for mode in modes:
        with Transcriber(mode=mode) as transcriber:
            for set_name, items in (("clips", clips), ("dictations", dictations)):
                for name, audio, ref in items:
                    text, finish_s, first_word, cpu, dropped, decodes = stream_once(transcriber, audio, replay)
                    time.sleep(0.2)
                    started = time.perf_counter()
                    oneshot = transcriber.transcribe(audio).text
                    oneshot_s = time.perf_counter() - started
                    time.sleep(0.2)
                    plain_text, plain_s = plain(audio)
                    run = Run(set_name, mode, name, len(audio) / RATE, ref, text, oneshot, plain_text,
                              finish_s, oneshot_s, plain_s, first_word, cpu, dropped, decodes)
                    runs.append(run)
                    log(f"{mode:8s} {name:32s} {run.seconds:5.1f}s stream {finish_s * 1000:5.0f} ms  one-shot "
                        f"{oneshot_s * 1000:5.0f} ms  plain {plain_s * 1000:5.0f} ms  first word "
                        f"{'-' if first_word is None else f'{first_word:.2f} s'}  dropped {dropped}")
    return runs


def summary(runs: Sequence[Run]) -> list[dict]:
    """One row per (set, mode): medians, ratios to plain, the stream's longest wait, WERs, first
    word, CPU, drops."""
    rows = []
    for set_name in ("clips", "dictations"):
        for mode in dict.fromkeys(r.mode for r in runs):
            group = [r for r in runs if r.set == set_name and r.mode == mode]
            if not group:
                continue
            timed = [r for r in group if set_name == "dictations" or r.seconds <= SHORT_S]
            med = {k: statistics.median(getattr(r, k) for r in timed) for k in ("stream_s", "oneshot_s", "plain_s")}
            firsts = [r.first_word_s for r in group if r.first_word_s is not None]
            refs = [r.reference for r in group]
            rows.append({
                "set": set_name, "mode": mode, "n": len(group), "timed": len(timed),
                "audio_s": sum(r.seconds for r in group),
                "stream_ms": med["stream_s"] * 1000, "oneshot_ms": med["oneshot_s"] * 1000,
                "plain_ms": med["plain_s"] * 1000,
                "stream_max_ms": max(r.stream_s for r in timed) * 1000,
                "stream_x_plain": statistics.median(r.stream_s / r.plain_s for r in timed),
                "stream_med_x_plain_med": med["stream_s"] / med["plain_s"],
                "oneshot_med_x_plain_med": med["oneshot_s"] / med["plain_s"],
                "wer_stream": corpus_wer(refs, [r.stream_text for r in group]),
                "wer_oneshot": corpus_wer(refs, [r.oneshot_text for r in group]),
                "wer_plain": corpus_wer(refs, [r.plain_text for r in group]),
                "first_word_s": statistics.median(firsts) if firsts else float("nan"),
                "no_first_word": len(group) - len(firsts),
                "cpu_per_audio_s": sum(r.cpu_s for r in group) / sum(r.seconds for r in group),
                "dropped_blocks": sum(r.dropped_blocks for r in group),
            })
    return rows


def markdown_table(rows: Sequence[dict]) -> str:
    lines = [
        "| set | mode | clips (timed) | release-to-text stream (ms) | stream, longest (ms) | one-shot (ms) | plain (ms) "
        "| stream ÷ plain (medians) | one-shot ÷ plain | WER stream % | one-shot % | plain % "
        "| first word after onset (s, median) | CPU s per audio s | blocks dropped |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['set']} | {r['mode']} | {r['n']} ({r['timed']}) | {r['stream_ms']:.0f} | {r['stream_max_ms']:.0f} "
            f"| {r['oneshot_ms']:.0f} "
            f"| {r['plain_ms']:.0f} | {r['stream_med_x_plain_med']:.3f} | {r['oneshot_med_x_plain_med']:.3f} "
            f"| {r['wer_stream'] * 100:.2f} | {r['wer_oneshot'] * 100:.2f} | {r['wer_plain'] * 100:.2f} "
            f"| {r['first_word_s']:.2f} | {r['cpu_per_audio_s']:.2f} | {r['dropped_blocks']} |"
        )
    return "\n".join(lines) + "\n"


def write_chart(runs: Sequence[Run], path: Path) -> None:
    """Release-to-text per clip against its length: streaming, one-shot and plain."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(dict.fromkeys(r.mode for r in runs))
    fig, axes = plt.subplots(1, len(modes), figsize=(6 * len(modes), 4.2), sharey=True, squeeze=False)
    for ax, mode in zip(axes[0], modes):
        group = [r for r in runs if r.mode == mode]
        x = [r.seconds for r in group]
        for key, label, marker in (("plain_s", "plain faster-whisper", "s"), ("oneshot_s", "one-shot transcribe()", "^"),
                                   ("stream_s", "streaming finish()", "o")):
            ax.scatter(x, [getattr(r, key) * 1000 for r in group], label=label, marker=marker, s=18)
        ax.set_title(f"{mode}: wait after release")
        ax.set_xlabel("utterance length (s)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("release to text (ms, log)")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    from voiceflow.cli.bench import configure_stream, run_stream

    parser = configure_stream(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "docs").is_dir():
        parser.set_defaults(out=checkout / "docs")  # the script in a checkout refreshes docs/
    return run_stream(parser.parse_args(argv))


def write_results(runs: Sequence[Run], out: Path) -> str:
    rows = summary(runs)
    table = markdown_table(rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stream_results.md").write_text(table, encoding="utf-8")
    (out / "stream_results.json").write_text(
        json.dumps({"rows": rows, "runs": [asdict(r) for r in runs]}, indent=1), encoding="utf-8")
    write_chart(runs, out / "stream_latency.png")
    return table


if __name__ == "__main__":
    sys.exit(main())
