"""audio_validation_guard: one test per row of the drop-in contract, for both policies, plus properties.

The reference below is the contract written out in plain float64 NumPy; it shares no code with
the library.
"""

from __future__ import annotations

import array
import logging
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import voiceflow_core
from voiceflow.audio import guard as guard_module
from voiceflow.config import Config
from voiceflow.audio.guard import audio_validation_guard as guard

POLICIES = ("repair", "reject")
SUPPORTED = (
    "float16", "float32", "float64",
    "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32",
)  # fmt: skip


# --- the reference ---------------------------------------------------------------------------


def reference_mono(x: np.ndarray) -> np.ndarray:
    """Contract order, step 1-2: convert/scale in float64, mean over channels, round once."""
    v = x.astype(np.float64)
    if x.dtype.kind in "iu":
        half = 2.0 ** (x.dtype.itemsize * 8 - 1)
        v = v / half if x.dtype.kind == "i" else (v - half) / half
    if v.ndim == 2:
        total = v[:, 0].copy()
        for c in range(1, v.shape[1]):
            total += v[:, c]
        v = total / v.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):
        return v.reshape(-1).astype(np.float32)


def reference_repair(mono: np.ndarray, limit: float) -> np.ndarray:
    """Contract order, step 3-4: NaN -> 0, +-inf -> +-32, clip to +-limit (limit as float32)."""
    lim = np.float32(limit)
    fixed = mono.copy()
    fixed[np.isnan(fixed)] = 0.0
    fixed[fixed == np.inf] = 32.0
    fixed[fixed == -np.inf] = -32.0
    return np.clip(fixed, -lim, lim).astype(np.float32)


def reference_is_bad(mono: np.ndarray, limit: float) -> bool:
    finite = np.isfinite(mono)
    return (not finite.all()) or bool((np.abs(mono[finite]) > np.float32(limit)).any())


def cfg_for(policy: str, **extra) -> types.SimpleNamespace:
    return types.SimpleNamespace(audio_guard_policy=policy, **extra)


def assert_output(result: np.ndarray) -> None:
    assert type(result) is np.ndarray
    assert result.dtype == np.float32 and result.ndim == 1 and result.flags.c_contiguous


@pytest.fixture(autouse=True)
def fresh_log_limiter():
    guard_module._last_logged.clear()
    guard_module._suppressed.clear()
    yield
    guard_module._last_logged.clear()
    guard_module._suppressed.clear()


# --- one test per row of the input -> output table, both policies ----------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_none_needs_allow_empty(policy):
    result = guard(None, "op", allow_empty=True, cfg=cfg_for(policy))
    assert_output(result)
    assert result.size == 0
    assert guard(None, "op", allow_empty=True, cfg=cfg_for(policy)) is not result  # a new array
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*None"):
        guard(None, "op", cfg=cfg_for(policy))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    "data, expected",
    [
        ([0.25, -0.5], [0.25, -0.5]),
        ((0.25, -0.5), [0.25, -0.5]),
        ([[0.25, 0.75], [-0.5, 0.5]], [0.5, 0.0]),
        (np.float32(0.25), [0.25]),
        (np.float64(-0.5), [-0.5]),
        (np.int16(-16384), [-0.5]),
        (array.array("h", [16384, -32768]), [0.5, -1.0]),
        (memoryview(np.array([0.25, 0.5], np.float32)), [0.25, 0.5]),
        (array.array("d", [0.125]), [0.125]),
    ],
    ids=["list", "tuple", "nested-list", "np-float32", "np-float64", "np-int16", "array-h", "memoryview", "array-d"],
)
def test_lists_tuples_scalars_buffers_are_converted(policy, data, expected):
    result = guard(data, "op", cfg=cfg_for(policy))
    assert_output(result)
    np.testing.assert_array_equal(result, np.array(expected, np.float32))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("shape", [(0,), (0, 2), (4, 0), (0, 100)])
