# cython: language_level=3
"""Per-sample arithmetic and row kernels shared by ``_kernels_cy`` and ``_ring_cy``.

Everything here is ``inline`` so each module compiles its own copy.  The arithmetic is the
contract documented in ``_kernels_numpy`` (the reference); keep them in step.
"""

cimport cython
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t
from libc.float cimport FLT_MAX
from libc.math cimport INFINITY, NAN, fabsf, ldexp

ctypedef fused sample_t:
    float
    double
    int8_t
    int16_t
    int32_t
    int64_t
    uint8_t
    uint16_t  # also carries float16 bit patterns (see ``half``)
    uint32_t

ctypedef struct repair_counts:
    Py_ssize_t nan
    Py_ssize_t posinf
    Py_ssize_t neginf
    Py_ssize_t clipped


cdef inline double half_to_double(uint16_t bits) noexcept nogil:
    """IEEE 754 binary16 -> float64 (exact)."""
    cdef int exponent = (bits >> 10) & 0x1F
    cdef int mantissa = bits & 0x3FF
    cdef double value
    if exponent == 0:
        value = ldexp(<double>mantissa, -24)
    elif exponent == 31:
        value = INFINITY if mantissa == 0 else NAN
    else:
        value = ldexp(<double>(mantissa | 0x400), exponent - 25)
    return -value if bits & 0x8000 else value


cdef inline double as_double(sample_t v, bint half) noexcept nogil:
    """One sample as float64; integer PCM scaled into [-1, 1) (exact: powers of two)."""
    if sample_t is float or sample_t is double:
        return v
    elif sample_t is int8_t:
        return <double>v * 0.0078125                              # 2**-7
    elif sample_t is int16_t:
        return <double>v * 3.0517578125e-05                       # 2**-15
    elif sample_t is int32_t:
        return <double>v * 4.656612873077393e-10                  # 2**-31
    elif sample_t is int64_t:
        return <double>v * 1.0842021724855044e-19                 # 2**-63
    elif sample_t is uint8_t:
        return (<double>v - 128.0) * 0.0078125
    elif sample_t is uint16_t:
        if half:
            return half_to_double(v)
        return (<double>v - 32768.0) * 3.0517578125e-05
    else:  # uint32_t
        return (<double>v - 2147483648.0) * 4.656612873077393e-10


cdef inline float as_float(sample_t v, bint half) noexcept nogil:
    """One sample converted and rounded once to float32 (float32 input: itself, no round trip)."""
    if sample_t is float:
        return v
    else:
        return <float>as_double(v, half)


cdef inline float repaired(float v, float limit, float inf_value, repair_counts* counts) noexcept nogil:
    """NaN -> 0, +-inf -> +-inf_value (= min(32, limit)), finite beyond +-limit -> +-limit."""
    if v != v:
        counts.nan += 1
        return 0.0
    if v == INFINITY:
        counts.posinf += 1
        return inf_value
    if v == -INFINITY:
        counts.neginf += 1
        return -inf_value
    if v > limit:
        counts.clipped += 1
        return limit
    if v < -limit:
        counts.clipped += 1
        return -limit
    return v


