"""Lean log-mel features (voiceflow.asr.features) against faster-whisper's extractor."""

from __future__ import annotations

import numpy as np
import pytest
from faster_whisper.feature_extractor import FeatureExtractor
from hypothesis import given, settings
from hypothesis import strategies as st

from voiceflow.asr.features import mel_filters, silence_padded_log_mel


def reference(audio: np.ndarray, frames: int, pad_seconds: float = 31.0) -> np.ndarray:
    """faster-whisper's features of the audio followed by plenty of zero samples."""
    padded = np.concatenate([audio, np.zeros(int(16000 * pad_seconds), np.float32)])
    return FeatureExtractor()(padded)[:, :-1][:, :frames]


def test_filters_match_faster_whisper():
    np.testing.assert_allclose(mel_filters(80), FeatureExtractor.get_mel_filters(16000, 400, 80), rtol=1e-6)


@pytest.mark.parametrize("n_samples, frames", [(32123, 900), (16000 * 5, 3000), (400, 100), (0, 50), (1, 2)])
def test_equals_extractor_on_zero_padded_audio(n_samples, frames):
    audio = (0.1 * np.random.default_rng(n_samples).standard_normal(n_samples)).astype(np.float32)
    got = silence_padded_log_mel(audio, frames)
    assert got.shape == (80, frames) and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, reference(audio, frames, pad_seconds=frames / 100 + 1), atol=2e-5)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=16000 * 3), st.floats(min_value=1e-4, max_value=1.0))
def test_equals_extractor_property(n_samples, level):
    audio = (level * np.random.default_rng(n_samples).standard_normal(n_samples)).astype(np.float32)
    frames = -(-n_samples // 160) + 200
    np.testing.assert_allclose(silence_padded_log_mel(audio, frames), reference(audio, frames, 3.5), atol=2e-5)


def test_silence_is_flat():
    assert np.ptp(silence_padded_log_mel(np.zeros(8000, np.float32), 600)) < 1e-6



def test_banded_projection_is_the_exact_filter_product_rounded_once():
    from voiceflow.asr.features import _mel_project

    power = np.random.default_rng(5).random((201, 333)).astype(np.float32) * 100
    exact = (mel_filters(80).astype(np.float64) @ power.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(_mel_project(power, 80), exact)


_SPIN_PROBE = """
import time, numpy as np
from voiceflow.asr.features import silence_padded_log_mel
audio = (0.1 * np.random.default_rng(0).standard_normal(48000)).astype(np.float32)
for _ in range(3):
    silence_padded_log_mel(audio, 1000)
start = time.process_time()
time.sleep(0.2)
print(time.process_time() - start)
"""


def test_features_leave_no_blas_thread_spinning():
    """After the features are computed, the process is idle while the caller waits; a BLAS
    matrix product would leave OpenBLAS/MKL workers spinning on the other cores (about one
    core-second per second for tens of milliseconds)."""
    import subprocess
    import sys

    busy = float(subprocess.run([sys.executable, "-c", _SPIN_PROBE], capture_output=True, text=True, check=True).stdout)
    assert busy < 0.05, f"{busy * 1000:.0f} ms of CPU burnt during a 200 ms sleep after the features"