def test_size_zero_needs_allow_empty(policy, shape):
    data = np.zeros(shape, np.float32)
    result = guard(data, "op", allow_empty=True, cfg=cfg_for(policy))
    assert_output(result)
    assert result.size == 0 and result is not data
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*empty"):
        guard(data, "op", cfg=cfg_for(policy))
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: "):
        guard([], "op", cfg=cfg_for(policy))


@pytest.mark.parametrize("policy", POLICIES)
def test_zero_d_becomes_one_sample(policy):
    data = np.array(0.5, np.float32)
    result = guard(data, "op", cfg=cfg_for(policy))
    assert_output(result)
    assert result.shape == (1,) and result[0] == 0.5
    assert not np.shares_memory(result, data)


@pytest.mark.parametrize("policy", POLICIES)
def test_one_d_samples_kept(policy):
    data = np.array([0.0, 0.5, -1.0, 9.5], np.float32)
    result = guard(data, "op", cfg=cfg_for(policy))
    np.testing.assert_array_equal(result, data)


@pytest.mark.parametrize("policy", POLICIES)
def test_one_channel_is_flattened(policy):
    data = np.array([[0.1], [0.2], [-0.3]], np.float32)
    result = guard(data, "op", cfg=cfg_for(policy))
    assert_output(result)
    np.testing.assert_array_equal(result, data[:, 0])
    assert not np.shares_memory(result, data)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("channels", [2, 3, 7, 64])
def test_channels_are_averaged_in_float64(policy, channels):
    rng = np.random.default_rng(channels)
    data = rng.uniform(-1, 1, (50, channels)).astype(np.float32)
    result = guard(data, "op", cfg=cfg_for(policy))
    assert_output(result)
    np.testing.assert_array_equal(result, reference_mono(data))
    # float64 accumulation: a float32 running sum would lose the small sample here
    tiny = np.array([[1.0, 1e-8, -1.0]], np.float32)
    assert guard(tiny, "op", cfg=cfg_for(policy))[0] == np.float32(1e-8 / 3)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("shape", [(10, 65), (2, 1000), (1, 480)])
def test_more_than_64_channels_is_refused_as_probably_transposed(policy, shape):
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*transposed"):
        guard(np.zeros(shape, np.float32), "op", cfg=cfg_for(policy))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("shape", [(4, 2, 2), (1, 1, 1), (2, 3, 4, 5)])
def test_three_or_more_dimensions_refused(policy, shape):
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*dimensions"):
        guard(np.zeros(shape, np.float32), "op", cfg=cfg_for(policy))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_float_values_kept(policy, dtype):
    data = np.array([0.0, 0.5, -0.25, 9.0, -1e-3], dtype)
    result = guard(data, "op", cfg=cfg_for(policy))
    np.testing.assert_array_equal(result, data.astype(np.float32))


def test_float64_beyond_float32_becomes_inf_then_repaired_or_rejected():
    data = np.array([1e300, -1e300, 0.5])
    np.testing.assert_array_equal(guard(data, "op"), [32.0, -32.0, 0.5])
    np.testing.assert_array_equal(guard(data, "op", cfg=cfg_for("repair", audio_clip_limit=5)), [5, -5, 0.5])
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*1 \+inf and 1 -inf"):
        guard(data, "op", cfg=cfg_for("reject"))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64"])
