"""Numba backend: ``@njit(nogil=True, cache=True)`` twins of the compiled kernels.

Same arithmetic, same summation order and the same argument checks as the reference
(``_kernels_numpy``), so results are bit-identical (``frame_energy`` within 1e-6 relative).
Inputs are made C-contiguous (a copy only when they are not; float16 becomes float32, exactly)
and 1-D inputs are viewed as one channel, so each kernel compiles once per sample dtype;
:func:`warm_up` compiles (or loads from numba's cache) every specialisation up front so no audio
callback ever pays for compilation.
Importing this module imports numba; ``voiceflow_core`` does so only when the backend is chosen.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from voiceflow_core import _kernels_numpy as reference
from voiceflow_core._kernels_numpy import (
    check_count,
    check_limit,
    check_out,
    check_samples,
    n_energy_frames,
)
from voiceflow_core._results import CLEAN, RepairCounts, ScanResult

def _sample_format(x: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(array, offset, scale)``: each sample's value is ``(float64(x) - offset) * scale``.

    Exact for every dtype: floats get ``(v - 0.0) * 1.0 == v`` (signed zeros, NaN and inf kept),
    PCM gets power-of-two scaling.  float16 travels as float32 (an exact conversion).
    """
    if x.dtype == np.float16:
        return x.astype(np.float32), 0.0, 1.0
    offset, scale = _FORMATS[x.dtype]
    return x, offset, scale


def _pcm_format(dtype: np.dtype) -> tuple[float, float]:
    if dtype.kind == "f":
        return 0.0, 1.0
    half_range = 2.0 ** (dtype.itemsize * 8 - 1)
    return (half_range if dtype.kind == "u" else 0.0), 1.0 / half_range


_FORMATS = {dtype: _pcm_format(dtype) for dtype in reference.SUPPORTED_DTYPES}


def _as_rows(x: np.ndarray) -> np.ndarray:
    """A C-contiguous ``(frames, channels)`` view (1-D -> one channel); copies only if strided."""
    x = np.ascontiguousarray(x)
    return x.reshape(x.shape[0], 1) if x.ndim == 1 else x


# --- kernels ---------------------------------------------------------------------------------

_FLOAT32_MAX = np.float32(np.finfo(np.float32).max)


@njit(nogil=True, cache=True)
def _mono_rows(x, offset, scale, out, repair, limit):
    """Every row of ``x`` -> mono float32 in ``out`` (same length); returns the repair
    counts ``(nan, posinf, neginf, clipped)`` (see _kernels.pxd for the arithmetic).

    A branch-free convert/downmix pass notes whether any result fails ``|v| <= limit``; the
    repair pass runs only when one did.
    """
    channels = x.shape[1]
    bound = min(limit, _FLOAT32_MAX)  # inf must fail the check
    suspect = 0
    if channels == 1:
        for i in range(x.shape[0]):
            v = np.float32((np.float64(x[i, 0]) - offset) * scale)
            out[i] = v
            suspect |= np.int32(not (abs(v) <= bound))
    elif channels == 2:
        for i in range(x.shape[0]):
            left = (np.float64(x[i, 0]) - offset) * scale
            right = (np.float64(x[i, 1]) - offset) * scale
            v = np.float32((left + right) * 0.5)
            out[i] = v
            suspect |= np.int32(not (abs(v) <= bound))
    else:
        power_of_two = (channels & (channels - 1)) == 0  # then * (1 / channels) is exact
        reciprocal = 1.0 / channels
        for i in range(x.shape[0]):
            total = (np.float64(x[i, 0]) - offset) * scale
            for c in range(1, channels):
                total += (np.float64(x[i, c]) - offset) * scale
            if power_of_two:
                total = total * reciprocal
            else:
                total = total / channels
            v = np.float32(total)
            out[i] = v
            suspect |= np.int32(not (abs(v) <= bound))
    if repair and suspect:
        return _repair(out, limit)
    return 0, 0, 0, 0


