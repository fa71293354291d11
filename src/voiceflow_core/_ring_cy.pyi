"""Compiled fixed-capacity float32 ring buffer (``cython`` backend of ``voiceflow_core``).

Positions are absolute sample numbers counted from 0 over the ring's whole life; ``total`` is
the position just after the newest sample and never goes back (not even on ``clear``).  The ring
holds the newest ``size <= capacity`` samples written since the last ``clear``.

Threading: one writer (``write``/``write_sanitized``/``clear``) and any number of readers may
call concurrently.  A short internal lock guards each call; waiting for it never holds the GIL,
and copies of at least ``NOGIL_MIN_SAMPLES`` samples run without the GIL.  A read therefore sees
the ring between two writes: it contains either all or none of each written block (only its
first block can be cut, by ``n`` or by the capacity).
"""

import numpy as np
import numpy.typing as npt

from voiceflow_core._results import RepairCounts

_Float32Array = npt.NDArray[np.float32]

class RingBuffer:
    capacity: int
    """Samples the ring can hold (fixed at construction)."""

    def __init__(self, capacity: int) -> None:
        """An empty ring of ``capacity`` (an integer >= 1) float32 samples."""

    @property
    def total(self) -> int:
        """Samples ever written (monotonic; ``clear`` does not reset it)."""

    @property
    def size(self) -> int:
        """Samples held now: ``min(total - total_at_last_clear, capacity)``."""

    def __len__(self) -> int:
        """Same as :attr:`size`."""

    def write(self, block: npt.NDArray[np.float32]) -> None:
        """Append a 1-D float32 block (any strides; ``ValueError`` for other dtypes/shapes).
        A block longer than ``capacity`` leaves its newest ``capacity`` samples; ``total``
        advances by the full length."""

    def write_sanitized(self, raw: npt.ArrayLike, limit: float) -> RepairCounts:
        """``voiceflow_core.sanitize(raw, limit)`` written straight into the ring's storage (no
        intermediate array; wrap-around handled).  ``raw``: 1-D or ``(frames, channels)`` of
        any supported dtype.  Returns the counts over every frame of ``raw``, including frames
        of an oversize block that the ring could not keep."""

    def latest(self, n: int, out: _Float32Array | None = None) -> _Float32Array:
        """The newest ``min(n, size)`` samples, oldest first (``n`` >= 0).  With ``out`` (1-D
        float32, C-contiguous, writable, at least ``min(n, capacity)`` long) the result is a
        view of ``out``'s start."""

    def since(self, total: int, out: _Float32Array | None = None) -> tuple[_Float32Array, int]:
        """``(samples written at positions >= total, new_total)``.  A reader that lagged past
        the capacity (or a ``clear``) gets the oldest samples still held; a position beyond
        ``total`` gets nothing.  ``new_total`` is the position just after the last sample
        returned -- pass it to the next call to continue without a gap or an overlap.  ``out``
        must hold at least ``capacity`` samples; the result is then a view of it."""

    def snapshot(self, out: _Float32Array | None = None) -> _Float32Array:
        """Everything held, oldest first (``size`` samples).  ``out`` must hold at least
        ``capacity`` samples; the result is then a view of it."""

    def clear(self) -> None:
        """Forget the content in O(1); ``total`` keeps counting, so reader positions stay
        valid."""