def test_signed_pcm_is_scaled(policy, dtype):
    info = np.iinfo(dtype)
    half = 2.0 ** (info.bits - 1)
    data = np.array([info.min, -1, 0, 1, info.max], dtype)
    expected = (np.array([info.min, -1, 0, 1, info.max], np.float64) / half).astype(np.float32)
    result = guard(data, "op", cfg=cfg_for(policy))
    np.testing.assert_array_equal(result, expected)
    assert result[0] == -1.0 and result[-1] <= 1.0  # rounding to float32 can reach 1.0


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32"])
def test_unsigned_pcm_is_offset_and_scaled(policy, dtype):
    info = np.iinfo(dtype)
    half = 2.0 ** (info.bits - 1)
    data = np.array([0, half, info.max], dtype)
    result = guard(data, "op", cfg=cfg_for(policy))
    np.testing.assert_array_equal(result, np.array([-1.0, 0.0, (info.max - half) / half], np.float32))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    "data",
    [
        np.array([True, False]),
        np.array([1 + 2j, 0j]),
        np.array([0.5, 1.0], dtype=object),
        np.array(["0.5", "1"]),
        np.array([b"ab"]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.zeros(3, dtype=[("a", "f4"), ("b", "f4")]),
        np.zeros(3, dtype=np.uint64),
        np.zeros(3, dtype=np.longdouble) if np.dtype(np.longdouble).itemsize > 8 else np.zeros(3, "m8[s]"),
        "abc",
        b"\x00\x01",
        {"a": 1},
        {1.0, 2.0},
        object(),
        [[1.0, 2.0], [3.0]],
        [2**70],
    ],
    ids=lambda d: type(d).__name__ + (f"-{d.dtype}" if isinstance(d, np.ndarray) else ""),
)
def test_unsupported_inputs_give_value_error(policy, data):
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: "):
        guard(data, "op", cfg=cfg_for(policy))


def test_nan_repaired_to_zero():
    data = np.array([0.5, np.nan, np.nan, -0.5], np.float32)
    np.testing.assert_array_equal(guard(data, "op"), [0.5, 0.0, 0.0, -0.5])


def test_nan_rejected_with_count():
    data = np.array([0.5, np.nan, np.nan, -0.5], np.float32)
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*2 NaN"):
        guard(data, "op", cfg=cfg_for("reject"))


def test_inf_repaired_to_32_then_clipped():
    data = np.array([np.inf, -np.inf, 0.25], np.float32)
    np.testing.assert_array_equal(guard(data, "op"), [32.0, -32.0, 0.25])
    np.testing.assert_array_equal(guard(data, "op", cfg=cfg_for("repair", audio_clip_limit=1.0)), [1, -1, 0.25])


def test_inf_rejected():
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*1 \+inf and 0 -inf"):
        guard(np.array([np.inf, 0.0], np.float32), "op", cfg=cfg_for("reject"))
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*-inf"):
        guard(np.array([-np.inf, 0.0], np.float32), "op", cfg=cfg_for("reject"))


def test_above_clip_limit_is_clipped_in_repair():
    data = np.array([150.0, -1e6, 99.0, 50.0], np.float32)
    np.testing.assert_array_equal(guard(data, "op"), [100.0, -100.0, 99.0, 50.0])
    np.testing.assert_array_equal(guard(data, "op", cfg=Config()), [100.0, -100.0, 99.0, 50.0])
    np.testing.assert_array_equal(
        guard(data, "op", cfg=Config(audio_clip_limit=60.0)), [60.0, -60.0, 60.0, 50.0]
    )


def test_above_reject_amplitude_raises_in_reject():
    ok = np.array([10.0, -10.0, 0.5], np.float32)
    assert guard(ok, "op", cfg=cfg_for("reject")) is ok
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*1 sample\(s\) above .*10"):
        guard(np.array([10.5, 0.0], np.float32), "op", cfg=cfg_for("reject"))
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: "):
        guard(np.array([0.5, 1.5]), "op", cfg=Config(audio_guard_policy="reject", audio_reject_amplitude=1.0))
    # 50 passes the reject limit's default only in repair (no reject limit there)
    np.testing.assert_array_equal(guard(np.array([50.0], np.float32), "op"), [50.0])