@njit(nogil=True, cache=True)
def _pcm16_pass(x, out, limit):
    """The convert/downmix pass of :func:`_mono_rows` for C-contiguous int16 PCM, 1-D or
    ``(frames, channels)``, into ``out``, as the Cython kernel does it: with one or two channels
    every float64 step of the contract is exact, and so is float32 arithmetic on the integer
    sum (``|sum| < 2**17``), so a float32 loop over the flat samples (which vectorises) gives
    the same bits.  Returns 1 when a result fails ``|v| <= float32(limit)`` (then
    :func:`_repair` must run), 0 when none does, and -1, having written nothing, when ``out``
    does not hold ``frames`` samples or there are no or more than two channels."""
    frames = x.shape[0]
    channels = (x.shape + (1,))[1]  # 1-D: one channel
    if out.shape[0] != frames or channels == 0 or channels > 2:
        return -1
    flat = x.reshape(x.size)
    bound = min(np.float32(limit), _FLOAT32_MAX)  # inf must fail the check
    suspect = 0
    if channels == 1:
        unit = np.float32(2.0**-15)
        for i in range(frames):
            v = np.float32(flat[i]) * unit
            out[i] = v
            suspect |= np.int32(not (abs(v) <= bound))
    else:
        unit = np.float32(2.0**-16)
        for i in range(frames):
            v = np.float32(np.int32(flat[2 * i]) + np.int32(flat[2 * i + 1])) * unit
            out[i] = v
            suspect |= np.int32(not (abs(v) <= bound))
    return suspect


@njit(nogil=True, cache=True)
def _repair(out, limit):
    """NaN -> 0, +-inf -> +-min(32, limit), finite beyond +-limit -> +-limit, in place."""
    inf_value = np.float32(32.0) if limit >= 32.0 else limit
    nan = posinf = neginf = clipped = 0
    for i in range(out.shape[0]):
        v = out[i]
        if v != v:
            nan += 1
            out[i] = 0.0
        elif v == np.inf:
            posinf += 1
            out[i] = inf_value
        elif v == -np.inf:
            neginf += 1
            out[i] = -inf_value
        elif v > limit:
            clipped += 1
            out[i] = limit
        elif v < -limit:
            clipped += 1
            out[i] = -limit
    return nan, posinf, neginf, clipped


@njit(nogil=True, cache=True)
def _rows_into_ring(x, offset, scale, storage, total, limit):
    """Sanitize every row of ``x`` into ``storage`` at ``total % len(storage)``, wrapping;
    returns the summed counts."""
    capacity = storage.shape[0]
    n = x.shape[0]
    done = 0
    position = total % capacity
    nan = posinf = neginf = clipped = 0
    while done < n:
        part = min(n - done, capacity - position)
        a, b, c, d = _mono_rows(x[done : done + part], offset, scale,
                                storage[position : position + part], True, limit)
        nan += a
        posinf += b
        neginf += c
        clipped += d
        done += part
        position = 0
    return nan, posinf, neginf, clipped


@njit(nogil=True, cache=True)
def _scan(x, offset, scale, limit):
    """``(nan, posinf, neginf, over_limit, peak)`` over the float32-converted samples."""
    nan = posinf = neginf = over = 0
    peak = np.float32(0.0)
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = np.float32((np.float64(x[i, c]) - offset) * scale)
            if v != v:
                nan += 1
            elif v == np.inf:
                posinf += 1
            elif v == -np.inf:
                neginf += 1
            else:
                magnitude = abs(v)
                if magnitude > limit:
                    over += 1
                if magnitude > peak:
                    peak = magnitude
    return nan, posinf, neginf, over, peak


@njit(nogil=True, cache=True)
def _energy(x, offset, scale, frame, hop, out):
    for k in range(out.shape[0]):
        start = k * hop
        total = 0.0
        for j in range(frame):
            v = np.float64(np.float32((np.float64(x[start + j, 0]) - offset) * scale))
            total += v * v
        out[k] = np.float32(math.sqrt(total / frame))


# --- public wrappers -------------------------------------------------------------------------

