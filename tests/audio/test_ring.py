"""BoundedRingBuffer: every member of the drop-in contract, a state machine against a plain model,
and one writer racing several readers."""

from __future__ import annotations

import logging
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from voiceflow.audio import guard as guard_module
from voiceflow.audio.ring import BoundedRingBuffer


def clean(samples, limit: float = 100.0) -> list[float]:
    """What append stores for float32 mono or int16 (frames, channels) input (the guard's contract)."""
    v = np.asarray(samples)
    if v.dtype == np.int16:
        v = v.astype(np.float64) / 32768.0
        if v.ndim == 2:
            total = v[:, 0].copy()
            for c in range(1, v.shape[1]):
                total += v[:, c]
            v = total / v.shape[1]
        v = v.astype(np.float32)
    v = v.astype(np.float32).copy()
    v[np.isnan(v)] = 0.0
    v[v == np.inf] = 32.0
    v[v == -np.inf] = -32.0
    return np.clip(v, -np.float32(limit), np.float32(limit)).tolist()


@pytest.fixture(autouse=True)
def fresh_log_limiter():
    guard_module._last_logged.clear()
    guard_module._suppressed.clear()
    yield


# --- the contract table ----------------------------------------------------------------------


def test_capacity_and_plain_attributes():
    ring = BoundedRingBuffer(1.5, 16000)
    assert ring.max_samples == 24000 and ring.sample_rate == 16000
    assert ring.samples_written == 0 and ring.write_pos == 0
    assert ring.get_duration_seconds() == 0.0
    assert ring.get_data().dtype == np.float32 and ring.get_data().size == 0


@pytest.mark.parametrize("duration, rate", [(0.0, 16000), (0.00001, 16000), (-1.0, 16000), ("x", 16000)])
def test_capacity_below_one_sample_is_refused(duration, rate):
    with pytest.raises(ValueError):
        BoundedRingBuffer(duration, rate)


def test_append_runs_the_guard_repair_policy():
    ring = BoundedRingBuffer(1.0, 100)
    ring.append(np.array([0.5, np.nan, np.inf, -np.inf, 1e9], np.float32))
    ring.append(np.array([[16384, 0], [-32768, -32768]], np.int16))
    ring.append([0.25, 0.125])
    ring.append(np.float64(0.75))
    np.testing.assert_array_equal(
        ring.get_data(), np.array([0.5, 0.0, 32.0, -32.0, 100.0, 0.25, -1.0, 0.25, 0.125, 0.75], np.float32)
    )
    assert ring.samples_written == 10


def test_append_uses_the_cfg_clip_limit():
    ring = BoundedRingBuffer(1.0, 100, cfg=type("Cfg", (), {"audio_clip_limit": 2.0})())
    ring.append(np.array([5.0, -0.5], np.float32))
    ring.append([7.0])
    np.testing.assert_array_equal(ring.get_data(), [2.0, -0.5, 2.0])


def test_append_of_empty_or_none_writes_nothing_and_logs_nothing(caplog):
    caplog.set_level(logging.DEBUG, logger="voiceflow.guard")
    ring = BoundedRingBuffer(1.0, 100)
    for empty in (None, np.zeros(0, np.float32), [], np.zeros((0, 2), np.int16)):
        ring.append(empty)
    assert ring.samples_written == 0 and caplog.records == []


@pytest.mark.parametrize(
    "junk",
    ["abc", np.zeros((2, 2, 2), np.float32), np.array([1 + 1j]), np.zeros((3, 100), np.float32), object(), [[1.0], [2.0, 3.0]]],
    ids=["str", "3-D", "complex", "transposed", "object", "ragged"],
)
def test_unusable_chunk_is_dropped_with_one_warning(junk, caplog):
    caplog.set_level(logging.DEBUG, logger="voiceflow.guard")
    ring = BoundedRingBuffer(1.0, 100)
    ring.append(np.ones(3, np.float32))
    ring.append(junk)  # must not raise
    [record] = caplog.records
    assert record.levelno == logging.WARNING and "dropped" in record.getMessage()
    assert ring.samples_written == 3
    np.testing.assert_array_equal(ring.get_data(), [1.0, 1.0, 1.0])


def test_oversize_chunk_keeps_newest_and_counts_in_full():
    ring = BoundedRingBuffer(1.0, 10)
    ring.append(np.arange(3, dtype=np.float32))
    ring.append(np.arange(25, dtype=np.float32))
    assert ring.samples_written == 28  # monotonic (the old code reset it to 10)
    np.testing.assert_array_equal(ring.get_data(), np.arange(15, 25, dtype=np.float32))
    assert ring.write_pos == 28 % 10
    samples, total = ring.get_samples_since(3)
    assert total == 28
    np.testing.assert_array_equal(samples, np.arange(15, 25, dtype=np.float32))


def test_get_data_and_get_samples_return_new_arrays():
    ring = BoundedRingBuffer(1.0, 8)
    ring.append(np.arange(5, dtype=np.float32))
    first = ring.get_data()
    first[:] = -1
    np.testing.assert_array_equal(ring.get_samples(), np.arange(5, dtype=np.float32))
    assert ring.get_samples() is not ring.get_samples()