def test_order_is_convert_downmix_repair_clip():
    data = np.array([[np.nan, 1.0], [np.inf, -np.inf], [np.inf, 1.0], [300.0, 100.0]], np.float32)
    np.testing.assert_array_equal(guard(data, "op"), [0.0, 0.0, 32.0, 100.0])
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*2 NaN .*1 \+inf"):
        guard(data, "op", cfg=cfg_for("reject", audio_reject_amplitude=1000.0))
    # a channel over the reject limit is fine when the frame's mean is not
    assert guard(np.array([[15.0, 0.0]], np.float32), "op", cfg=cfg_for("reject"))[0] == 7.5


# --- configuration ---------------------------------------------------------------------------


def test_cfg_is_any_object_read_with_defaults():
    data = np.array([np.nan, 500.0], np.float32)
    for cfg in (None, object(), types.SimpleNamespace(), Config(), Config(audio_guard_policy="repair")):
        np.testing.assert_array_equal(guard(data, "op", cfg=cfg), [0.0, 100.0])


def test_old_flags_accepted_and_every_sample_still_checked():
    old = types.SimpleNamespace(
        enable_fast_audio_validation=True,
        audio_validation_sample_rate=0.05,
        fast_nan_inf_detection=True,
        disable_amplitude_warnings=True,
    )
    data = np.full(4000, 0.1, np.float32)
    data[7] = np.nan  # the old sampled path looked at indices 0, 20, 40, ... only
    data[13] = 1e9
    result = guard(data, "op", cfg=old)
    assert result[7] == 0.0 and result[13] == 100.0
    assert np.isnan(data[7])  # and the caller's array is untouched


@pytest.mark.parametrize("bad", ["strict", None, 3])
def test_unknown_policy_is_a_value_error(bad):
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*audio_guard_policy"):
        guard(np.zeros(4, np.float32), "op", cfg=cfg_for(bad))


@pytest.mark.parametrize("field, policy", [("audio_clip_limit", "repair"), ("audio_reject_amplitude", "reject")])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), "x", None])
def test_bad_limit_is_a_value_error(field, policy, value):
    with pytest.raises(ValueError, match=rf"^\[AudioGuard\] op: .*{field}"):
        guard(np.zeros(4, np.float32), "op", cfg=cfg_for(policy, **{field: value}))


# --- ownership -------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_clean_float32_mono_is_returned_as_is(policy):
    data = np.linspace(-1, 1, 512, dtype=np.float32)
    assert guard(data, "op", cfg=cfg_for(policy)) is data


class _Subclass(np.ndarray):
    pass


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    "make",
    [
        lambda: np.linspace(-1, 1, 64, dtype=np.float32)[::2],
        lambda: np.linspace(-1, 1, 64, dtype=np.float64),
        lambda: np.linspace(-1, 1, 64, dtype=np.float32).reshape(-1, 1),
        lambda: np.linspace(-1, 1, 64, dtype=np.float32).astype(">f4"),
        lambda: np.full(8, 0.5, np.float32).view(_Subclass),
    ],
    ids=["strided", "float64", "column", "big-endian", "subclass"],
)
def test_anything_else_gives_a_new_array(policy, make):
    data = make()
    result = guard(data, "op", cfg=cfg_for(policy))
    assert_output(result)
    assert result is not data and not np.shares_memory(result, data)
    plain = np.asarray(data)
    np.testing.assert_array_equal(result, reference_mono(plain.astype(plain.dtype.newbyteorder("="))))


def test_repair_never_writes_into_the_callers_array():
    data = np.array([np.nan, np.inf, -np.inf, 1e9, 0.5], np.float32)
    saved = data.copy()
    result = guard(data, "op")
    assert result is not data and not np.shares_memory(result, data)
    np.testing.assert_array_equal(data, saved)
    data.setflags(write=False)
    guard(data, "op")  # read-only input works too