cdef inline float inf_replacement(float limit) noexcept nogil:
    return 32.0 if limit >= 32.0 else limit


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void mono_repair(float* out, Py_ssize_t count, float limit,
                             repair_counts* counts) noexcept nogil:
    cdef Py_ssize_t i
    cdef float inf_value = inf_replacement(limit)
    for i in range(count):
        out[i] = repaired(out[i], limit, inf_value, counts)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void stereo_float32_rows(const float* x, Py_ssize_t count, float* out, bint repair,
                                     float limit, repair_counts* counts) noexcept nogil:
    """:func:`contiguous_rows` for float32 stereo, ``out`` not overlapping ``x``, computed in
    float32: ``float32((float64(a) + float64(b)) * 0.5)`` equals ``(a + b) * 0.5f`` whenever
    the float32 sum does not overflow.  Rounding the float64 sum of two float32 to float32 is
    rounding the exact sum once (double rounding is innocuous when 53 >= 2 * 24 + 2, Figueroa
    1995); halving that is exact unless the half is subnormal, and then the sum was exact (a
    sum below twice the smallest normal is representable).  An overflowing sum gives inf,
    fails ``|v| <= limit`` and is recomputed in float64 by the second pass."""
    cdef Py_ssize_t i
    cdef int suspect = 0
    cdef float v
    cdef float halve = 0.5
    cdef float bound = limit if limit < FLT_MAX else FLT_MAX  # inf must fail the check
    cdef float inf_value = inf_replacement(limit)
    for i in range(count):
        v = (x[2 * i] + x[2 * i + 1]) * halve
        out[i] = v
        suspect |= not (fabsf(v) <= bound)  # true for NaN too
    if not suspect:
        return
    for i in range(count):
        v = out[i]
        if not (fabsf(v) <= bound):
            v = <float>((<double>x[2 * i] + <double>x[2 * i + 1]) * 0.5)
            if repair and not (fabsf(v) <= bound):
                v = repaired(v, limit, inf_value, counts)
            out[i] = v


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void contiguous_rows(const sample_t* x, bint half, Py_ssize_t count,
                                 Py_ssize_t channels, float* out, bint repair, float limit,
                                 repair_counts* counts) noexcept nogil:
    """C-contiguous rows (``x[i * channels + c]``) -> mono float32 in ``out``: mean over
    channels in float64 (``s = v0; s += v1; ...; s / channels``), rounded once; then, when
    ``repair``, NaN/inf replaced and the result clipped to ``+-limit``.  A vectorisable
    convert/downmix pass also notes whether any result fails ``|v| <= limit``; the branchy
    repair pass runs only when one did.  ``out`` may alias ``x`` when both are float32 and
    ``channels == 1``."""
    cdef Py_ssize_t i, c
    cdef int suspect = 0
    cdef float v
    cdef double total
    cdef float bound = limit if limit < FLT_MAX else FLT_MAX  # inf must fail the check
    cdef bint power_of_two = (channels & (channels - 1)) == 0
    cdef double reciprocal = 1.0 / channels
    cdef float pcm16_mono = 1.0 / 32768, pcm16_stereo = 1.0 / 65536
    if sample_t is int16_t:
        # 16-bit PCM, 1 or 2 channels: every float64 step of the contract is exact here and so
        # is float32 arithmetic on the integer sum (< 2**17), so compute 4-wide in float32.
        if channels == 1:
            for i in range(count):
                v = <float>x[i] * pcm16_mono
                out[i] = v
                suspect |= not (fabsf(v) <= bound)
            if repair and suspect:
                mono_repair(out, count, limit, counts)
            return
        if channels == 2:
            for i in range(count):
                v = <float>(<int32_t>x[2 * i] + <int32_t>x[2 * i + 1]) * pcm16_stereo
                out[i] = v
                suspect |= not (fabsf(v) <= bound)
            if repair and suspect:
                mono_repair(out, count, limit, counts)
            return
    if sample_t is float:
        if channels == 2 and (out + count <= x or x + 2 * count <= out):
            stereo_float32_rows(x, count, out, repair, limit, counts)
            return
    if channels == 1:
        for i in range(count):
            v = as_float(x[i], half)
            out[i] = v
            suspect |= not (fabsf(v) <= bound)  # true for NaN too
    elif channels == 2:
        for i in range(count):
            v = <float>((as_double(x[2 * i], half) + as_double(x[2 * i + 1], half)) * 0.5)
            out[i] = v
            suspect |= not (fabsf(v) <= bound)
    else:
        for i in range(count):
            total = as_double(x[i * channels], half)
            for c in range(1, channels):
                total += as_double(x[i * channels + c], half)
            if power_of_two:
                total = total * reciprocal
            else:
                total = total / channels
            v = <float>total
            out[i] = v
            suspect |= not (fabsf(v) <= bound)
    if repair and suspect:
        mono_repair(out, count, limit, counts)


cdef extern from *:
    """
    #include <string.h>
    static inline int32_t voiceflow_magnitude_bits(float v) {
        int32_t bits; memcpy(&bits, &v, sizeof bits); return bits & 0x7FFFFFFF;
    }
    static inline float voiceflow_float_from_bits(int32_t bits) {
        float v; memcpy(&v, &bits, sizeof v); return v;
    }
    """
    int32_t magnitude_bits "voiceflow_magnitude_bits"(float v) nogil
    float float_from_bits "voiceflow_float_from_bits"(int32_t bits) nogil

