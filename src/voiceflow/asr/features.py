"""Whisper's log-mel features, computed lean.

Numerically the same as faster-whisper's ``FeatureExtractor`` (Hann-windowed 400-point STFT,
10 ms hop, Slaney mel filters, ``log10``, clamp at ``max - 8``, ``(x + 4) / 4``) but about 8x
faster on short clips: one real FFT over a strided frame view and a banded mel projection.
Audio is followed by silence -- the padding OpenAI's Whisper uses for its 30 s window -- and
only the columns that see audio are computed; the rest are the silence floor.

The mel projection is computed exactly (float64 sums of float32 products, rounded once) as a
handful of banded multiply-adds -- each Slaney filter covers at most 15 adjacent FFT bins --
not as a BLAS matrix product.  So the features do not depend on which BLAS numpy has or how
it orders its sums, and no BLAS worker threads are woken: OpenBLAS and MKL leave them
spinning for tens of milliseconds after a call, taking the CPU the model needs next (median
latency was 10-15 % higher on the 2-core machine).
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160


@functools.lru_cache(maxsize=4)
def mel_filters(n_mels: int = 80, sr: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """Slaney-style mel filter bank (n_mels, n_fft // 2 + 1), float32 (librosa's formula)."""
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mels = np.linspace(0.0, 45.245640471924965, n_mels + 2)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    fdiff = np.diff(freqs)
    ramps = freqs.reshape(-1, 1) - fftfreqs.reshape(1, -1)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (freqs[2 : n_mels + 2] - freqs[:n_mels]))[:, None]
    return np.ascontiguousarray(weights, dtype=np.float32)


@functools.lru_cache(maxsize=4)
def _mel_bands(n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    """Each filter as ``(first bin, weights over its band)``: ``lo`` (n_mels,) and ``weights``
    (n_mels, widest band), zero beyond a filter's own band."""
    filters = mel_filters(n_mels)
    lo = np.zeros(n_mels, dtype=np.intp)
    width = np.ones(n_mels, dtype=np.intp)
    for m, row in enumerate(filters):
        bins = np.flatnonzero(row)
        if bins.size:
            lo[m], width[m] = bins[0], bins[-1] - bins[0] + 1
    weights = np.zeros((n_mels, int(width.max())), dtype=np.float32)
    for m in range(n_mels):
        weights[m, : width[m]] = filters[m, lo[m] : lo[m] + width[m]]
    return lo, weights


def _mel_project(power: np.ndarray, n_mels: int) -> np.ndarray:
    """``mel_filters(n_mels) @ power`` for ``power`` (bins, frames) float32, exact: float64
    sums rounded once to float32; no BLAS."""
    lo, weights = _mel_bands(n_mels)
    bins, frames = power.shape
    padded = np.zeros((bins + weights.shape[1], frames), dtype=np.float64)
    padded[:bins] = power
    weights = weights.astype(np.float64)
    mel = weights[:, :1] * padded[lo]
    for k in range(1, weights.shape[1]):
        mel += weights[:, k : k + 1] * padded[lo + k]
    return mel.astype(np.float32)


@functools.lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1].astype(np.float32)


def silence_padded_log_mel(audio: np.ndarray, frames: int, n_mels: int = 80) -> np.ndarray:
    """Log-mel of ``audio`` followed by silence, exactly ``frames`` columns (10 ms each).

    Equals ``FeatureExtractor()(concatenate([audio, zeros(k)]))[:, :-1][:, :frames]`` for any
    ``k`` long enough, because zero padding cannot raise the global maximum that sets the
    floor.  Returns C-contiguous float32 (n_mels, frames).
    """
    audio = np.asarray(audio, dtype=np.float32)
    # one window of zeros after the audio, so the frames that straddle its end are exact
    x = np.concatenate([audio, np.zeros(N_FFT + HOP, dtype=np.float32)])
    x = np.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect")
    n = min(1 + (len(x) - N_FFT) // HOP - 1, frames)  # the extractor drops its last frame
    view = np.lib.stride_tricks.as_strided(x, (n, N_FFT), (x.strides[0] * HOP, x.strides[0]), writeable=False)
    spectrum = np.fft.rfft(view * _window(), axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    mel = _mel_project(power.T, n_mels)
    log_spec = np.log10(np.maximum(mel, 1e-10))
    peak = float(log_spec.max()) if log_spec.size else -10.0
    floor = max(peak - 8.0, -10.0)  # silence is log10(1e-10) = -10, clamped like the rest
    out = np.full((n_mels, frames), (floor + 4.0) / 4.0, dtype=np.float32)
    np.maximum(log_spec, floor, out=log_spec)
    out[:, :n] = (log_spec + 4.0) / 4.0
    return out