@pytest.mark.parametrize("policy", POLICIES)
def test_out_is_reused(policy):
    out = np.empty(256, np.float32)
    raw = (np.arange(512, dtype=np.int16) - 256).reshape(256, 2)
    result = guard(raw, "op", cfg=cfg_for(policy), out=out)
    assert result is out
    np.testing.assert_array_equal(out, reference_mono(raw))
    clean = np.full(256, 0.25, np.float32)
    assert guard(clean, "op", cfg=cfg_for(policy), out=out) is out
    np.testing.assert_array_equal(out, clean)
    longer = np.zeros(1000, np.float32)
    shorter = guard(clean, "op", cfg=cfg_for(policy), out=longer)
    assert shorter.shape == (256,) and np.shares_memory(shorter, longer) and longer[256] == 0.0
    np.testing.assert_array_equal(shorter, clean)


def test_out_receives_repairs():
    out = np.empty(3, np.float32)
    data = np.array([np.nan, 1e9, 0.5], np.float32)
    assert guard(data, "op", out=out) is out
    np.testing.assert_array_equal(out, [0.0, 100.0, 0.5])
    assert np.isnan(data[0])


@pytest.mark.parametrize(
    "bad_out",
    [np.empty(3, np.float32), np.empty(8, np.float64), np.empty((8, 1), np.float32), np.empty(16, np.float32)[::2], [0.0] * 8],
    ids=["short", "float64", "2-D", "strided", "list"],
)
def test_bad_out_is_a_value_error(bad_out):
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*out"):
        guard(np.zeros(8, np.float32), "op", out=bad_out)
    readonly = np.empty(8, np.float32)
    readonly.setflags(write=False)
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: .*out"):
        guard(np.zeros(8, np.float32), "op", out=readonly)


# --- logging ---------------------------------------------------------------------------------


def test_clean_path_logs_nothing(caplog):
    caplog.set_level(logging.DEBUG, logger="voiceflow.guard")
    guard(np.zeros(512, np.float32), "op")
    guard(np.zeros((512, 2), np.int16), "op")
    guard(np.full(16, 5.0), "op", cfg=cfg_for("reject"))
    guard(None, "op", allow_empty=True)
    guard(np.zeros(0), "op", allow_empty=True)
    assert caplog.records == []


def test_repair_is_logged_with_counts(caplog):
    caplog.set_level(logging.DEBUG, logger="voiceflow.guard")
    guard(np.array([np.nan, np.nan, np.inf, -np.inf, -np.inf, 1e9], np.float32), "mic")
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.name == "voiceflow.guard"
    text = record.getMessage()
    assert text.startswith("[AudioGuard] mic: ")
    assert "2 NaN" in text and "1 +inf" in text and "2 -inf" in text and "clipped 1" in text


def test_repair_lines_are_rate_limited_per_operation(caplog, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(guard_module, "_monotonic", lambda: now[0])
    caplog.set_level(logging.DEBUG, logger="voiceflow.guard")
    broken = np.array([np.nan, 0.0], np.float32)
    for _ in range(50):
        guard(broken, "mic")
        now[0] += 0.01
    assert len(caplog.records) == 1
    guard(broken, "other")
    assert len(caplog.records) == 2  # another operation_name has its own budget
    now[0] += 1.0
    guard(broken, "mic")
    assert len(caplog.records) == 3
    assert "49 similar" in caplog.records[-1].getMessage()


def test_amplitude_warning_only_when_enabled(caplog):
    caplog.set_level(logging.DEBUG, logger="voiceflow.guard")
    loud = np.array([20.0, 0.0], np.float32)
    guard(loud, "op", cfg=Config())  # disable_amplitude_warnings defaults to True
    assert caplog.records == []
    guard(loud, "op", cfg=Config(disable_amplitude_warnings=False))
    [record] = caplog.records
    assert record.levelno == logging.WARNING and "amplitude" in record.getMessage()


# --- properties ------------------------------------------------------------------------------

SPECIAL_FLOATS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, 5e-324, 3.4e38, -3.4e38, 1.7e308, 65504.0, 1e9]


