"""Compiled audio kernels (``cython`` backend of ``voiceflow_core``).

Common contract
---------------
* Input samples: an ndarray (anything ``np.asarray`` accepts is converted) of float16, float32,
  float64, int8, int16, int32, int64, uint8, uint16 or uint32; non-native byte order is
  converted (a copy).  Any strides work, negative ones included, without a copy; C-contiguous
  inputs take a faster vectorised path.  Read-only inputs work; the input is never written to (except through ``out``).
* Conversion: floats as they are; signed PCM ``x / 2**(bits-1)``; unsigned PCM
  ``(x - 2**(bits-1)) / 2**(bits-1)``; computed in float64 and rounded once to float32, so a
  float64 beyond the float32 range becomes +-inf.
* ``limit`` (a clip level in float32 units of full scale, 1.0 = 0 dBFS): a real number >= 0,
  ``inf`` allowed (no clipping); it is rounded once to float32 and compared in float32.
* ``out=``: a preallocated writable C-contiguous float32 array of exactly the result's shape;
  the kernel writes into it and returns it, so a hot loop allocates nothing.  ``out`` may be the
  input itself when the input is float32 of that shape (in-place).
* Errors: ``ValueError`` (never ``TypeError``) for an unsupported dtype, a wrong ndim, a
  ``(frames, 0)`` array, a bad ``limit``, ``frame``/``hop`` or ``out``.
* Threading: every kernel is re-entrant and keeps no state.  The loop runs with the GIL released
  when the input holds at least :data:`NOGIL_MIN_SAMPLES` samples (smaller blocks keep the GIL:
  releasing it costs more than the loop and could make an audio callback wait a whole switch
  interval to take it back).
"""

from typing import Any

import numpy as np
import numpy.typing as npt

from voiceflow_core._results import RepairCounts, ScanResult

NOGIL_MIN_SAMPLES: int
"""Inputs with at least this many samples are processed with the GIL released."""

_Float32Array = npt.NDArray[np.float32]

def scan(x: npt.ArrayLike, limit: float) -> ScanResult:
    """One read-only pass over every sample of ``x`` (any shape, 0-D included), as float32.

    Returns ``ScanResult(nan, posinf, neginf, over_limit, peak)``: counts of NaN, +inf and -inf
    samples (float64 beyond the float32 range counts as inf), of finite samples with
    ``|x| > limit``, and ``peak``, the largest finite ``|x|`` (0.0 when there is none; NaN and
    inf never set it).
    """

def to_float32(x: npt.ArrayLike, out: _Float32Array | None = None) -> _Float32Array:
    """1-D ``(samples,)`` or 2-D ``(frames, channels)`` of any supported dtype -> float32 of the
    same shape, PCM scaled into [-1, 1).  NaN and inf pass through unchanged."""

def downmix(x: npt.ArrayLike, out: _Float32Array | None = None) -> _Float32Array:
    """``(frames, channels)`` (or 1-D mono) -> 1-D float32 ``(frames,)``.

    Per frame: ``s = v[0]; s += v[1]; ...`` in float64 over the converted samples, then
    ``s / channels`` rounded once to float32.  NaN and inf propagate (``+inf`` and ``-inf`` in
    one frame give NaN).  No repair, no clipping.
    """

def repair_clip(
    x: npt.ArrayLike, limit: float, out: _Float32Array | None = None
) -> tuple[_Float32Array, RepairCounts]:
    """1-D samples -> float32 with NaN -> 0.0, +inf -> +32.0, -inf -> -32.0, then every sample
    clipped to ``[-limit, +limit]``; one pass.  ``out`` may be ``x`` itself (float32, in place).

    Counts: ``nan``, ``posinf``, ``neginf`` are the replaced samples; ``clipped`` counts finite
    samples with ``|x| > limit`` (a replaced infinity then limited is not counted again).  The
    all-zero counts are a shared ``RepairCounts(0, 0, 0, 0)``.
    """

def sanitize(
    x: npt.ArrayLike, limit: float, out: _Float32Array | None = None
) -> tuple[_Float32Array, RepairCounts]:
    """The audio-callback hot path: a raw 1-D or ``(frames, channels)`` block of any supported
    dtype -> convert -> downmix -> repair -> clip, fused in one pass, to 1-D float32
    ``(frames,)`` that is finite and within ``+-limit``.

    Counts are per output sample, after downmix (a frame whose mean is NaN counts once).  With
    ``out=`` a C-contiguous 512-frame block costs well under a microsecond (about 0.2 us for
    float32 mono, 0.3 us for int16 stereo on the 2-core dev machine; without ``out=`` add the
    allocation, about 0.15 us) and allocates only when something needed repair (the counts
    tuple).  A C-contiguous ndarray in native byte order is read off one buffer request, with
    no further argument checks.
    """

def frame_energy(
    x: npt.ArrayLike, frame: int, hop: int, out: _Float32Array | None = None
) -> _Float32Array:
    """RMS of each window of ``frame`` samples, windows starting ``hop`` samples apart, as
    float32 ``(n,)`` with ``n = 0 if len(x) < frame else 1 + (len(x) - frame) // hop``.

    ``x``: 1-D samples of any supported dtype (converted to float32 values first); squares are
    summed in float64 in sample order.  ``frame`` and ``hop`` are integers >= 1.  A window
    holding NaN gives NaN; one holding inf gives inf.
    """

def check_samples(x: Any, kernel: str, min_ndim: int, max_ndim: int) -> tuple[np.ndarray, int]:
    """Internal: the validated input array (float16 viewed as uint16) and its sample code."""

def check_limit(limit: Any, kernel: str) -> float:
    """Internal: ``limit`` validated and rounded to float32."""

def check_count(value: Any, name: str, kernel: str, minimum: int) -> int:
    """Internal: an integer argument validated to be ``>= minimum``."""
