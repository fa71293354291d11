# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False, language_level=3
"""Compiled audio kernels (the ``cython`` backend).  Contract and docs: ``_kernels_cy.pyi``.

Each ``def`` validates its arguments, picks the ``nogil`` kernel for the input dtype and runs it
with the GIL released once the input holds at least ``NOGIL_MIN_SAMPLES`` samples (below that,
dropping and re-taking the GIL costs more than the loop and can stall an audio callback for a
whole switch interval).
"""

from cpython.buffer cimport (
    PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_STRIDES, PyBUF_WRITABLE, PyBuffer_Release,
    PyObject_GetBuffer,
)
from libc.math cimport INFINITY, fabsf, sqrt
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t

from voiceflow_core._kernels cimport (
    F16, F32, F64, I8, I16, I32, I64, U8, U16, U32, UNSUPPORTED,
    FINITE_LIMIT_BITS, as_double, buffer_is_c_contiguous, contiguous_mono, contiguous_peak_bits,
    float_from_bits, repair_counts, sample_code, sample_t,
)

import operator
import sys

import numpy as np

from voiceflow_core._kernels_numpy import _SUPPORTED_NAMES  # the one dtype list
from voiceflow_core._results import CLEAN, RepairCounts, ScanResult

NOGIL_MIN_SAMPLES = 16384
cdef Py_ssize_t _NOGIL_MIN = NOGIL_MIN_SAMPLES

cdef object _tuple_new = tuple.__new__  # builds the result namedtuples without their __new__
cdef object _ndarray = np.ndarray
cdef object _empty = np.empty
cdef object _float32 = np.dtype(np.float32)
cdef object _uint16 = np.dtype(np.uint16)


# --- argument checks -----------------------------------------------------------------------------

def _ndim_text(int low, int high):
    if high - low >= 3:
        return f"{low}-D or more"
    return " or ".join([f"{n}-D" for n in range(low, high + 1)])


cpdef tuple check_samples(object x, str kernel, int min_ndim, int max_ndim):
    """``(array, SampleCode)``: ``x`` as a native-order ndarray of a supported dtype (float16 is
    returned viewed as uint16 with code F16) whose ndim lies in ``[min_ndim, max_ndim]``."""
    if type(x) is not _ndarray and not isinstance(x, _ndarray):
        try:
            x = np.asarray(x)
        except Exception as exc:
            raise ValueError(f"{kernel}: cannot convert input to an array ({exc})") from None
    dtype = x.dtype
    cdef int code = sample_code(dtype.num)
    if code == UNSUPPORTED:
        raise ValueError(
            f"{kernel}: unsupported dtype {dtype}; supported dtypes are {_SUPPORTED_NAMES}"
        )
    if not dtype.isnative:
        x = x.astype(dtype.newbyteorder("="))
    cdef int ndim = x.ndim
    if ndim < min_ndim or ndim > max_ndim:
        raise ValueError(
            f"{kernel}: expected a {_ndim_text(min_ndim, max_ndim)} array, got shape {x.shape}"
        )
    if ndim == 2 and x.shape[1] == 0:
        raise ValueError(f"{kernel}: a (frames, channels) array needs at least one channel")
    if code == F16:
        x = x.view(_uint16)
    return x, code


cpdef float check_limit(object limit, str kernel) except? -1.0:
    """The clip limit rounded once to float32: a real number ``>= 0`` (``inf`` allowed)."""
    cdef double value
    try:
        value = limit
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{kernel}: limit must be a real number, got {limit!r}") from None
    if not value >= 0.0:
        raise ValueError(f"{kernel}: limit must be >= 0, got {limit!r}")
    return <float>value