def _result(out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    return np.empty(shape, np.float32) if out is None else out


def _counts(counts: tuple[int, int, int, int]) -> RepairCounts:
    return CLEAN if counts == (0, 0, 0, 0) else RepairCounts(*counts)


def _mono(x: np.ndarray, out: np.ndarray, repair: bool, limit: np.float32) -> tuple:
    rows, offset, scale = _sample_format(_as_rows(x))
    return _mono_rows(rows, offset, scale, out, repair, limit)


def scan(x, limit) -> ScanResult:
    x = check_samples(x, None, "scan")
    lim = check_limit(limit, "scan")
    rows, offset, scale = _sample_format(np.ascontiguousarray(x).reshape(-1, 1))
    nan, posinf, neginf, over, peak = _scan(rows, offset, scale, lim)
    return ScanResult(nan, posinf, neginf, over, float(peak))


def _mono_entry_call(fast: tuple, x: np.ndarray, limit: float, out) -> tuple | None:
    """``sanitize`` of C-contiguous aligned ``x`` through a precompiled entry point (no type
    dispatch); None when ``x`` is not 1-D or ``(frames, channels >= 1)``.  The entry point
    trusts its argument types, so this checks exactly what its signature says."""
    shape = x.shape
    if len(shape) == 2 and shape[1]:
        rows = x
    elif len(shape) == 1:
        rows = x.reshape(shape[0], 1)
    else:
        return None
    frames = shape[0]
    if out is None:
        out = _empty(frames, _F32)
    elif not (type(out) is _ndarray and out.dtype is _F32 and out.flags.carray
              and out.shape == (frames,)):  # carray: C-contiguous, aligned, writable
        out = check_out(out, (frames,), "sanitize")  # raises why, or it was fine after all
    entry, offset, scale = fast
    # a Python float becomes the float32 argument by check_limit's round-to-nearest
    counts = entry(rows, offset, scale, out, True, limit)
    return out, _counts(counts)


def to_float32(x, out=None) -> np.ndarray:
    x = check_samples(x, (1, 2), "to_float32")
    out = _result(check_out(out, x.shape, "to_float32"), x.shape)
    _mono(np.ascontiguousarray(x).reshape(-1), out.reshape(-1), False, np.float32(0.0))
    return out


def downmix(x, out=None) -> np.ndarray:
    x = check_samples(x, (1, 2), "downmix")
    out = _result(check_out(out, (x.shape[0],), "downmix"), (x.shape[0],))
    _mono(x, out, False, np.float32(0.0))
    return out


def repair_clip(x, limit, out=None) -> tuple[np.ndarray, RepairCounts]:
    x = check_samples(x, (1,), "repair_clip")
    lim = check_limit(limit, "repair_clip")
    out = _result(check_out(out, x.shape, "repair_clip"), x.shape)
    return out, _counts(_mono(x, out, True, lim))


def sanitize(x, limit, out=None) -> tuple[np.ndarray, RepairCounts]:
    if type(limit) is float and limit >= 0.0 and type(x) is _ndarray:  # NaN fails too
        # Hot paths (an audio callback's C-contiguous block) with only the checks numba's own
        # dispatch does not make; anything they do not take goes down the general path.
        if x.dtype is _I16 and _pcm16_ready:
            # int16 PCM: _pcm16_pass is compiled for exactly C-contiguous aligned int16 1-D/2-D
            # x (writable or not), a writable C-contiguous float32 out and a float64 limit, and
            # compiles nothing at call time, so its dispatch (in C) refuses any other argument.
            target = _empty(x.shape[0], _F32) if out is None and x.ndim else out
            try:
                suspect = _pcm16_pass(x, target, limit)
            except TypeError:
                suspect = -1
            if suspect == 0:
                return target, CLEAN
            if suspect == 1:
                return target, _counts(_repair(target, check_limit(limit, "sanitize")))
        else:
            fast = _MONO_ENTRY.get(x.dtype)
            if fast is not None and (flags := x.flags).c_contiguous and flags.aligned:
                result = _mono_entry_call(fast, x, limit, out)
                if result is not None:
                    return result
    x = check_samples(x, (1, 2), "sanitize")
    lim = check_limit(limit, "sanitize")
    out = _result(check_out(out, (x.shape[0],), "sanitize"), (x.shape[0],))
    return out, _counts(_mono(x, out, True, lim))


def frame_energy(x, frame, hop, out=None) -> np.ndarray:
    x = check_samples(x, (1,), "frame_energy")
    frame = check_count(frame, "frame", "frame_energy", 1)
    hop = check_count(hop, "hop", "frame_energy", 1)
    n = n_energy_frames(x.shape[0], frame, hop)
    out = _result(check_out(out, (n,), "frame_energy"), (n,))
    rows, offset, scale = _sample_format(_as_rows(x))
    _energy(rows, offset, scale, frame, hop, out)
    return out


class RingBuffer(reference.RingBuffer):
    """The reference ring with ``write_sanitized`` done by the numba kernel straight into the
    ring's storage (no intermediate array)."""

    def write_sanitized(self, raw, limit) -> RepairCounts:
        x = check_samples(raw, (1, 2), "RingBuffer.write_sanitized")
        lim = check_limit(limit, "RingBuffer.write_sanitized")
        rows, offset, scale = _sample_format(_as_rows(x))
        with self._lock:
            counts = _rows_into_ring(rows, offset, scale, self._storage, self._total, lim)
            self._total += rows.shape[0]
        return _counts(counts)


_WARM_DTYPES = tuple(dt for dt in reference.SUPPORTED_DTYPES if dt != np.float16)  # f16 -> f32


def warm_up() -> None:
    """Compile (or load from cache) every kernel for every sample dtype, then note the entry
    points :func:`sanitize`'s hot path calls."""
    for dtype in _WARM_DTYPES:
        block = np.zeros((4, 2), dtype)
        sanitize(block, 1.0)
        scan(block, 1.0)
        frame_energy(block[:, 0].copy(), 2, 1)
        to_float32(block)
        repair_clip(block[:, 0].copy(), 1.0)
        RingBuffer(3).write_sanitized(block, 1.0)
        block.setflags(write=False)  # read-only input (np.frombuffer of a stream's bytes) is
        sanitize(block, 1.0)  # another numba type: compile it here, not in an audio callback
        RingBuffer(3).write_sanitized(block, 1.0)
    for block in (np.zeros((4, 2), np.int16), np.zeros(4, np.int16)):
        _pcm16_pass(block, np.empty(4, np.float32), 1.0)
        block.setflags(write=False)  # e.g. np.frombuffer of a stream's bytes
        _pcm16_pass(block, np.empty(4, np.float32), 1.0)
    _pcm16_pass.disable_compile()  # see sanitize: other argument types must raise TypeError
    _MONO_ENTRY.update(_mono_entry_points())
    global _pcm16_ready
    _pcm16_ready = True


_ndarray = np.ndarray
_empty = np.empty
_F32 = np.dtype(np.float32)
_I16 = np.dtype(np.int16)
_pcm16_ready = False  # warm_up has compiled _pcm16_pass's signatures and frozen them
_MONO_ENTRY: dict[np.dtype, tuple] = {}
"""Sample dtype -> ``(entry, offset, scale)``: ``entry`` is ``_mono_rows`` compiled for a
C-contiguous 2-D array of that dtype and a writable C-contiguous float32 ``out``."""


def _mono_entry_points() -> dict[np.dtype, tuple]:
    """The compiled specialisations of ``_mono_rows`` the hot path calls.  An entry point is the
    compiled function without numba's per-call type dispatch (about 0.3 us of a 512-frame
    call); it trusts its arguments (see :func:`_mono_entry_call`)."""
    from numba import types
    from numba.np.numpy_support import as_dtype

    def c_array(t, ndim, dtype=None) -> bool:
        return (isinstance(t, types.Array) and t.ndim == ndim and t.layout == "C" and t.aligned
                and (dtype is None or t.dtype == dtype))  # fmt: skip

    entries = {}
    for signature, compiled in _mono_rows.overloads.items():
        rows, offset, scale, out, repair, limit = signature
        if (
            c_array(rows, 2) and offset == types.float64 and scale == types.float64
            and c_array(out, 1, types.float32) and out.mutable
            and repair == types.boolean and limit == types.float32
        ):  # fmt: skip
            dtype = as_dtype(rows.dtype)
            if dtype in _FORMATS and dtype != np.float16:
                entries[dtype] = (compiled.entry_point, *_FORMATS[dtype])
    return entries
