"""voiceflow_core kernels: the NumPy reference on hand-worked cases, then every fast backend
against the reference on hypothesis-generated audio (bit-exact; frame_energy rel. err <= 1e-6)."""

from __future__ import annotations

import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import voiceflow_core as vc
from voiceflow_core import _kernels_numpy as ref

PUBLIC = ("scan", "to_float32", "downmix", "repair_clip", "sanitize", "frame_energy", "RingBuffer")
FAST_BACKENDS = tuple(name for name in vc.available_backends() if name != "numpy")
ALL_BACKENDS = vc.available_backends()
DTYPES = tuple(dt.name for dt in ref.SUPPORTED_DTYPES)
LIMITS = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0, 10.0, 31.999, 32.0, 100.0, 1e30, 3.5e38, float("inf")]),
    st.floats(min_value=0.0, max_value=1e6),
)


def backend(name: str) -> types.SimpleNamespace:
    """The public functions of backend ``name`` (selected through the public API)."""
    vc.use_backend(name)
    return types.SimpleNamespace(**{attr: getattr(vc, attr) for attr in PUBLIC})


@pytest.fixture(autouse=True, scope="module")
def _restore_backend():
    before = vc.active_backend()
    yield
    vc.use_backend(before)


# --- hypothesis audio ------------------------------------------------------------------------