cdef float[::1] _out_1d(object out, Py_ssize_t n, str kernel):
    """A view of ``out``: it must be a writable C-contiguous float32 ndarray of shape ``(n,)``."""
    cdef float[::1] view
    if type(out) is not _ndarray and not isinstance(out, _ndarray):
        raise ValueError(f"{kernel}: out must be a float32 ndarray")
    try:
        view = out
    except (ValueError, TypeError, BufferError):
        raise ValueError(
            f"{kernel}: out must be a writeable, C-contiguous float32 array of shape ({n},)"
        ) from None
    if view.shape[0] != n:
        raise ValueError(f"{kernel}: out has shape {out.shape}, expected ({n},)")
    return view


cdef float[:, ::1] _out_2d(object out, Py_ssize_t rows, Py_ssize_t columns, str kernel):
    """A view of ``out``: a writable C-contiguous float32 ndarray of shape ``(rows, columns)``."""
    cdef float[:, ::1] view
    if type(out) is not _ndarray and not isinstance(out, _ndarray):
        raise ValueError(f"{kernel}: out must be a float32 ndarray")
    try:
        view = out
    except (ValueError, TypeError, BufferError):
        raise ValueError(
            f"{kernel}: out must be a writeable, C-contiguous float32 array of shape "
            f"({rows}, {columns})"
        ) from None
    if view.shape[0] != rows or view.shape[1] != columns:
        raise ValueError(f"{kernel}: out has shape {out.shape}, expected ({rows}, {columns})")
    return view


cdef inline object _counts(repair_counts* c):
    if c.nan == 0 and c.posinf == 0 and c.neginf == 0 and c.clipped == 0:
        return CLEAN
    return _tuple_new(RepairCounts, (c.nan, c.posinf, c.neginf, c.clipped))


# --- typed runners (one specialisation per sample type) ------------------------------------------

cdef void _run_convert(const sample_t[:, :] x, bint half, float[:, ::1] out):
    if x.shape[0] * x.shape[1] >= _NOGIL_MIN:
        with nogil:
            _convert_kernel(x, half, out)
    else:
        _convert_kernel(x, half, out)


cdef void _convert_kernel(const sample_t[:, :] x, bint half, float[:, ::1] out) noexcept nogil:
    cdef Py_ssize_t i, c
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            out[i, c] = <float>as_double(x[i, c], half)


ctypedef struct scan_counts:
    Py_ssize_t nan
    Py_ssize_t posinf
    Py_ssize_t neginf
    Py_ssize_t over_limit
    float peak


cdef void _run_scan(const sample_t[:, :] x, bint half, float limit, scan_counts* r):
    if x.shape[0] * x.shape[1] >= _NOGIL_MIN:
        with nogil:
            _scan_rows(x, half, limit, r)
    else:
        _scan_rows(x, half, limit, r)


cdef void _run_scan_1d(const sample_t[:] x, bint half, float limit, scan_counts* r):
    if x.shape[0] >= _NOGIL_MIN:
        with nogil:
            _scan_samples(x, half, limit, r)
    else:
        _scan_samples(x, half, limit, r)


# Counts of NaN / +inf / -inf / finite |v| > limit and the finite peak, over the samples
# converted to float32.  Contiguous input whose samples are all finite and within the limit
# (the usual case) is settled by one vectorised peak pass.

cdef inline bint _settled_by_peak(const sample_t* x, bint half, Py_ssize_t count, float limit,
                                  scan_counts* r) noexcept nogil:
    cdef int32_t peak_bits = contiguous_peak_bits(x, half, count)
    if peak_bits < FINITE_LIMIT_BITS and float_from_bits(peak_bits) <= limit:
        r.peak = float_from_bits(peak_bits)
        return True
    return False


cdef inline void _scan_one(float v, float limit, scan_counts* r) noexcept nogil:
    cdef float magnitude
    if v != v:
        r.nan += 1
    elif v == INFINITY:
        r.posinf += 1
    elif v == -INFINITY:
        r.neginf += 1
    else:
        magnitude = fabsf(v)
        if magnitude > limit:
            r.over_limit += 1
        if magnitude > r.peak:
            r.peak = magnitude


