"""Result tuples shared by every backend."""

from __future__ import annotations

from typing import NamedTuple


class ScanResult(NamedTuple):
    """What a read-only :func:`voiceflow_core.scan` pass found.

    Every count is over samples (not frames) after conversion to float32.
    """

    nan: int
    """Samples that are NaN."""
    posinf: int
    """Samples that are +inf (float64 above the float32 range included)."""
    neginf: int
    """Samples that are -inf (float64 below the float32 range included)."""
    over_limit: int
    """Finite samples with ``|x| > limit`` (limit rounded to float32)."""
    peak: float
    """Largest ``|x|`` over the finite samples; 0.0 when there is none."""


class RepairCounts(NamedTuple):
    """What a repairing kernel changed, counted per output sample (after downmix)."""

    nan: int
    """NaN samples replaced by 0.0."""
    posinf: int
    """+inf samples replaced by +32.0 (then limited to ``+limit`` when ``limit < 32``)."""
    neginf: int
    """-inf samples replaced by -32.0 (then limited to ``-limit`` when ``limit < 32``)."""
    clipped: int
    """Finite samples with ``|x| > limit`` set to ``±limit`` (replaced infinities not included)."""

    @property
    def total(self) -> int:
        """All samples that were changed."""
        return self.nan + self.posinf + self.neginf + self.clipped


CLEAN = RepairCounts(0, 0, 0, 0)
"""The shared all-zero counts (returned on the clean path, so it allocates nothing)."""
