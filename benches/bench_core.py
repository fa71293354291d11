"""Benchmark: the drop-in guard and ring buffer against the old app's code, in the same run.

    python benches/bench_core.py [--output FILE] [--rounds N]

Prints a markdown table of median per-call times and ratios (``speed-up`` = baseline time /
voiceflow time; above 1 means voiceflow is faster).  Baselines, measured in the same process:
the old guard's default path, its sampled fast path (``benches/_old_voiceflow.py``), ``np.copyto``
of the same array (memory-bandwidth yardstick) and the old ``BoundedRingBuffer.append``.  Also:
two threads sanitizing vs one thread doing the same work (GIL release; with two GIL-free
controls measured in the same rounds, since a shared VM does not always give a second core),
and ``sanitize`` on every available backend (numba after warm-up).  Timings are never pass/fail; the ``met`` column
says whether each issue target holds on this run.

Method: every contender is a ``timeit`` statement (no wrapper call in the timed loop); contenders
of one case run in interleaved batches (round-robin, each batch >= ~2 ms).  Times are medians
over batches; each speed-up is the median over rounds of the ratio measured within one round,
so load from other processes hits both sides alike.  The int16 stereo block is quiet (|x| <= 10 counts) because the old default path rejects
louder integer PCM: its amplitude check runs on unscaled integers.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import platform
import statistics
import sys
import threading
import time
import timeit
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _old_voiceflow as old  # noqa: E402

import voiceflow_core  # noqa: E402
from voiceflow.audio.guard import audio_validation_guard  # noqa: E402
from voiceflow.audio.ring import BoundedRingBuffer  # noqa: E402

BLOCK = 512
LONG = 480_000
BATCH_NS = 2_000_000


def calibrate(timer: timeit.Timer) -> int:
    """Calls per batch so one batch takes at least BATCH_NS."""
    number = 1
    while True:
        start = time.perf_counter_ns()
        timer.timeit(number)
        if time.perf_counter_ns() - start >= BATCH_NS or number >= 1 << 20:
            return number
        number *= 2


class Race(dict):
    """Median seconds per call of each contender, plus paired per-round ratios."""

    def __init__(self, per_call: dict[str, list[float]]) -> None:
        super().__init__({name: statistics.median(values) for name, values in per_call.items()})
        self.per_call = per_call

    def speedup(self, baseline: str, ours: str) -> float:
        """Median over rounds of baseline/ours measured in the same round (robust to load drift)."""
        return statistics.median(b / o for b, o in zip(self.per_call[baseline], self.per_call[ours]))


def race(contenders: dict[str, str], namespace: dict, rounds: int) -> Race:
    """Time each statement in batches interleaved round-robin (see the module docstring)."""
    timers = {name: timeit.Timer(stmt, globals=namespace) for name, stmt in contenders.items()}
    for timer in timers.values():  # warm up (caches, lazy imports, first allocation)
        timer.timeit(3)
    numbers = {name: calibrate(timer) for name, timer in timers.items()}
    per_call: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            start = time.perf_counter_ns()
            timer.timeit(numbers[name])
            per_call[name].append((time.perf_counter_ns() - start) / numbers[name] / 1e9)
    return Race(per_call)


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.3f} ms"


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, case, ours, t_ours, baseline, t_base, ratio, target=None) -> None:
        met = "" if target is None else ("yes" if ratio >= target else "**no**")
        self.rows.append(
            (case, ours, fmt_time(t_ours), baseline, fmt_time(t_base), f"{ratio:.2f}×",
             "" if target is None else f"≥ {target:g}×", met)
        )  # fmt: skip

    def markdown(self) -> str:
        head = ("case", "voiceflow", "time", "baseline", "baseline time", "speed-up", "target", "met")
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


NOTES: list[str] = []


def usable_backends() -> list[str]:
    """Backends that load here (a broken one is noted under the table instead of failing the run)."""
    found = []
    for name in voiceflow_core.available_backends():
        try:
            voiceflow_core.use_backend(name)  # numba compiles and warms here, before any timing
        except Exception as exc:  # noqa: BLE001
            NOTES.append(f"backend `{name}` skipped: {type(exc).__name__}: {exc}")
        else:
            found.append(name)
    return found


def guard_cases(table: Table, rounds: int) -> None:
    rng = np.random.default_rng(0)
    cases = [
        ("512-frame float32 mono", (rng.standard_normal(BLOCK) * 0.1).astype(np.float32), (15, 10)),
        ("512-frame int16 stereo", rng.integers(-10, 11, (BLOCK, 2)).astype(np.int16), (15, 10)),
        ("480 000-sample float32", (rng.standard_normal(LONG) * 0.1).astype(np.float32), (4, 1)),
    ]
    for label, data, (vs_default, vs_sampled) in cases:
        ns = {
            "guard": audio_validation_guard,
            "old_guard": old.audio_validation_guard,
            "fast_cfg": old.FastConfig(),
            "x": data,
            "copy_dst": np.empty_like(data),
            "out": np.empty(data.shape[0], np.float32),
            "np": np,
            "core": voiceflow_core,
        }
        times = race(
            {
                "guard": "guard(x, 'AudioCallback', True)",
                "guard_out": "guard(x, 'AudioCallback', True, out=out)",
                "old_default": "old_guard(x, 'AudioCallback', True)",
                "old_sampled": "old_guard(x, 'AudioCallback', True, fast_cfg)",
                "copyto": "np.copyto(copy_dst, x)",
                "kernel": "core.scan(x, 100.0)" if data.ndim == 1 else "core.sanitize(x, 100.0)",
            },
            ns,
            rounds,
        )
        ours = "audio_validation_guard"
        table.add(label, ours, times["guard"], "old default path", times["old_default"],
                  times.speedup("old_default", "guard"), vs_default)  # fmt: skip
        table.add(label, ours, times["guard"], "old sampled path (1 in 20)", times["old_sampled"],
                  times.speedup("old_sampled", "guard"), vs_sampled)  # fmt: skip
        target = 0.5 if data.size == LONG else None
        table.add(label, ours, times["guard"], "np.copyto (throughput ratio)", times["copyto"],
                  times.speedup("copyto", "guard"), target)  # fmt: skip
        table.add(label, ours + "(out=)", times["guard_out"], "np.copyto (throughput ratio)", times["copyto"],
                  times.speedup("copyto", "guard_out"))  # fmt: skip
        kernel = "voiceflow_core." + ("scan" if data.ndim == 1 else "sanitize") + " alone (guard overhead)"
        table.add(label, ours, times["guard"], kernel, times["kernel"], times.speedup("kernel", "guard"))


def ring_case(table: Table, rounds: int) -> None:
    block = (np.random.default_rng(1).standard_normal(BLOCK) * 0.1).astype(np.float32)
    ns = {"new": BoundedRingBuffer(1.5, 16000), "old": old.BoundedRingBuffer(1.5, 16000), "x": block}
    times = race({"new": "new.append(x)", "old": "old.append(x)"}, ns, rounds)
    table.add("append 512 float32 samples", "BoundedRingBuffer.append", times["new"],
              "old BoundedRingBuffer.append", times["old"], times.speedup("old", "new"), 20)  # fmt: skip


ROUND_S = 0.1


def two_threads_vs_one(make_work) -> tuple[float, float]:
    """Seconds for one thread to do ``2 * calls`` calls of ``make_work()`` and for two threads to
    do ``calls`` each, ``calls`` sized so each thread works about ROUND_S.  Each thread gets its
    own ``make_work()`` (its own output buffer), so the threads never write to the same memory.
    Rounds of a few milliseconds would mostly time thread start-up and the hypervisor waking
    the idle second vCPU (about a millisecond here), not the work."""
    work = make_work()
    work()
    start = time.perf_counter()
    work()
    calls = max(2, round(ROUND_S / (time.perf_counter() - start)))
    start = time.perf_counter()
    for _ in range(2 * calls):
        work()
    single = time.perf_counter() - start
    per_thread = [make_work() for _ in range(2)]
    threads = [threading.Thread(target=lambda w=w: [w() for _ in range(calls)]) for w in per_thread]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return single / (2 * calls), (time.perf_counter() - start) / (2 * calls)


def gil_case(table: Table, repeats: int) -> None:
    """Two threads each sanitizing a 30 s ``(480 000, 2)`` array vs one thread doing both
    shares, each thread busy for about ROUND_S per round, for float32 (memory-bound: the
    compiled downmix reads 3.84 MB and writes 1.92 MB per call at the speed of ``np.copyto``)
    and int16 (conversion work on half the bytes).  Interleaved round by round with two
    controls measured under the same load: ``hashlib.sha256`` of 1 MiB (C that releases the GIL
    and touches almost no memory: how much of a second core this machine gives right now) and
    ``np.copyto`` of the float32 array (GIL-free, memory-bound: how far this machine's memory
    lets two threads scale).  Times are per call of the whole job (two threads finishing 2n
    calls in t give t / 2n)."""
    rng = np.random.default_rng(2)
    stereo = rng.standard_normal((LONG, 2)) * 0.1
    inputs = {"float32": stereo.astype(np.float32), "int16": (stereo * 32767).astype(np.int16)}
    blob = rng.integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    contenders = {}
    for backend in [b for b in usable_backends() if b != "numpy"]:
        voiceflow_core.use_backend(backend)
        for dtype, data in inputs.items():

            def make_work(sanitize=voiceflow_core.sanitize, data=data):
                return partial(sanitize, data, 100.0, out=np.empty(LONG, np.float32))

            contenders[f"GIL release: sanitize (480 000, 2) {dtype} ({backend})"] = make_work
    contenders["control: hashlib.sha256 of 1 MiB (GIL-free C, compute-bound)"] = (
        lambda: lambda: hashlib.sha256(blob).digest()
    )
    contenders["control: np.copyto (480 000, 2) float32 (GIL-free, memory-bound)"] = lambda: partial(
        np.copyto, np.empty_like(inputs["float32"]), inputs["float32"]
    )
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, make_work in contenders.items():
            runs[name].append(two_threads_vs_one(make_work))
    ratios = {}
    for name, pairs in runs.items():
        single = statistics.median(s for s, _ in pairs)
        pair = statistics.median(p for _, p in pairs)
        ratio = ratios[name] = statistics.median(s / p for s, p in pairs)
        target = None if name.startswith("control") else 1.7
        table.add(name, "2 threads", pair, "1 thread, same work", single, ratio, target)
    reached = ", ".join(
        f"{ratio:.2f}× ({name.split(') ', 1)[1]})" for name, ratio in ratios.items() if name.startswith("GIL")
    )
    sha, copy = (ratio for name, ratio in ratios.items() if name.startswith("control"))
    NOTES.append(
        f"GIL release: two threads sanitizing reached {reached}; in the same rounds the GIL-free "
        f"sha256 control reached {sha:.2f}× (how much of a second core this machine gave) and "
        f"np.copyto {copy:.2f}× (how far its memory lets two threads scale) "
        f"({os.cpu_count()} vCPUs, shared)."
    )


def backend_cases(table: Table, rounds: int) -> None:
    """``sanitize(out=)`` of every usable backend, interleaved (each backend's function is bound
    once after it was selected and warmed)."""
    rng = np.random.default_rng(3)
    inputs = {
        "512-frame int16 stereo": rng.integers(-20000, 20000, (BLOCK, 2)).astype(np.int16),
        "480 000-sample float32": (rng.standard_normal(LONG) * 0.1).astype(np.float32),
    }
    functions = {}
    for backend in usable_backends():
        voiceflow_core.use_backend(backend)
        functions[backend] = voiceflow_core.sanitize
    reference = "cython" if "cython" in functions else "numpy"
    for label, data in inputs.items():
        ns = {**functions, "x": data, "out": np.empty(data.shape[0], np.float32)}
        times = race({name: f"{name}(x, 100.0, out=out)" for name in functions}, ns, rounds)
        for backend in functions:
            target = 0.5 if (backend == "numba" and reference == "cython") else None
            table.add(f"sanitize(out=) {label}", backend, times[backend], reference, times[reference],
                      times.speedup(reference, backend), target)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="also write the markdown to this file")
    parser.add_argument("--rounds", type=int, default=100, help="interleaved batches per contender")
    args = parser.parse_args(argv)

    start_backend = voiceflow_core.active_backend()
    table = Table()
    guard_cases(table, args.rounds)
    ring_case(table, args.rounds)
    try:
        gil_case(table, repeats=9)
        backend_cases(table, args.rounds)
    finally:
        voiceflow_core.use_backend(start_backend)

    header = (
        f"voiceflow core benchmark — {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"guard/ring backend `{start_backend}`, backends {', '.join(voiceflow_core.available_backends())}; "
        f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, NumPy {np.__version__}; "
        f"median of {args.rounds} interleaved batches. speed-up = baseline time / voiceflow time."
    )
    notes = "".join(f"\n- {note}" for note in dict.fromkeys(NOTES))
    text = header + "\n\n" + table.markdown() + "\n" + (notes + "\n" if notes else "")
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