cdef void _scan_rows(const sample_t[:, :] x, bint half, float limit,
                     scan_counts* r) noexcept nogil:
    cdef Py_ssize_t i, c
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            _scan_one(<float>as_double(x[i, c], half), limit, r)


cdef void _scan_samples(const sample_t[:] x, bint half, float limit,
                        scan_counts* r) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        _scan_one(<float>as_double(x[i], half), limit, r)


cdef void _run_energy(const sample_t[:] x, bint half, Py_ssize_t frame, Py_ssize_t hop,
                      float[::1] out):
    if out.shape[0] * frame >= _NOGIL_MIN:
        with nogil:
            _energy_kernel(x, half, frame, hop, out)
    else:
        _energy_kernel(x, half, frame, hop, out)


cdef void _energy_kernel(const sample_t[:] x, bint half, Py_ssize_t frame, Py_ssize_t hop,
                         float[::1] out) noexcept nogil:
    """RMS of window k = samples ``k*hop : k*hop+frame`` (as float32 values), summed in order
    in float64."""
    cdef Py_ssize_t k, j, start
    cdef double total, v
    for k in range(out.shape[0]):
        start = k * hop
        total = 0.0
        for j in range(frame):
            v = <float>as_double(x[start + j], half)
            total += v * v
        out[k] = <float>sqrt(total / frame)


# --- dispatch on the sample code ------------------------------------------------------------------

cdef void _convert(object x, int code, float[:, ::1] out) except *:
    cdef bint half = code == F16
    if code == F32:
        _run_convert[float](x, half, out)
    elif code == I16:
        _run_convert[int16_t](x, half, out)
    elif code == F64:
        _run_convert[double](x, half, out)
    elif code == I32:
        _run_convert[int32_t](x, half, out)
    elif code == I8:
        _run_convert[int8_t](x, half, out)
    elif code == I64:
        _run_convert[int64_t](x, half, out)
    elif code == U8:
        _run_convert[uint8_t](x, half, out)
    elif code == U16 or code == F16:
        _run_convert[uint16_t](x, half, out)
    else:
        _run_convert[uint32_t](x, half, out)


cdef void _scan(object x, int code, float limit, scan_counts* r) except *:
    cdef bint half = code == F16
    if x.ndim == 1:
        if code == F32:
            _run_scan_1d[float](x, half, limit, r)
        elif code == I16:
            _run_scan_1d[int16_t](x, half, limit, r)
        elif code == F64:
            _run_scan_1d[double](x, half, limit, r)
        elif code == I32:
            _run_scan_1d[int32_t](x, half, limit, r)
        elif code == I8:
            _run_scan_1d[int8_t](x, half, limit, r)
        elif code == I64:
            _run_scan_1d[int64_t](x, half, limit, r)
        elif code == U8:
            _run_scan_1d[uint8_t](x, half, limit, r)
        elif code == U16 or code == F16:
            _run_scan_1d[uint16_t](x, half, limit, r)
        else:
            _run_scan_1d[uint32_t](x, half, limit, r)
    elif code == F32:
        _run_scan[float](x, half, limit, r)
    elif code == I16:
        _run_scan[int16_t](x, half, limit, r)
    elif code == F64:
        _run_scan[double](x, half, limit, r)
    elif code == I32:
        _run_scan[int32_t](x, half, limit, r)
    elif code == I8:
        _run_scan[int8_t](x, half, limit, r)
    elif code == I64:
        _run_scan[int64_t](x, half, limit, r)
    elif code == U8:
        _run_scan[uint8_t](x, half, limit, r)
    elif code == U16 or code == F16:
        _run_scan[uint16_t](x, half, limit, r)
    else:
        _run_scan[uint32_t](x, half, limit, r)