def test_get_data_wraps_oldest_first():
    ring = BoundedRingBuffer(1.0, 8)
    for start in range(0, 30, 3):
        ring.append(np.arange(start, start + 3, dtype=np.float32))
    np.testing.assert_array_equal(ring.get_data(), np.arange(22, 30, dtype=np.float32))


@pytest.mark.parametrize(
    "n, expected",
    [(0, []), (-3, []), (0.5, []), (float("nan"), []), (1, [9.0]), (3, [7.0, 8.0, 9.0]), (2.9, [8.0, 9.0]),
     (np.int64(2), [8.0, 9.0]), (8, list(range(2, 10))), (100, list(range(2, 10))), (float("inf"), list(range(2, 10)))],
)  # fmt: skip
def test_get_latest_samples(n, expected):
    ring = BoundedRingBuffer(1.0, 8)
    ring.append(np.arange(10, dtype=np.float32))
    result = ring.get_latest_samples(n)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, np.array(expected, np.float32))


def test_get_samples_since_tracks_a_reader():
    ring = BoundedRingBuffer(1.0, 10)
    position = 0
    ring.append(np.arange(4, dtype=np.float32))
    samples, position = ring.get_samples_since(position)
    np.testing.assert_array_equal(samples, [0, 1, 2, 3])
    assert position == 4
    samples, position = ring.get_samples_since(position)
    assert samples.size == 0 and position == 4
    ring.append(np.arange(4, 7, dtype=np.float32))
    samples, position = ring.get_samples_since(position)
    np.testing.assert_array_equal(samples, [4, 5, 6])
    # the reader lags past the capacity: it gets the oldest samples still held
    ring.append(np.arange(7, 30, dtype=np.float32))
    samples, position = ring.get_samples_since(position)
    np.testing.assert_array_equal(samples, np.arange(20, 30, dtype=np.float32))
    assert position == 30
    samples, _ = ring.get_samples_since(1000)  # a position from the future: nothing
    assert samples.size == 0


def test_clear_forgets_content_but_keeps_counting():
    ring = BoundedRingBuffer(1.0, 10)
    ring.append(np.arange(7, dtype=np.float32))
    ring.clear()
    assert ring.samples_written == 7 and ring.get_data().size == 0
    assert ring.get_duration_seconds() == 0.0 and ring.get_latest_samples(3).size == 0
    samples, total = ring.get_samples_since(2)
    assert samples.size == 0 and total == 7
    ring.append(np.array([1.5, 2.5], np.float32))
    samples, total = ring.get_samples_since(2)  # a reader from before the clear stays valid
    np.testing.assert_array_equal(samples, [1.5, 2.5])
    assert total == 9 and ring.write_pos == 9


def test_get_duration_seconds():
    ring = BoundedRingBuffer(0.5, 16000)
    ring.append(np.zeros(4000, np.float32))
    assert ring.get_duration_seconds() == 0.25
    ring.append(np.zeros(10000, np.float32))
    assert ring.get_duration_seconds() == 0.5
    ring.clear()
    ring.append(np.zeros(1600, np.float32))
    assert ring.get_duration_seconds() == 0.1


# --- state machine against a plain Python model ----------------------------------------------

float_chunks = st.integers(0, 80).flatmap(
    lambda n: hnp.arrays(
        np.float32, n, elements=st.one_of(st.floats(-2, 2, width=32), st.sampled_from([np.nan, np.inf, -np.inf, 500.0]))
    )
)
int16_stereo_chunks = st.integers(0, 40).flatmap(lambda n: hnp.arrays(np.int16, (n, 2)))


class RingMachine(RuleBasedStateMachine):
    """The model is the list of every sample ever appended and where the last clear happened."""

    @initialize(capacity=st.integers(1, 48))
    def make(self, capacity):
        self.capacity = capacity
        self.ring = BoundedRingBuffer(capacity / 4, 4)
        self.model: list[float] = []
        self.cleared_at = 0

    def held(self) -> list[float]:
        count = min(len(self.model) - self.cleared_at, self.capacity)
        return self.model[len(self.model) - count :]

    @rule(chunk=float_chunks)
    def append_float32(self, chunk):
        self.ring.append(chunk)
        self.model.extend(clean(chunk))

    @rule(chunk=int16_stereo_chunks)
    def append_int16_stereo(self, chunk):
        self.ring.append(chunk)
        self.model.extend(clean(chunk))

    @rule()
    def append_junk(self):
        self.ring.append("not audio")

    @rule()
    def clear(self):
        self.ring.clear()
        self.cleared_at = len(self.model)

    @rule(n=st.integers(-2, 60))
    def latest(self, n):
        expected = self.held()[len(self.held()) - max(0, min(n, len(self.held()))) :]
        assert self.ring.get_latest_samples(n).tolist() == expected

    @rule(back=st.integers(-3, 70))
    def since(self, back):
        position = max(0, len(self.model) - back)
        samples, total = self.ring.get_samples_since(position)
        held = self.held()
        first_held = len(self.model) - len(held)
        assert total == len(self.model)
        assert samples.tolist() == held[max(position, first_held) - first_held :]

    @invariant()
    def matches_model(self):
        if not hasattr(self, "ring"):
            return
        assert self.ring.samples_written == len(self.model)
        assert self.ring.write_pos == len(self.model) % self.capacity
        assert self.ring.get_data().tolist() == self.held()
        assert self.ring.get_duration_seconds() == len(self.held()) / 4


