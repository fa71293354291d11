"""Mode presets over the one frozen Config (voiceflow.config MODES / AsrConfig)."""

from __future__ import annotations

import dataclasses
import os

import pytest

from voiceflow.config import MODES, AsrConfig, Config


def test_the_three_modes_exist_and_balanced_is_the_default():
    assert set(MODES) == {"quality", "balanced", "speed"}
    assert Config.for_mode("balanced").asr == Config().asr.__class__(**{
        **dataclasses.asdict(AsrConfig()), **MODES["balanced"]
    })


def test_default_config_is_the_balanced_preset():
    assert Config() == Config.for_mode("balanced")


def test_every_preset_names_real_fields():
    fields = {f.name for f in dataclasses.fields(AsrConfig)}
    for mode, settings in MODES.items():
        assert set(settings) <= fields, mode


def test_modes_differ_in_the_documented_direction():
    quality, balanced, speed = (Config.for_mode(m).asr for m in ("quality", "balanced", "speed"))
    assert speed.beam_size == 1 < balanced.beam_size <= quality.beam_size
    assert quality.context == "full" and balanced.context == speed.context == "adaptive"
    assert len(quality.temperatures) > 1 and balanced.temperatures == (0.0,)
    assert quality.timestamps and balanced.timestamps and not speed.timestamps


def test_overrides_reach_any_section_field_and_top_level_fields():
    cfg = Config.for_mode("speed", beam_size=3, context_pad_s=2.0, audio_clip_limit=5.0)
    assert cfg.asr.beam_size == 3 and cfg.asr.context_pad_s == 2.0 and cfg.audio_clip_limit == 5.0
    assert cfg.asr.context == MODES["speed"]["context"]  # the rest of the preset is kept


def test_replace_routes_section_fields_and_keeps_config_frozen():
    cfg = Config().replace(workers=3)
    assert cfg.asr.workers == 3 and Config().asr.workers == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.asr.workers = 3  # type: ignore[misc]


def test_unknown_mode_and_unknown_field_are_clear_errors():
    with pytest.raises(ValueError, match="unknown mode 'turbo'"):
        Config.for_mode("turbo")
    with pytest.raises(TypeError, match="'beam' is not a Config field"):
        Config.for_mode("speed", beam=2)


def test_transcriber_settings_follow_the_mode():
    pytest.importorskip("faster_whisper")
    from voiceflow.asr.transcriber import Transcriber

    with Transcriber(mode="speed", context_pad_s=5.0) as t:
        assert t.config.asr.beam_size == MODES["speed"]["beam_size"]
        assert t.config.asr.context_pad_s == 5.0
        assert t.compute_type == "int8" and t.cpu_threads == 1 and t.device == "cpu"
    with Transcriber(mode="quality") as t:  # every call encodes the 30 s window: two threads
        assert t.cpu_threads == min(2, os.cpu_count() or 1)
    with Transcriber(mode="quality", cpu_threads=1) as t:
        assert t.cpu_threads == 1
    with pytest.raises(ValueError, match="unknown mode"):
        Transcriber(mode="fastest")
    with pytest.raises(ValueError, match="context"):
        Transcriber(context="tiny")