cdef void _energy(object x, int code, Py_ssize_t frame, Py_ssize_t hop, float[::1] out) except *:
    cdef bint half = code == F16
    if code == F32:
        _run_energy[float](x, half, frame, hop, out)
    elif code == I16:
        _run_energy[int16_t](x, half, frame, hop, out)
    elif code == F64:
        _run_energy[double](x, half, frame, hop, out)
    elif code == I32:
        _run_energy[int32_t](x, half, frame, hop, out)
    elif code == I8:
        _run_energy[int8_t](x, half, frame, hop, out)
    elif code == I64:
        _run_energy[int64_t](x, half, frame, hop, out)
    elif code == U8:
        _run_energy[uint8_t](x, half, frame, hop, out)
    elif code == U16 or code == F16:
        _run_energy[uint16_t](x, half, frame, hop, out)
    else:
        _run_energy[uint32_t](x, half, frame, hop, out)


# --- the contiguous fast path: plain buffers, no memoryview objects -------------------------------
# Acquiring a typed memoryview costs a few hundred nanoseconds, as much as a whole 512-frame
# kernel; C-contiguous inputs (the audio-callback case) go straight to the pointer kernels.

cdef int _acquire_out(object out, Py_buffer* view, Py_ssize_t n, str kernel) except -1:
    """Get ``out``'s buffer: it must be a writable C-contiguous float32 ndarray of ``(n,)``."""
    if type(out) is not _ndarray and not isinstance(out, _ndarray):
        raise ValueError(f"{kernel}: out must be a float32 ndarray")
    try:
        PyObject_GetBuffer(out, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    except (ValueError, TypeError, BufferError):
        raise ValueError(
            f"{kernel}: out must be a writeable, C-contiguous float32 array of shape ({n},)"
        ) from None
    if (view.ndim != 1 or view.itemsize != 4 or view.format == NULL or view.format[0] != b"f"
            or view.format[1] != 0):
        PyBuffer_Release(view)
        raise ValueError(f"{kernel}: out must be a float32 array of shape ({n},)")
    if view.shape[0] != n:
        PyBuffer_Release(view)
        raise ValueError(f"{kernel}: out has shape {out.shape}, expected ({n},)")
    return 0


cdef bint _contiguous_peak(const void* data, int code, Py_ssize_t count, float limit,
                           scan_counts* r) noexcept nogil:
    cdef bint half = code == F16
    if code == F32:
        return _settled_by_peak(<const float*>data, half, count, limit, r)
    elif code == I16:
        return _settled_by_peak(<const int16_t*>data, half, count, limit, r)
    elif code == F64:
        return _settled_by_peak(<const double*>data, half, count, limit, r)
    elif code == I32:
        return _settled_by_peak(<const int32_t*>data, half, count, limit, r)
    elif code == I8:
        return _settled_by_peak(<const int8_t*>data, half, count, limit, r)
    elif code == I64:
        return _settled_by_peak(<const int64_t*>data, half, count, limit, r)
    elif code == U8:
        return _settled_by_peak(<const uint8_t*>data, half, count, limit, r)
    elif code == U16 or code == F16:
        return _settled_by_peak(<const uint16_t*>data, half, count, limit, r)
    else:
        return _settled_by_peak(<const uint32_t*>data, half, count, limit, r)


cdef void _run_contiguous_mono(const void* data, int code, Py_ssize_t frames,
                               Py_ssize_t channels, float* out, bint repair, float limit,
                               repair_counts* counts) noexcept:
    if frames * channels >= _NOGIL_MIN:
        with nogil:
            contiguous_mono(data, code, frames, channels, out, repair, limit, counts)
    else:
        contiguous_mono(data, code, frames, channels, out, repair, limit, counts)


cdef object _mono_into(Py_buffer* source, int code, object out, bint repair, float limit,
                       repair_counts* counts, str kernel):
    """Mono float32 of the C-contiguous 1-D or 2-D ``source`` into ``out`` (new when None,
    else checked), which is returned."""
    cdef Py_buffer target
    cdef Py_ssize_t frames = source.shape[0]
    cdef Py_ssize_t channels = source.shape[1] if source.ndim == 2 else 1
    if out is None:
        out = _empty(frames, _float32)
        PyObject_GetBuffer(out, &target, PyBUF_WRITABLE)  # ours: float32, (frames,)
    else:
        _acquire_out(out, &target, frames, kernel)
    try:
        _run_contiguous_mono(source.buf, code, frames, channels, <float*>target.buf, repair,
                             limit, counts)
    finally:
        PyBuffer_Release(&target)
    return out


cdef object _mono_entry(object x, int code, object out, bint repair, float limit,
                        repair_counts* counts, str kernel):
    """The body of downmix / repair_clip / sanitize / to_float32 (1-D): ``x`` (1-D or 2-D,
    checked) -> mono float32 in ``out`` (new when None), which is returned."""
    cdef Py_buffer source
    PyObject_GetBuffer(x, &source, PyBUF_STRIDES)
    if not buffer_is_c_contiguous(&source):  # strided or Fortran order: a compact copy
        PyBuffer_Release(&source)
        x = np.ascontiguousarray(x)
        PyObject_GetBuffer(x, &source, PyBUF_STRIDES)
    try:
        return _mono_into(&source, code, out, repair, limit, counts, kernel)
    finally:
        PyBuffer_Release(&source)


cdef int _format_code(const char* fmt, Py_ssize_t itemsize) noexcept nogil:
    """A buffer's struct format (native byte order only) -> SampleCode, or UNSUPPORTED."""
    if fmt == NULL or fmt[0] == 0 or fmt[1] != 0:
        return UNSUPPORTED  # a byte-order prefix, a composite format, ...
    cdef char kind = fmt[0]
    if kind == b"f":
        return F32
    if kind == b"d":
        return F64
    if kind == b"e":
        return F16
    if kind == b"b" or kind == b"h" or kind == b"i" or kind == b"l" or kind == b"q":
        return I8 if itemsize == 1 else I16 if itemsize == 2 else I32 if itemsize == 4 else I64
    if kind == b"B" or kind == b"H" or kind == b"I" or kind == b"L":
        return (U8 if itemsize == 1 else U16 if itemsize == 2 else U32 if itemsize == 4
                else UNSUPPORTED)
    return UNSUPPORTED


cdef object _contiguous_entry(object x, object out, bint repair, float limit,
                              repair_counts* counts, str kernel):
    """:func:`_mono_entry` for the audio-callback case, read off one buffer request: ``x`` an
    exact ndarray, C-contiguous, 1-D or 2-D with at least one channel, of a supported dtype in
    native order.  Returns None (having done nothing) for any other ``x``; the caller then
    takes the checked path."""
    cdef Py_buffer source
    cdef int code
    if type(x) is not _ndarray:
        return None
    try:
        PyObject_GetBuffer(x, &source, PyBUF_STRIDES | PyBUF_FORMAT)
    except Exception:  # dtypes without a buffer format (datetime, ...): the checked path says why
        return None
    try:
        code = _format_code(source.format, source.itemsize)
        if (code == UNSUPPORTED or source.ndim < 1 or source.ndim > 2
                or (source.ndim == 2 and source.shape[1] == 0) or not buffer_is_c_contiguous(&source)):
            return None
        return _mono_into(&source, code, out, repair, limit, counts, kernel)
    finally:
        PyBuffer_Release(&source)


# --- public kernels -------------------------------------------------------------------------------

def scan(x, limit):
    """Counts of NaN, +inf, -inf and finite ``|x| > limit`` samples of ``x`` (any shape, as
    float32) and the largest finite ``|x|``, as ``ScanResult``.  Read-only."""
    cdef float lim = check_limit(limit, "scan")
    cdef int code
    x, code = check_samples(x, "scan", 0, 32)
    cdef int ndim = x.ndim
    if ndim == 0 or ndim > 2:
        x = x.reshape(-1)
    cdef scan_counts r = scan_counts(0, 0, 0, 0, 0.0)
    cdef Py_buffer source
    cdef bint settled = False
    cdef Py_ssize_t count
    PyObject_GetBuffer(x, &source, PyBUF_STRIDES)
    try:
        if buffer_is_c_contiguous(&source):
            count = source.len // source.itemsize
            if count >= _NOGIL_MIN:
                with nogil:
                    settled = _contiguous_peak(source.buf, code, count, lim, &r)
            else:
                settled = _contiguous_peak(source.buf, code, count, lim, &r)
    finally:
        PyBuffer_Release(&source)
    if not settled:
        r = scan_counts(0, 0, 0, 0, 0.0)
        _scan(x, code, lim, &r)
    return _tuple_new(ScanResult, (r.nan, r.posinf, r.neginf, r.over_limit, <double>r.peak))


def to_float32(x, out=None):
    """1-D or 2-D samples of any supported dtype -> float32 of the same shape, PCM scaled into
    [-1, 1)."""
    cdef int code
    x, code = check_samples(x, "to_float32", 1, 2)
    cdef repair_counts unused = repair_counts(0, 0, 0, 0)
    if x.ndim == 1:
        return _mono_entry(x, code, out, False, 0.0, &unused, "to_float32")
    if out is None:
        out = _empty(x.shape, _float32)
    _convert(x, code, _out_2d(out, x.shape[0], x.shape[1], "to_float32"))
    return out


def downmix(x, out=None):
    """``(frames, channels)`` or 1-D -> 1-D float32: float64 mean per frame, rounded once."""
    cdef int code
    cdef repair_counts unused = repair_counts(0, 0, 0, 0)
    result = _contiguous_entry(x, out, False, 0.0, &unused, "downmix")
    if result is None:
        x, code = check_samples(x, "downmix", 1, 2)
        result = _mono_entry(x, code, out, False, 0.0, &unused, "downmix")
    return result


def repair_clip(x, limit, out=None):
    """1-D samples -> ``(float32, RepairCounts)``: NaN -> 0, +-inf -> +-32, clipped to
    ``+-limit``.  ``out`` may be ``x`` (in place)."""
    cdef float lim = check_limit(limit, "repair_clip")
    cdef int code
    x, code = check_samples(x, "repair_clip", 1, 1)
    cdef repair_counts counts = repair_counts(0, 0, 0, 0)
    out = _mono_entry(x, code, out, True, lim, &counts, "repair_clip")
    return out, _counts(&counts)


def sanitize(x, limit, out=None):
    """Raw 1-D or ``(frames, channels)`` block -> ``(float32 (frames,), RepairCounts)``: convert,
    downmix, repair and clip fused in one pass (the audio-callback hot path)."""
    cdef float lim = check_limit(limit, "sanitize")
    cdef int code
    cdef repair_counts counts = repair_counts(0, 0, 0, 0)
    result = _contiguous_entry(x, out, True, lim, &counts, "sanitize")
    if result is None:
        x, code = check_samples(x, "sanitize", 1, 2)
        result = _mono_entry(x, code, out, True, lim, &counts, "sanitize")
    return result, _counts(&counts)


cpdef Py_ssize_t check_count(object value, str name, str kernel, Py_ssize_t minimum) except -1:
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{kernel}: {name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{kernel}: {name} must be >= {minimum}, got {number}")
    if number > sys.maxsize:
        raise ValueError(f"{kernel}: {name} is too large, got {number}")
    return number


def frame_energy(x, frame, hop, out=None):
    """RMS (float32) of each ``frame``-sample window of 1-D ``x``, windows ``hop`` samples apart."""
    cdef int code
    x, code = check_samples(x, "frame_energy", 1, 1)
    cdef Py_ssize_t frame_len = check_count(frame, "frame", "frame_energy", 1)
    cdef Py_ssize_t hop_len = check_count(hop, "hop", "frame_energy", 1)
    cdef Py_ssize_t length = x.shape[0]
    cdef Py_ssize_t n = 0 if length < frame_len else 1 + (length - frame_len) // hop_len
    if out is None:
        out = _empty(n, _float32)
    _energy(x, code, frame_len, hop_len, _out_1d(out, n, "frame_energy"))
    return out