TestRingMachine = RingMachine.TestCase
TestRingMachine.settings = settings(stateful_step_count=30, deadline=None, max_examples=settings().max_examples)


# --- one writer, several readers -------------------------------------------------------------

BLOCK = 96  # does not divide the capacity, so blocks wrap around the end of the storage
STEP = 1 / 256  # block number k is stored as k / 256: exact in float32, inside the clip limit


def expected_run(start: int, length: int) -> np.ndarray:
    """Samples start..start+length-1, where sample t holds its block's number (t // BLOCK) * STEP."""
    return ((np.arange(start, start + length) // BLOCK) * STEP).astype(np.float32)


def test_one_writer_many_readers_never_see_a_torn_or_reordered_block():
    ring = BoundedRingBuffer(1.0, 1000)
    blocks = 8000
    assert (blocks - 1) * STEP < 100  # every block value survives the clip limit unchanged
    done = threading.Event()
    errors: list[str] = []
    reads = {"since": 0, "get_data": 0, "latest": 0}

    start = threading.Barrier(4)

    def writer():
        start.wait()
        try:
            for seq in range(blocks):
                ring.append(np.full(BLOCK, seq * STEP, np.float32))
                if seq % 200 == 0:
                    time.sleep(0)  # let every reader run at least now and then
        finally:
            done.set()

    def check_tail(name: str, samples: np.ndarray) -> None:
        if samples.size == 0:
            return
        reads[name] += 1
        newest = round(float(samples[-1]) / STEP)
        end = (newest + 1) * BLOCK  # the newest block must be complete
        if not np.array_equal(samples, expected_run(end - samples.size, samples.size)):
            errors.append(f"{name}: torn or reordered read ending at block {newest}")

    def since_reader():
        start.wait()
        position = 0
        while not done.is_set() or position < blocks * BLOCK:
            samples, total = ring.get_samples_since(position)
            if total % BLOCK or samples.size != min(total - position, ring.max_samples):
                errors.append(f"since: {samples.size} samples for {position}->{total}")
            elif not np.array_equal(samples, expected_run(total - samples.size, samples.size)):
                errors.append(f"since: wrong samples for {position}->{total}")
            reads["since"] += samples.size > 0
            position = total
            if errors:
                return

    def snapshot_reader(name: str, read):
        start.wait()
        while not done.is_set() and not errors:
            check_tail(name, read())

    threads = [
        threading.Thread(target=writer),
        threading.Thread(target=since_reader),
        threading.Thread(target=snapshot_reader, args=("get_data", ring.get_data)),
        threading.Thread(target=snapshot_reader, args=("latest", lambda: ring.get_latest_samples(250))),
    ]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave the threads finely
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert min(reads.values()) >= 5, reads  # the readers really raced the writer
    assert ring.samples_written == blocks * BLOCK
    np.testing.assert_array_equal(ring.get_data(), expected_run(blocks * BLOCK - 1000, 1000))


# --- the old class's public attributes: buffer and lock --------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 25), st.just(-1)), max_size=20))
def test_buffer_is_the_old_storage_layout(steps):
    """``buffer[t % max_samples]`` holds sample t, as the old class's storage did; a clear (-1)
    leaves slots that hold nothing reading 0.0."""
    ring = BoundedRingBuffer(1.0, 10)
    model = np.zeros(10, np.float32)
    total = 0
    for step in steps:
        if step < 0:
            ring.clear()
            model[:] = 0.0
            continue
        block = (np.arange(total, total + step) % 97 + 1).astype(np.float32) / 100
        ring.append(block)
        for t, value in zip(range(total, total + step), block):
            model[t % 10] = value
        total += step
    view = ring.buffer
    assert len(view) == ring.max_samples == 10 and view.dtype == np.float32
    np.testing.assert_array_equal(view, model)
    assert ring.write_pos == total % 10


def test_buffer_is_read_only():
    ring = BoundedRingBuffer(0.5, 16000)
    ring.append(np.ones(100, np.float32))
    with pytest.raises(ValueError, match="read-only"):
        ring.buffer[0] = 5.0
    assert ring.get_data()[0] == 1.0


def test_lock_is_the_writers_lock():
    ring = BoundedRingBuffer(0.5, 16000)
    assert isinstance(ring.lock, type(threading.Lock()))
    with ring.lock:
        assert len(ring.buffer) == 8000  # reading under the lock does not deadlock
        writer = threading.Thread(target=ring.append, args=(np.ones(160, np.float32),))
        writer.start()
        writer.join(0.2)
        assert writer.is_alive() and ring.samples_written == 0  # the writer waits for the lock
    writer.join(5)
    assert ring.samples_written == 160
