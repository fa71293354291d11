"""SmartAudioValidator: the roadmap's class name and knobs, with every sample checked on every call."""

from __future__ import annotations

import types

import numpy as np
import pytest

from voiceflow.config import Config
from voiceflow.audio.guard import audio_validation_guard
from voiceflow.audio.validator import SmartAudioValidator


def test_knobs_are_accepted_from_keywords_and_cfg():
    assert SmartAudioValidator().validation_frequency == 8
    validator = SmartAudioValidator(validation_frequency=10, sample_rate=0.05)
    assert validator.validation_frequency == 10 and validator.sample_rate == 0.05
    from_cfg = SmartAudioValidator(types.SimpleNamespace(validation_frequency=4, audio_validation_sample_rate=0.02))
    assert from_cfg.validation_frequency == 4 and from_cfg.sample_rate == 0.02
    assert SmartAudioValidator(Config()).sample_rate == Config().audio_validation_sample_rate


def test_every_call_checks_every_sample_whatever_the_knobs():
    validator = SmartAudioValidator(validation_frequency=10, sample_rate=0.05)
    for call in range(25):  # the roadmap would have skipped 9 calls in 10 and 95% of the samples
        block = np.full(2048, 0.1, np.float32)
        block[(call * 37 + 1) % 2048] = np.nan
        block[(call * 53 + 3) % 2048] = -np.inf
        result = validator.fast_validate(block, "AudioCallback")
        assert np.isfinite(result).all()
        assert result[(call * 37 + 1) % 2048] == 0.0 and result[(call * 53 + 3) % 2048] == -32.0
    assert validator.get_performance_stats()["full_validations"] == 25
    assert validator.get_performance_stats()["statistical_validations"] == 0


@pytest.mark.parametrize("name", ["ContinuousCallback", "AudioCallback", "ASR_transcribe", "other"])
def test_same_result_as_the_guard_for_every_operation_name(name):
    validator = SmartAudioValidator()
    block = np.array([[np.nan, 0.5], [300.0, 100.0], [0.25, 0.25]], np.float32)
    np.testing.assert_array_equal(validator.fast_validate(block, name), audio_validation_guard(block, name))
    ints = np.arange(-8, 8, dtype=np.int16)
    np.testing.assert_array_equal(validator.fast_validate(ints, name), audio_validation_guard(ints, name))


def test_clean_float32_block_passes_through_uncopied():
    block = np.zeros(512, np.float32)
    assert SmartAudioValidator().fast_validate(block, "AudioCallback") is block


def test_cfg_policy_is_honoured():
    validator = SmartAudioValidator(Config(audio_guard_policy="reject"))
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] AudioCallback: .*1 NaN"):
        validator.fast_validate(np.array([np.nan, 0.0], np.float32), "AudioCallback")


def test_empty_none_and_out():
    validator = SmartAudioValidator()
    with pytest.raises(ValueError, match=r"^\[AudioGuard\] op: "):
        validator.fast_validate(None, "op")
    assert validator.validate(np.zeros(0), "op", allow_empty=True).size == 0
    out = np.empty(4, np.float32)
    assert validator.fast_validate(np.array([1, 2, 3, 4], np.int16), "op", out=out) is out
    np.testing.assert_array_equal(out, np.array([1, 2, 3, 4]) / np.float32(32768))


# --- the old class's empty-input rule and statistics --------------------------------------------
@pytest.mark.parametrize("name", ["ContinuousCallback", "PreBuffer", "ASR_transcribe", "ASR_"])
def test_empty_arrays_pass_for_the_old_lenient_operations(name):
    validator = SmartAudioValidator()
    for empty in (np.array([], np.float32), np.zeros((0, 2), np.int16), []):
        result = validator.validate(empty, name)
        assert result.dtype == np.float32 and result.shape == (0,)
    with pytest.raises(ValueError):  # None is still an error without allow_empty, as before
        validator.validate(None, name)


@pytest.mark.parametrize("name", ["AudioCallback", "Recording", "audio_operation"])
def test_empty_arrays_are_refused_elsewhere(name):
    with pytest.raises(ValueError, match="empty"):
        SmartAudioValidator().validate(np.array([], np.float32), name)


OLD_STATS_KEYS = {
    "total_validations", "statistical_validations", "full_validations", "statistical_percentage",
    "hardware_trust_level", "consecutive_passes", "runtime_seconds", "validations_per_second",
}


def test_statistics_and_attributes_keep_the_old_shape():
    validator = SmartAudioValidator()
    for name in ("callback_count", "hardware_trust_level", "full_validations", "statistical_validations",
                 "consecutive_passes", "total_validations", "continuous_callback_count"):
        assert getattr(validator, name) == 0
    block = np.zeros(512, np.float32)
    for _ in range(12):
        validator.validate(block, "AudioCallback")
    validator.validate(block, "ContinuousCallback")
    validator.validate(block, "Recording")
    stats = validator.get_performance_stats()
    assert set(stats) == OLD_STATS_KEYS
    assert stats["total_validations"] == stats["full_validations"] == 14
    assert stats["statistical_validations"] == 0 and stats["statistical_percentage"] == 0.0
    assert stats["consecutive_passes"] == 14 and stats["hardware_trust_level"] == 10  # capped: 0-10
    assert stats["runtime_seconds"] >= 0 and stats["validations_per_second"] > 0
    assert (validator.callback_count, validator.continuous_callback_count) == (13, 1)

    with pytest.raises(ValueError):
        validator.validate(np.array([], np.float32), "AudioCallback")
    assert (validator.consecutive_passes, validator.hardware_trust_level, validator.last_validation_passed) == (0, 0, False)
    validator.validate(block, "AudioCallback")
    assert (validator.consecutive_passes, validator.hardware_trust_level) == (1, 1)
    validator.reset_trust_level()
    assert (validator.consecutive_passes, validator.hardware_trust_level) == (0, 0)
    assert validator.get_performance_stats()["total_validations"] == 16