def special_values(dtype: np.dtype) -> list:
    if dtype.kind == "f":
        info = np.finfo(dtype)
        values = [np.nan, np.inf, -np.inf, info.max, -info.max, info.smallest_subnormal,
                  -info.smallest_subnormal, info.tiny, 0.0, -0.0, 1.0, -1.0]  # fmt: skip
        if dtype == np.float64:  # beyond / at / just inside the float32 range, float32 subnormals
            f32 = np.finfo(np.float32)
            values += [3.5e38, -3.5e38, float(f32.max), -float(f32.max), 3.4028235e38,
                       1e-40, -1e-40, 1e-46]  # fmt: skip
        return values
    info = np.iinfo(dtype)
    return [info.min, info.max, 0, 1, info.max // 2 + 1, info.max // 2]


LAYOUTS = ("c", "fortran", "strided", "reversed", "readonly")


@st.composite
def audio(draw, ndims=(1, 2), max_frames=10_000, max_channels=8, dtypes=DTYPES):
    """Random PCM/float audio with NaN, +-inf, subnormals, extremes injected, in any layout."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    frames = draw(st.one_of(st.integers(0, 40), st.integers(0, max_frames)))
    ndim = draw(st.sampled_from(ndims))
    channels = draw(st.integers(1, max_channels)) if ndim == 2 else 1
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (frames, channels) if ndim == 2 else (frames,)
    if dtype.kind == "f":
        scale = draw(st.sampled_from([1e-3, 0.3, 1.0, 40.0, 1e5]))
        with np.errstate(over="ignore"):
            x = (rng.standard_normal(shape) * scale).astype(dtype)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    if x.size:
        specials = np.array(special_values(dtype), dtype=dtype)
        injected = draw(st.integers(0, 24))
        flat = x.reshape(-1)
        flat[rng.integers(0, x.size, injected)] = rng.choice(specials, injected)
    return arrange(x, draw(st.sampled_from(LAYOUTS)))


def arrange(x: np.ndarray, layout: str) -> np.ndarray:
    """The same values as ``x`` in another memory layout (non-contiguous or read-only)."""
    if layout == "fortran" and x.ndim == 2:
        return np.asfortranarray(x)
    if layout == "strided":  # every other element of a wider buffer (channel-strided for 2-D)
        wide = np.zeros((x.shape[0] * 2,) + x.shape[1:], x.dtype)
        if x.ndim == 2:
            wide = np.zeros((x.shape[0], x.shape[1] * 2), x.dtype)
            wide[:, ::2] = x
            return wide[:, ::2]
        wide[::2] = x
        return wide[::2]
    if layout == "reversed":
        return np.ascontiguousarray(x[::-1])[::-1]
    if layout == "readonly":
        x = x.copy()
        x.setflags(write=False)
    return x


def assert_bits_equal(actual: np.ndarray, expected: np.ndarray) -> None:
    """Same dtype, shape and bits (NaN payloads aside: NaN positions must match)."""
    assert actual.dtype == expected.dtype == np.float32
    assert actual.shape == expected.shape
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(actual), nan)
    np.testing.assert_array_equal(actual.view(np.uint32)[~nan], expected.view(np.uint32)[~nan])


def assert_energy_close(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=0, equal_nan=True)


# --- the reference, worked by hand -----------------------------------------------------------


def test_reference_scales_pcm_by_half_range():
    np.testing.assert_array_equal(
        ref.to_float32(np.array([-32768, -1, 0, 16384, 32767], np.int16)),
        np.array([-1.0, -1 / 32768, 0.0, 0.5, 32767 / 32768], np.float32),
    )
    np.testing.assert_array_equal(
        ref.to_float32(np.array([0, 128, 255], np.uint8)), np.array([-1, 0, 127 / 128], np.float32)
    )
    np.testing.assert_array_equal(
        ref.to_float32(np.array([0, 2**31, 2**32 - 1], np.uint32)),
        np.array([-1.0, 0.0, np.float32((2**31 - 1) / 2**31)], np.float32),
    )
    int64 = ref.to_float32(np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max], np.int64))
    np.testing.assert_array_equal(int64, np.array([-1.0, 1.0], np.float32))  # max rounds up


def test_reference_float_conversion_rounds_once_and_overflows_to_inf():
    x = np.array([3.5e38, -1e300, 1e-50, 1.0000000596046448, np.nan], np.float64)
    out = ref.to_float32(x)
    np.testing.assert_array_equal(out[:4], np.array([np.inf, -np.inf, 0.0, 1.0], np.float32))
    assert np.isnan(out[4])
    half = np.array([65504, -6e-08, np.inf], np.float16)
    np.testing.assert_array_equal(ref.to_float32(half), half.astype(np.float32))


def test_reference_downmix_is_the_float64_mean_rounded_once():
    x = np.array([[1, 2], [1e-8, 1.0], [np.nan, 0.0], [np.inf, -np.inf], [-0.0, -0.0]])
    out = ref.downmix(x)
    np.testing.assert_array_equal(out[:2], np.array([1.5, np.float32((1e-8 + 1.0) / 2)], np.float32))
    assert np.isnan(out[2]) and np.isnan(out[3])
    assert out[4] == 0.0 and np.signbit(out[4])
    stereo16 = np.array([[32767, -32768], [-32768, -32768]], np.int16)
    np.testing.assert_array_equal(ref.downmix(stereo16), np.array([-0.5 / 32768, -1.0], np.float32))


# Sums whose quotient by the channel count lands next to a float32 rounding boundary, where
# ``s / channels`` and ``s * (1 / channels)`` round differently: the contract is ``s / channels``.
DIVISION_CASES = [(0.9913112372159959, 3), (1.7279209941625593, 5), (-3.7586726844310765, 7)]


@pytest.mark.parametrize("name", ALL_BACKENDS)
@pytest.mark.parametrize(("total", "channels"), DIVISION_CASES)
def test_downmix_divides_the_float64_sum_by_the_channel_count(name, total, channels):
    impl = backend(name)
    x = np.zeros((2, channels))
    x[:, 0] = total
    expected = np.float32(total / channels)
    assert expected != np.float32(total * (1.0 / channels))
    assert impl.downmix(x)[0] == expected
    assert impl.sanitize(x, 1.0)[0][1] == expected


def test_reference_repair_rules_and_counts():
    x = np.array([np.nan, np.inf, -np.inf, 150.0, -150.0, 5.0, -0.0], np.float32)
    out, counts = ref.repair_clip(x, 100.0)
    np.testing.assert_array_equal(out, np.array([0, 32, -32, 100, -100, 5, 0], np.float32))
    assert counts == vc.RepairCounts(nan=1, posinf=1, neginf=1, clipped=2)
    out, counts = ref.repair_clip(x, 10.0)  # replaced infinities are then limited, not counted
    np.testing.assert_array_equal(out, np.array([0, 10, -10, 10, -10, 5, 0], np.float32))
    assert counts == (1, 1, 1, 2) and counts.total == 5
    _, clean = ref.repair_clip(np.zeros(3, np.float32), 1.0)
    assert clean == (0, 0, 0, 0)


def test_reference_sanitize_counts_frames_after_downmix():
    x = np.array([[np.nan, 1.0], [np.inf, -np.inf], [np.inf, 0.0], [3.0, 5.0]], np.float32)
    out, counts = ref.sanitize(x, 2.0)
    np.testing.assert_array_equal(out, np.array([0.0, 0.0, 2.0, 2.0], np.float32))
    assert counts == (2, 1, 0, 1)


def test_reference_scan_peak_ignores_nan_and_inf():
    x = np.array([[np.nan, -3.0], [np.inf, 2.0], [-np.inf, 0.5]], np.float32)
    assert ref.scan(x, 1.0) == vc.ScanResult(nan=1, posinf=1, neginf=1, over_limit=2, peak=3.0)
    assert ref.scan(np.array([np.nan]), 1.0).peak == 0.0
    assert ref.scan(np.int16(-32768), 0.5) == (0, 0, 0, 1, 1.0)


def test_reference_frame_energy_windows():
    x = np.array([3, 4, 0, 0, 1, 1, 1], np.float32)
    np.testing.assert_allclose(
        ref.frame_energy(x, 2, 2), np.sqrt([12.5, 0.0, 1.0]).astype(np.float32), rtol=1e-7
    )
    assert ref.frame_energy(x, 8, 1).shape == (0,)
    assert ref.frame_energy(x, 7, 100).shape == (1,)
    assert ref.frame_energy(x, 3, 2).shape == (3,)


# --- every fast backend against the reference ------------------------------------------------


@pytest.mark.parametrize("name", FAST_BACKENDS)
@given(x=audio(), data=st.data())
def test_to_float32_matches_reference(name, x, data):
    impl = backend(name)
    before = x.copy()
    assert_bits_equal(impl.to_float32(x), ref.to_float32(x))
    out = np.full(x.shape, 7.0, np.float32)
    assert impl.to_float32(x, out=out) is out
    assert_bits_equal(out, ref.to_float32(x))
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("name", FAST_BACKENDS)
@given(x=audio())
def test_downmix_matches_reference(name, x):
    impl = backend(name)
    assert_bits_equal(impl.downmix(x), ref.downmix(x))
    out = np.full(x.shape[0], 7.0, np.float32)
    assert impl.downmix(x, out=out) is out
    assert_bits_equal(out, ref.downmix(x))


@pytest.mark.parametrize("name", FAST_BACKENDS)
@given(x=audio(ndims=(1,)), limit=LIMITS)
def test_repair_clip_matches_reference(name, x, limit):
    impl = backend(name)
    expected, expected_counts = ref.repair_clip(x, limit)
    out, counts = impl.repair_clip(x, limit)
    assert_bits_equal(out, expected)
    assert counts == expected_counts and type(counts) is vc.RepairCounts
    if x.dtype == np.float32 and x.flags.writeable:  # in place
        inplace = x.copy()
        result, counts = impl.repair_clip(inplace, limit, out=inplace)
        assert result is inplace and counts == expected_counts
        assert_bits_equal(inplace, expected)


@pytest.mark.parametrize("name", FAST_BACKENDS)
@given(x=audio(), limit=LIMITS)
def test_sanitize_matches_reference(name, x, limit):
    impl = backend(name)
    before = x.copy()
    expected, expected_counts = ref.sanitize(x, limit)
    out, counts = impl.sanitize(x, limit)
    assert_bits_equal(out, expected)
    assert counts == expected_counts
    reused = np.full(x.shape[0], np.nan, np.float32)
    for _ in range(2):
        result, counts = impl.sanitize(x, limit, out=reused)
        assert result is reused and counts == expected_counts
        assert_bits_equal(reused, expected)
    np.testing.assert_array_equal(x, before)
    with np.errstate(over="ignore"):
        lim = np.float32(limit)
    assert np.isfinite(out).all() and (np.abs(out) <= lim).all()


@pytest.mark.parametrize("name", FAST_BACKENDS)
@given(x=audio(max_frames=3000), limit=LIMITS, form=st.sampled_from(["as is", "0-D", "3-D"]))
def test_scan_matches_reference(name, x, limit, form):
    if form == "0-D" and x.size:
        x = np.asarray(x.reshape(-1)[0])
    elif form == "3-D":
        x = x[..., None] if x.ndim == 2 else x[:, None, None]
    impl = backend(name)
    result = impl.scan(x, limit)
    assert result == ref.scan(x, limit) and type(result) is vc.ScanResult


@pytest.mark.parametrize("name", FAST_BACKENDS)
@given(x=audio(ndims=(1,)), frame=st.integers(1, 700), hop=st.integers(1, 700))
def test_frame_energy_matches_reference(name, x, frame, hop):
    impl = backend(name)
    expected = ref.frame_energy(x, frame, hop)
    assert_energy_close(impl.frame_energy(x, frame, hop), expected)
    out = np.empty_like(expected)
    assert impl.frame_energy(x, frame, hop, out=out) is out
    assert_energy_close(out, expected)


def test_audio_strategy_reaches_every_layout_and_special():
    """Guard against a generator that silently stops producing the hard cases."""
    x = arrange(np.arange(6, dtype=np.int16).reshape(3, 2), "strided")
    assert not x.flags.c_contiguous and not x.flags.f_contiguous
    assert not arrange(np.zeros(4, np.float32), "readonly").flags.writeable
    assert arrange(np.zeros(4, np.float32), "reversed").strides[0] < 0
    assert np.isnan(special_values(np.dtype(np.float32))).any()


# --- chunked == one-shot ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_BACKENDS)
@given(x=audio(max_frames=4000), limit=LIMITS, cuts=st.lists(st.integers(0, 4000), max_size=6))
def test_sanitize_in_chunks_equals_one_shot(name, x, limit, cuts):
    impl = backend(name)
    whole, whole_counts = impl.sanitize(x, limit)
    bounds = sorted({0, x.shape[0], *(c for c in cuts if c <= x.shape[0])})
    pieces, totals = [], np.zeros(4, np.int64)
    for start, stop in zip(bounds, bounds[1:]):
        piece, counts = impl.sanitize(x[start:stop], limit)
        pieces.append(piece)
        totals += counts
    chunked = np.concatenate(pieces) if pieces else np.empty(0, np.float32)
    assert_bits_equal(chunked, whole)
    assert tuple(totals) == whole_counts


@pytest.mark.parametrize("name", ALL_BACKENDS)
@given(x=audio(ndims=(1,), max_frames=4000), frame=st.integers(1, 300),
       blocks=st.integers(1, 6))  # fmt: skip
def test_frame_energy_in_chunks_equals_one_shot(name, x, frame, blocks):
    """Non-overlapping frames over chunks that are whole numbers of frames."""
    impl = backend(name)
    whole = impl.frame_energy(x, frame, frame)
    step = frame * blocks
    parts = [impl.frame_energy(x[i : i + step], frame, frame) for i in range(0, len(x), step)]
    chunked = np.concatenate(parts) if parts else np.empty(0, np.float32)
    assert_bits_equal(chunked, whole)


@pytest.mark.parametrize("name", ALL_BACKENDS)
@given(x=audio(max_frames=3000), limit=LIMITS, capacity=st.integers(1, 5000),
       cuts=st.lists(st.integers(0, 3000), max_size=6))  # fmt: skip
def test_write_sanitized_in_chunks_equals_sanitize_then_write(name, x, limit, capacity, cuts):
    impl = backend(name)
    expected, expected_counts = ref.sanitize(x, limit)
    ring = impl.RingBuffer(capacity)
    bounds = sorted({0, x.shape[0], *(c for c in cuts if c <= x.shape[0])})
    totals = np.zeros(4, np.int64)
    for start, stop in zip(bounds, bounds[1:]):
        totals += ring.write_sanitized(x[start:stop], limit)
    assert tuple(totals) == expected_counts
    assert ring.total == x.shape[0]
    assert_bits_equal(ring.snapshot(), expected[-capacity:] if x.shape[0] else expected)


# --- argument errors: ValueError, the same in every backend ----------------------------------

BAD_DTYPES = [np.bool_, np.complex64, np.uint64, np.longdouble, object, "U3", "datetime64[s]"]


@pytest.mark.parametrize("name", ALL_BACKENDS)
@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=str)
def test_unsupported_dtypes_raise_value_error(name, dtype):
    impl = backend(name)
    x = np.zeros((4, 2), dtype)
    calls = [
        lambda: impl.scan(x, 1.0),
        lambda: impl.to_float32(x),
        lambda: impl.downmix(x),
        lambda: impl.repair_clip(x[:, 0], 1.0),
        lambda: impl.sanitize(x, 1.0),
        lambda: impl.frame_energy(x[:, 0], 2, 1),
        lambda: impl.RingBuffer(8).write_sanitized(x, 1.0),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="unsupported dtype"):
            call()


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_bad_shapes_limits_and_outs_raise_value_error(name):
    impl = backend(name)
    mono = np.zeros(8, np.float32)
    stereo = np.zeros((8, 2), np.int16)
    bad = [
        (lambda: impl.sanitize(np.zeros((2, 2, 2), np.float32), 1.0), "2-D"),
        (lambda: impl.sanitize(np.zeros((8, 0), np.float32), 1.0), "channel"),
        (lambda: impl.downmix(np.float32(1.0)), "1-D"),
        (lambda: impl.repair_clip(stereo, 1.0), "1-D"),
        (lambda: impl.frame_energy(stereo, 2, 1), "1-D"),
        (lambda: impl.sanitize(mono, float("nan")), "limit"),
        (lambda: impl.sanitize(mono, -1.0), "limit"),
        (lambda: impl.sanitize(mono, "loud"), "limit"),
        (lambda: impl.scan(mono, None), "limit"),
        (lambda: impl.scan(mono, 10**400), "limit"),
        (lambda: impl.frame_energy(mono, 0, 1), "frame"),
        (lambda: impl.frame_energy(mono, 2, 0), "hop"),
        (lambda: impl.frame_energy(mono, 2.5, 1), "frame"),
        (lambda: impl.sanitize(mono, 1.0, out=np.zeros(8, np.float64)), "out"),
        (lambda: impl.sanitize(mono, 1.0, out=np.zeros(7, np.float32)), "out"),
        (lambda: impl.sanitize(mono, 1.0, out=np.zeros(16, np.float32)[::2]), "out"),
        (lambda: impl.sanitize(mono, 1.0, out=np.zeros(8, np.float32).reshape(8, 1)), "out"),
        (lambda: impl.sanitize(mono, 1.0, out=[0.0] * 8), "out"),
        (lambda: impl.to_float32(stereo, out=np.zeros(8, np.float32)), "out"),
        (lambda: impl.sanitize(np.array([[1, 2], [3]], dtype=object), 1.0), "dtype"),
        # int16 PCM takes its own hot path in some backends: the same checks must hold there
        (lambda: impl.sanitize(np.zeros((2, 2, 2), np.int16), 1.0), "2-D"),
        (lambda: impl.sanitize(np.zeros((8, 0), np.int16), 1.0), "channel"),
        (lambda: impl.sanitize(np.zeros((), np.int16), 1.0), "1-D"),
        (lambda: impl.sanitize(stereo, float("nan")), "limit"),
        (lambda: impl.sanitize(stereo, 1.0, out=np.zeros(8, np.float64)), "out"),
        (lambda: impl.sanitize(stereo, 1.0, out=np.zeros(7, np.float32)), "out"),
        (lambda: impl.sanitize(stereo[:, 0], 1.0, out=np.zeros(9, np.float32)), "out"),
        (lambda: impl.sanitize(stereo, 1.0, out=np.zeros(16, np.float32)[::2]), "out"),
        (lambda: impl.sanitize(stereo, 1.0, out=[0.0] * 8), "out"),
    ]
    readonly = np.zeros(8, np.float32)
    readonly.setflags(write=False)
    bad.append((lambda: impl.sanitize(mono, 1.0, out=readonly), "out"))
    bad.append((lambda: impl.sanitize(stereo, 1.0, out=readonly), "out"))
    for call, words in bad:
        with pytest.raises(ValueError, match=words):
            call()


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_lists_and_foreign_byte_order_are_accepted(name):
    impl = backend(name)
    big_endian = np.array([[0, 16384], [-32768, 32767]], dtype=">i2")
    expected = ref.sanitize(big_endian.astype(np.int16), 1.0)[0]
    assert_bits_equal(impl.sanitize(big_endian, 1.0)[0], expected)
    assert_bits_equal(impl.sanitize([[0.0, 0.5], [-1.0, 1.0]], 1.0)[0], np.array([0.25, 0.0], np.float32))
    assert impl.scan([1.0, float("nan")], 0.5) == (1, 0, 0, 1, 1.0)


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_clean_counts_are_the_one_shared_instance(name):
    """Callers test ``counts is CLEAN`` on the hot path; every backend must return that object."""
    from voiceflow_core._results import CLEAN

    impl = backend(name)
    quiet = np.zeros((16, 2), np.int16)
    assert impl.sanitize(quiet, 1.0)[1] is CLEAN
    assert impl.repair_clip(quiet[:, 0], 1.0)[1] is CLEAN
    assert impl.RingBuffer(8).write_sanitized(quiet, 1.0) is CLEAN
    assert impl.sanitize(np.array([np.nan], np.float32), 1.0)[1] is not CLEAN
