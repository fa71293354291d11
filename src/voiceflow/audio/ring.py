"""``BoundedRingBuffer``: the drop-in pre-roll buffer, a thin class over ``voiceflow_core.RingBuffer``.

Holds the newest ``max_samples = int(max_duration_seconds * sample_rate)`` mono float32
samples.  ``append`` sanitizes whatever it is given (the guard's repair policy, straight into
the ring's storage for ndarray blocks) and never raises.  ``samples_written`` counts every
sample ever appended and never goes back, so ``get_samples_since`` positions stay valid across
oversize chunks and ``clear()``.

Threading: one writer (the audio callback calling ``append``) and any number of reader threads
at once; every read returns whole appended chunks (never a torn one), oldest first.  ``lock``
(a ``threading.Lock``, as the old class had) is taken by ``append`` and ``clear``: a reader that
holds it sees ``buffer``, ``write_pos`` and ``samples_written`` of one moment.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

import voiceflow_core as _core
from voiceflow_core._results import CLEAN  # the shared all-zero counts of the clean path
from voiceflow.audio.guard import (
    DEFAULT_CLIP_LIMIT,
    MAX_CHANNELS,
    _log_rate_limited,
    _log_repair,
    audio_validation_guard,
)

__all__ = ["BoundedRingBuffer"]

_APPEND = "RingBuffer.append"
_ndarray = np.ndarray


class _RepairPolicy:
    """The guard settings ``append`` always uses: repair, with the buffer's clip limit."""

    __slots__ = ("audio_clip_limit",)
    audio_guard_policy = "repair"

    def __init__(self, limit: float) -> None:
        self.audio_clip_limit = limit


class BoundedRingBuffer:
    """Fixed-capacity ring of mono float32 audio (drop-in for the old app's class).

    Parameters
    ----------
    max_duration_seconds, sample_rate
        Capacity is ``int(max_duration_seconds * sample_rate)`` samples (at least 1).
    cfg
        Optional config object; only ``audio_clip_limit`` (default 100.0) is read, once.
    """

    __slots__ = ("max_samples", "sample_rate", "lock", "_ring", "_write_sanitized", "_limit", "_cfg")

    def __init__(self, max_duration_seconds: float, sample_rate: int, *, cfg: Any = None) -> None:
        try:
            capacity = int(max_duration_seconds * sample_rate)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"BoundedRingBuffer: bad duration or sample rate ({exc})") from None
        if capacity < 1:
            raise ValueError(
                f"BoundedRingBuffer: max_duration_seconds * sample_rate must hold at least one sample, "
                f"got {max_duration_seconds!r} * {sample_rate!r}"
            )
        limit = getattr(cfg, "audio_clip_limit", DEFAULT_CLIP_LIMIT)
        try:
            limit = float(limit)
        except (TypeError, ValueError):
            limit = math.nan
        if not limit > 0.0:  # also refuses NaN
            raise ValueError(f"BoundedRingBuffer: cfg.audio_clip_limit must be positive, got {limit!r}")
        self.max_samples = capacity
        self.sample_rate = sample_rate
        self._limit = limit
        self._cfg = _RepairPolicy(limit)
        self._ring = _core.RingBuffer(capacity)
        self._write_sanitized = self._ring.write_sanitized
        self.lock = threading.Lock()  # taken by the writer (append, clear); readers need not

    # --- writer ------------------------------------------------------------------------------
    def append(self, data: Any) -> None:
        """Sanitize ``data`` (repair policy, empty allowed) and write it; never raises.

        A chunk longer than ``max_samples`` keeps its newest ``max_samples`` samples and still
        adds its full length to ``samples_written``.  A chunk that cannot be used (wrong dtype
        or shape) is dropped with one WARNING on logger ``voiceflow.guard``.
        """
        try:
            if type(data) is _ndarray and (
                data.ndim == 1 or (data.ndim == 2 and 0 < data.shape[1] <= MAX_CHANNELS)
            ):
                with self.lock:
                    counts = self._write_sanitized(data, self._limit)  # ValueError if dtype unsupported
                if counts is not CLEAN:
                    _log_repair(_APPEND, counts, self._limit)
                return
            clean = audio_validation_guard(data, _APPEND, True, self._cfg)
            if clean.shape[0]:
                with self.lock:
                    self._ring.write(clean)
        except Exception as exc:  # never raise into an audio callback
            reason = str(exc).removeprefix(f"[AudioGuard] {_APPEND}: ")
            _log_rate_limited(_APPEND, f"dropped a chunk that cannot be used: {reason}", "dropped")

    # --- readers -----------------------------------------------------------------------------
    def get_data(self) -> np.ndarray:
        """Everything held, oldest first, as a new float32 array."""
        return self._ring.snapshot()

    get_samples = get_data

    def get_latest_samples(self, n: float) -> np.ndarray:
        """The newest ``min(n, held)`` samples as a new array; empty when ``n < 1``."""
        try:
            n = float(n)
        except (TypeError, ValueError):
            raise ValueError(f"BoundedRingBuffer.get_latest_samples: n must be a number, got {n!r}") from None
        if not n >= 1.0:  # also NaN
            return np.empty(0, dtype=np.float32)
        count = self.max_samples if math.isinf(n) else min(int(n), self.max_samples)
        return self._ring.latest(count)

    def get_samples_since(self, last_total: int) -> tuple[np.ndarray, int]:
        """``(samples appended after absolute position last_total, samples_written)``.

        If the reader fell more than the capacity behind (or the buffer was cleared since),
        the oldest samples still held come first.  Pass the returned total back next time.
        """
        return self._ring.since(max(0, int(last_total)))

    # --- state -------------------------------------------------------------------------------
    @property
    def samples_written(self) -> int:
        """Samples ever appended (monotonic; oversize chunks count in full, ``clear`` keeps it)."""
        return self._ring.total

    @property
    def write_pos(self) -> int:
        """Index in ``[0, max_samples)`` where the next sample lands (``samples_written % max_samples``)."""
        return self._ring.total % self.max_samples

    def clear(self) -> None:
        """Forget the content in O(1); ``samples_written`` keeps counting."""
        with self.lock:
            self._ring.clear()

    @property
    def buffer(self) -> np.ndarray:
        """The storage as the old class laid it out, read-only: ``max_samples`` float32 slots,
        sample number ``t`` at slot ``t % max_samples``; slots holding nothing since the last
        ``clear`` read 0.0.  A new read-only array on each access (O(``max_samples``)), built
        from one consistent read of the ring; writing to it raises ``ValueError``."""
        while True:  # no lock: a caller may already hold ``lock`` (a non-reentrant Lock)
            total = self._ring.total
            held = self._ring.snapshot()
            if self._ring.total == total:  # no append in between: held ends at sample total - 1
                break
        storage = np.zeros(self.max_samples, dtype=np.float32)
        if held.shape[0]:
            start = (total - held.shape[0]) % self.max_samples
            first = min(held.shape[0], self.max_samples - start)
            storage[start : start + first] = held[:first]
            storage[: held.shape[0] - first] = held[first:]
        storage.flags.writeable = False
        return storage

    def get_duration_seconds(self) -> float:
        """Seconds of audio held: ``min(written since the last clear, max_samples) / sample_rate``."""
        return self._ring.size / self.sample_rate

    def __len__(self) -> int:
        return self._ring.size

    def __repr__(self) -> str:
        return (
            f"BoundedRingBuffer(max_samples={self.max_samples}, sample_rate={self.sample_rate}, "
            f"held={self._ring.size}, samples_written={self._ring.total})"
        )
