"""voiceflow_core.RingBuffer in every backend: a hypothesis state machine against a plain list of
everything written, the reader/``out=`` contract, and one writer racing several readers."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import voiceflow_core as vc
from tests.core.test_kernels import ALL_BACKENDS, LIMITS, assert_bits_equal, audio, backend
from voiceflow_core import _kernels_numpy as ref


@pytest.fixture(autouse=True, scope="module")
def _restore_backend():
    before = vc.active_backend()
    yield
    vc.use_backend(before)


# --- state machine against the list of everything written ------------------------------------


class RingAgainstList(RuleBasedStateMachine):
    """The model is every sample ever written and the position of the last ``clear``."""

    backend_name = "numpy"

    @initialize(capacity=st.integers(1, 300))
    def create(self, capacity):
        self.ring = backend(self.backend_name).RingBuffer(capacity)
        self.capacity = capacity
        self.written: list[float] = []
        self.cleared_at = 0
        self.last_total = 0
        self.next_value = 1.0

    def held(self) -> np.ndarray:
        since_clear = self.written[self.cleared_at :]
        return np.array(since_clear[len(since_clear) - min(len(since_clear), self.capacity) :],
                        np.float32)  # fmt: skip

    @rule(length=st.integers(0, 700))
    def write(self, length):
        block = np.arange(self.next_value, self.next_value + length, dtype=np.float32)
        self.next_value += length
        assert self.ring.write(block) is None
        self.written.extend(block.tolist())

    @rule(raw=audio(max_frames=700, max_channels=3, dtypes=("int16", "float32", "float64")),
          limit=LIMITS)  # fmt: skip
    def write_sanitized(self, raw, limit):
        expected, expected_counts = ref.sanitize(raw, limit)
        assert self.ring.write_sanitized(raw, limit) == expected_counts
        self.written.extend(expected.tolist())

    @rule()
    def clear(self):
        self.ring.clear()
        self.cleared_at = len(self.written)

    @rule(n=st.integers(0, 400), with_out=st.booleans())
    def latest(self, n, with_out):
        out = np.full(min(n, self.capacity) + 3, np.nan, np.float32) if with_out else None
        got = self.ring.latest(n, out=out)
        held = self.held()
        assert_bits_equal(got, held[len(held) - min(n, len(held)) :])
        if with_out:
            assert np.shares_memory(got, out) or got.size == 0

    @rule(back=st.integers(-5, 400), with_out=st.booleans())
    def since(self, back, with_out):
        position = max(len(self.written) - back, 0)
        out = np.empty(self.capacity, np.float32) if with_out else None
        got, new_total = self.ring.since(position, out=out)
        held = self.held()
        oldest = len(self.written) - len(held)
        start = min(max(position, oldest), len(self.written))
        assert new_total == len(self.written)
        assert_bits_equal(got, held[start - oldest :])

    @rule(with_out=st.booleans())
    def snapshot(self, with_out):
        out = np.empty(self.capacity + 1, np.float32) if with_out else None
        assert_bits_equal(self.ring.snapshot(out=out), self.held())

    @precondition(lambda self: hasattr(self, "ring"))
    @invariant()
    def totals(self):
        total = self.ring.total
        assert total == len(self.written) >= self.last_total
        self.last_total = total
        assert self.ring.size == len(self.held()) == len(self.ring)
        assert self.ring.capacity == self.capacity


for _name in ALL_BACKENDS:
    _machine = type(f"RingAgainstList_{_name}", (RingAgainstList,), {"backend_name": _name})
    globals()[f"TestRingAgainstList_{_name}"] = _machine.TestCase


# --- the contract in single cases ------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_oversize_chunk_keeps_newest_and_counts_everything(name):
    ring = backend(name).RingBuffer(4)
    ring.write(np.arange(10, dtype=np.float32))
    np.testing.assert_array_equal(ring.snapshot(), [6, 7, 8, 9])
    assert (ring.total, ring.size) == (10, 4)
    raw = np.array([np.nan, np.inf, 5, 0, 0, 0.5], np.float32)  # the bad samples fall off
    assert ring.write_sanitized(raw, 1.0) == (1, 1, 0, 1)
    np.testing.assert_array_equal(ring.snapshot(), [1, 0, 0, 0.5])
    assert ring.total == 16


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_since_a_lagging_reader_gets_the_oldest_samples_still_held(name):
    ring = backend(name).RingBuffer(5)
    ring.write(np.arange(12, dtype=np.float32))
    got, total = ring.since(3)
    np.testing.assert_array_equal(got, [7, 8, 9, 10, 11])
    assert total == 12
    got, total = ring.since(total)
    assert got.size == 0 and total == 12
    got, total = ring.since(99)  # a position from the future: nothing, and the true total
    assert got.size == 0 and total == 12


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_clear_forgets_content_but_total_keeps_counting(name):
    ring = backend(name).RingBuffer(8)
    ring.write(np.ones(5, np.float32))
    ring.clear()
    assert (ring.size, ring.total) == (0, 5)
    assert ring.snapshot().size == 0 and ring.latest(3).size == 0
    ring.write(np.full(2, 2.0, np.float32))
    got, total = ring.since(0)
    np.testing.assert_array_equal(got, [2, 2])
    assert total == 7


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_reads_into_out_return_views_of_out(name):
    ring = backend(name).RingBuffer(6)
    ring.write(np.arange(4, dtype=np.float32))
    out = np.zeros(6, np.float32)
    got = ring.snapshot(out=out)
    assert got.base is out or got is out
    np.testing.assert_array_equal(out[:4], [0, 1, 2, 3])
    got, _ = ring.since(2, out=out)
    np.testing.assert_array_equal(got, [2, 3])
    assert np.shares_memory(got, out)
    np.testing.assert_array_equal(ring.latest(2, out=np.zeros(2, np.float32)), [2, 3])


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_ring_argument_errors(name):
    impl = backend(name)
    for capacity in (0, -1, 2.5, "8"):
        with pytest.raises(ValueError, match="capacity"):
            impl.RingBuffer(capacity)
    ring = impl.RingBuffer(4)
    for block in (np.zeros(3, np.float64), np.zeros((3, 1), np.float32), [1.0, 2.0]):
        with pytest.raises(ValueError, match="float32"):
            ring.write(block)
    with pytest.raises(ValueError, match="n"):
        ring.latest(-1)
    with pytest.raises(ValueError, match="total"):
        ring.since(-1)
    with pytest.raises(ValueError, match="needs at least"):
        ring.since(0, out=np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="needs at least"):
        ring.latest(3, out=np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="out"):
        ring.snapshot(out=np.zeros(4, np.float64))
    with pytest.raises(ValueError, match="limit"):
        ring.write_sanitized(np.zeros(3, np.int16), -1.0)
    with pytest.raises(ValueError, match="dtype"):
        ring.write_sanitized(np.zeros(3, np.complex64), 1.0)
    assert ring.total == 0


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_write_accepts_strided_and_readonly_blocks(name):
    ring = backend(name).RingBuffer(10)
    block = np.arange(8, dtype=np.float32)[::2]
    ring.write(block)
    block = block.copy()
    block.setflags(write=False)
    ring.write(block)
    np.testing.assert_array_equal(ring.snapshot(), [0, 2, 4, 6, 0, 2, 4, 6])


# --- one writer, several readers -------------------------------------------------------------


def block_length(sequence: int, longest: int) -> int:
    return 1 + (sequence * 7919) % longest


def check_read(samples: np.ndarray, longest: int, first_may_be_cut: bool = True) -> None:
    """Samples are whole blocks ``k, k+1, ...`` (block ``k`` holds ``len(k)`` copies of ``k``);
    only the first block may be cut (by the capacity or the amount asked for)."""
    if samples.size == 0:
        return
    starts = np.flatnonzero(np.diff(samples)) + 1
    values = samples[np.concatenate(([0], starts))]
    lengths = np.diff(np.concatenate(([0], starts, [samples.size])))
    assert (np.diff(values) == 1).all(), f"blocks out of order: {values[:10]}"
    expected = np.array([block_length(int(v), longest) for v in values])
    assert (lengths[1:] == expected[1:]).all(), "a torn block"
    assert lengths[0] <= expected[0] if first_may_be_cut else lengths[0] == expected[0]


@pytest.mark.parametrize("name", ALL_BACKENDS)
@pytest.mark.parametrize(("capacity", "longest"), [(1000, 300), (60_000, 25_000)])
def test_one_writer_many_readers_never_see_a_torn_block(name, capacity, longest):
    impl = backend(name)
    ring = impl.RingBuffer(capacity)
    done = threading.Event()
    failures: list[BaseException] = []
    reads = [0, 0, 0]

    def writer():
        sequence = 1
        deadline = time.perf_counter() + 0.6
        while time.perf_counter() < deadline:
            block = np.full(block_length(sequence, longest), sequence, np.float32)
            if sequence % 2:
                ring.write(block)
            else:
                ring.write_sanitized(block, 1e9)
            sequence += 1
        done.set()

    def reader(kind: int):
        try:
            position, last_value = 0, 0.0
            while not done.is_set() or kind == 1 and position < ring.total:
                if kind == 0:
                    check_read(ring.latest(capacity // 2 + 7), longest)
                elif kind == 1:
                    got, new_position = ring.since(position)
                    start = new_position - got.size
                    assert start >= position
                    # unless the reader lagged past the capacity, it continues where it stopped
                    check_read(got, longest, first_may_be_cut=start > position)
                    if got.size and start == position and last_value:
                        assert got[0] == last_value + 1
                    if got.size:
                        last_value = float(got[-1])
                    position = new_position
                else:
                    check_read(ring.snapshot(), longest)
                reads[kind] += 1
        except BaseException as exc:  # noqa: BLE001 - reported in the main thread
            failures.append(exc)
            done.set()

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(3)]
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if failures:
        raise failures[0]
    assert min(reads) > 0 and ring.total > capacity
    check_read(ring.snapshot(), longest)