@st.composite
def audio_arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(SUPPORTED)))
    frames = draw(st.integers(1, 300))
    shape = (frames,) if draw(st.booleans()) else (frames, draw(st.integers(1, 8)))
    data = draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(dtype)))
    if dtype.kind == "f" and draw(st.booleans()):
        flat = data.reshape(-1)
        for index in draw(st.lists(st.integers(0, flat.size - 1), max_size=6)):
            with np.errstate(over="ignore"):
                flat[index] = draw(st.sampled_from(SPECIAL_FLOATS))
    layout = draw(st.sampled_from(["c", "strided", "fortran"]))
    if layout == "strided":
        data = np.repeat(data, 2, axis=0)[::2]
    elif layout == "fortran":
        data = np.asfortranarray(data)
    data.setflags(write=False)
    return data


@given(data=audio_arrays(), policy=st.sampled_from(POLICIES), limit=st.sampled_from([100.0, 10.0, 1.0, 0.3, 1e30]))
def test_property_matches_reference_and_never_touches_input(data, policy, limit):
    saved = data.copy()
    field = "audio_clip_limit" if policy == "repair" else "audio_reject_amplitude"
    cfg = cfg_for(policy, **{field: limit})
    mono = reference_mono(data)
    if policy == "reject" and reference_is_bad(mono, limit):
        with pytest.raises(ValueError, match=r"^\[AudioGuard\] prop: "):
            guard(data, "prop", cfg=cfg)
    else:
        result = guard(data, "prop", cfg=cfg)
        assert_output(result)
        assert np.isfinite(result).all()
        assert (np.abs(result) <= np.float32(limit)).all()
        expected = reference_repair(mono, limit) if policy == "repair" else mono
        np.testing.assert_array_equal(result, expected)
        if result is not data:
            assert not np.shares_memory(result, data)
    np.testing.assert_array_equal(data, saved)
    assert data.dtype == saved.dtype and data.shape == saved.shape


@settings(max_examples=30)
@given(data=audio_arrays())
def test_property_every_backend_gives_the_same_result(data):
    results = []
    before = voiceflow_core.active_backend()
    try:
        for name in voiceflow_core.available_backends():
            voiceflow_core.use_backend(name)
            results.append(guard(data, "prop"))
    finally:
        voiceflow_core.use_backend(before)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


garbage = st.one_of(
    st.text(max_size=5),
    st.binary(max_size=5),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.complex_numbers(allow_nan=False),
    st.booleans(),
    st.lists(st.one_of(st.text(max_size=2), st.none()), min_size=1, max_size=3),
    st.lists(st.lists(st.floats(), min_size=1, max_size=3), min_size=2, max_size=3).filter(
        lambda rows: len({len(r) for r in rows}) > 1
    ),
    hnp.arrays(st.sampled_from(["bool", "complex64", "complex128", "U3", "S2", "O", "uint64", "m8[s]"]), st.integers(1, 5)),
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=3, max_dims=4, min_side=1, max_side=3)),
    hnp.arrays(np.int16, st.tuples(st.integers(1, 3), st.integers(65, 80))),
)


@given(junk=garbage, policy=st.sampled_from(POLICIES), allow_empty=st.booleans())
def test_property_unsupported_input_is_value_error_never_type_error(junk, policy, allow_empty):
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] junk: "):
        guard(junk, "junk", allow_empty=allow_empty, cfg=cfg_for(policy))


def test_drop_in_names_are_importable_from_voiceflow():
    import voiceflow
    from voiceflow.audio.ring import BoundedRingBuffer
    from voiceflow.audio.validator import SmartAudioValidator

    assert voiceflow.audio_validation_guard is guard
    assert voiceflow.BoundedRingBuffer is BoundedRingBuffer
    assert voiceflow.SmartAudioValidator is SmartAudioValidator
    assert {"audio_validation_guard", "BoundedRingBuffer", "SmartAudioValidator"} <= set(voiceflow.__all__)
