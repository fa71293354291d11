"""The compiled and numba kernels release the GIL for large inputs: while one thread is inside a
long kernel call, other Python threads keep running (python-soxr's test, made robust: it counts
the other thread's progress during the middle half of each call instead of timing ratios)."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

import voiceflow_core as vc
from tests.core.test_kernels import backend

SWITCH_INTERVAL = 0.0005  # s; a GIL-holding call could only be interrupted at its edges
GIL_FREE_BACKENDS = tuple(name for name in vc.available_backends() if name != "numpy")


@pytest.fixture(autouse=True, scope="module")
def _restore_backend():
    before = vc.active_backend()
    yield
    vc.use_backend(before)


def progress_inside_calls(call, calls: int = 4) -> tuple[int, float]:
    """Run ``call`` ``calls`` times in a worker thread while this thread counts loop iterations;
    return the iterations that fell in the middle half of some call, and the shortest call."""
    spans: list[tuple[float, float]] = []
    stamps: list[float] = []
    finished = threading.Event()

    def worker():
        for _ in range(calls):
            started = time.perf_counter()
            call()
            spans.append((started, time.perf_counter()))
        finished.set()

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        thread = threading.Thread(target=worker)
        thread.start()
        clock = time.perf_counter
        while not finished.is_set():
            stamps.append(clock())
        thread.join()
    finally:
        sys.setswitchinterval(switch_interval)
    times = np.array(stamps)
    inside = 0
    for started, stopped in spans:
        quarter = (stopped - started) / 4
        inside += int(((times > started + quarter) & (times < stopped - quarter)).sum())
    return inside, min(stopped - started for started, stopped in spans)


def long_calls(impl):
    """Kernel calls that each take tens of milliseconds (and hold every argument alive)."""
    rng = np.random.default_rng(0)
    # three channels: the division path, the slowest per byte (~2 ns per frame here)
    stereo = (rng.standard_normal((4_000_000, 3)) * 8000).astype(np.int16)
    mono = rng.standard_normal(200_000).astype(np.float32)
    out = np.empty(stereo.shape[0], np.float32)
    ring = impl.RingBuffer(stereo.shape[0])
    return {
        "sanitize": lambda: impl.sanitize(stereo, 1.0, out=out),
        "frame_energy": lambda: impl.frame_energy(mono, 2048, 8),
        "write_sanitized": lambda: ring.write_sanitized(stereo, 1.0),
    }


@pytest.mark.parametrize("name", GIL_FREE_BACKENDS)
@pytest.mark.parametrize("kernel", ["sanitize", "frame_energy", "write_sanitized"])
def test_other_threads_run_while_a_kernel_runs(name, kernel):
    impl = backend(name)
    call = long_calls(impl)[kernel]
    call()  # warm caches and allocations
    inside, shortest = progress_inside_calls(call)
    # With the GIL held for the whole call, this thread could not run at all in the middle
    # half of a call: it would get the GIL only within a switch interval of the call's edges.
    assert shortest > 8 * SWITCH_INTERVAL, f"calls too short ({shortest * 1e3:.1f} ms) for a meaningful check"
    assert inside > 100, f"only {inside} iterations of another thread ran inside {kernel}"


def test_small_blocks_keep_the_gil():
    """Below NOGIL_MIN_SAMPLES the GIL is kept: a 512-frame callback block never waits to take
    it back from another thread."""
    from voiceflow_core import _kernels_cy

    assert 512 * 2 < _kernels_cy.NOGIL_MIN_SAMPLES <= 65_536