cdef enum:
    FINITE_LIMIT_BITS = 0x7F800000  # magnitude bits at or above this: inf or NaN


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline int32_t contiguous_peak_bits(const sample_t* x, bint half,
                                         Py_ssize_t count) noexcept nogil:
    """Largest ``|float32(v)|`` as its bit pattern, in one vectorisable pass.  For magnitudes
    the bit patterns order like the values; ``>= FINITE_LIMIT_BITS`` means a NaN or inf is
    present (then the exact, branchy scan is needed).  Sixteen running maxima keep the vector
    units busy instead of waiting on one dependency chain."""
    cdef int32_t lanes[16]
    cdef Py_ssize_t i = 0
    cdef int j
    cdef int32_t bits
    cdef int32_t peak = 0  # magnitudes' bit patterns are non-negative as int32 too
    for j in range(16):
        lanes[j] = 0
    while i + 16 <= count:
        for j in range(16):
            bits = magnitude_bits(as_float(x[i + j], half))
            lanes[j] = bits if bits > lanes[j] else lanes[j]
        i += 16
    for j in range(16):
        peak = lanes[j] if lanes[j] > peak else peak
    while i < count:
        bits = magnitude_bits(as_float(x[i], half))
        peak = bits if bits > peak else peak
        i += 1
    return peak


# --- dtype dispatch ----------------------------------------------------------------------------

cdef enum SampleCode:
    UNSUPPORTED = -1
    F32 = 0
    F64
    I8
    I16
    I32
    I64
    U8
    U16
    U32
    F16

cdef extern from *:
    """
    #define VOICEFLOW_LONG_BITS ((int)(sizeof(long) * 8))
    """
    int VOICEFLOW_LONG_BITS


cdef inline int sample_code(int type_num) noexcept nogil:
    """NumPy's ``dtype.num`` -> SampleCode (byte order is checked separately)."""
    if type_num == 11:
        return F32
    if type_num == 12:
        return F64
    if type_num == 3:
        return I16
    if type_num == 1:
        return I8
    if type_num == 5:
        return I32
    if type_num == 7:
        return I64 if VOICEFLOW_LONG_BITS == 64 else I32
    if type_num == 9:
        return I64
    if type_num == 2:
        return U8
    if type_num == 4:
        return U16
    if type_num == 6:
        return U32
    if type_num == 8 and VOICEFLOW_LONG_BITS == 32:
        return U32
    if type_num == 23:
        return F16
    return UNSUPPORTED


# --- plain-buffer entry points (the contiguous fast path) -------------------------------------

cdef inline bint buffer_is_c_contiguous(Py_buffer* view) noexcept nogil:
    """A 1-D or 2-D buffer laid out row-major without gaps (size-1 axes' strides ignored)."""
    if view.ndim == 1:
        return view.shape[0] < 2 or view.strides[0] == view.itemsize
    return ((view.shape[1] < 2 or view.strides[1] == view.itemsize) and
            (view.shape[0] < 2 or view.strides[0] == view.shape[1] * view.itemsize))


cdef inline void contiguous_mono(const void* data, int code, Py_ssize_t frames,
                                 Py_ssize_t channels, float* out, bint repair, float limit,
                                 repair_counts* counts) noexcept nogil:
    """:func:`contiguous_rows` for the sample type named by ``code`` (a SampleCode)."""
    cdef bint half = code == F16
    if code == F32:
        contiguous_rows(<const float*>data, half, frames, channels, out, repair, limit, counts)
    elif code == I16:
        contiguous_rows(<const int16_t*>data, half, frames, channels, out, repair, limit, counts)
    elif code == F64:
        contiguous_rows(<const double*>data, half, frames, channels, out, repair, limit, counts)
    elif code == I32:
        contiguous_rows(<const int32_t*>data, half, frames, channels, out, repair, limit, counts)
    elif code == I8:
        contiguous_rows(<const int8_t*>data, half, frames, channels, out, repair, limit, counts)
    elif code == I64:
        contiguous_rows(<const int64_t*>data, half, frames, channels, out, repair, limit, counts)
    elif code == U8:
        contiguous_rows(<const uint8_t*>data, half, frames, channels, out, repair, limit, counts)
    elif code == U16 or code == F16:
        contiguous_rows(<const uint16_t*>data, half, frames, channels, out, repair, limit, counts)
    else:
        contiguous_rows(<const uint32_t*>data, half, frames, channels, out, repair, limit, counts)
