"""Baseline for the benchmarks: the old VoiceFlow app's guard and ring buffer, re-implemented.

Source: GrimFandango42/VoiceFlow, ``src/voiceflow/core/audio_enhanced.py`` (the version whose
``audio_validation_guard`` takes ``cfg`` and has ``_fast_audio_validation_guard``) and
``src/voiceflow/utils/validation.py`` (``validate_audio_data``, which the default path calls
first).  The logic, the order of the NumPy calls and the eager f-string logging are kept as they
were, so the timings measure what the app really did.  Only two things differ: the module has no
``sounddevice``/``Config`` imports, and ``BoundedRingBuffer.__init__`` does not ``print``.

Do not "fix" anything here: the bugs (integer PCM cast without scaling, the fast path flattening
stereo into interleaved samples and writing into the caller's array, sampled NaN checks, the
``samples_written`` reset) are the baseline the drop-in replacement is measured and documented
against.  This file is benchmark support only; it is not part of the library.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Optional

import numpy as np

logger = logging.getLogger("voiceflow.core.audio_enhanced")


class ValidationError(Exception):
    """The old ``voiceflow.utils.validation.ValidationError``."""


def validate_audio_data(audio_data: Any, field_name: str = "audio") -> np.ndarray:
    """The old centralized "security" validation, run first by the default guard path."""
    if not isinstance(audio_data, np.ndarray):
        raise ValidationError(f"{field_name} must be numpy array, got {type(audio_data)}")

    if audio_data.size == 0:
        raise ValidationError(f"{field_name} cannot be empty")

    if len(audio_data.shape) > 2:
        raise ValidationError(f"{field_name} has too many dimensions: {len(audio_data.shape)}")

    if np.any(np.isnan(audio_data)):
        raise ValidationError(f"{field_name} contains NaN values")

    if np.any(np.isinf(audio_data)):
        raise ValidationError(f"{field_name} contains infinite values")

    max_val = np.max(np.abs(audio_data))
    if max_val > 10.0:
        raise ValidationError(f"{field_name} amplitude too high: {max_val}")

    return audio_data


def audio_validation_guard(
    audio_data: np.ndarray,
    operation_name: str = "audio_operation",
    allow_empty: bool = False,
    cfg: Optional[Any] = None,
) -> np.ndarray:
    """The old guard: strict default path, or the sampled fast path when the cfg asks for it."""
    if audio_data is None:
        error_msg = f"[AudioGuard] {operation_name}: Audio data is None"
        logger.error(error_msg)
        if allow_empty:
            return np.array([], dtype=np.float32)
        raise ValueError(error_msg)

    if cfg and getattr(cfg, "enable_fast_audio_validation", False):
        return _fast_audio_validation_guard(audio_data, operation_name, allow_empty, cfg)

    try:
        validated_audio = validate_audio_data(audio_data, f"{operation_name}_audio")
    except ValidationError as e:
        error_msg = f"[AudioGuard] {operation_name}: Security validation failed: {e}"
        logger.error(error_msg)
        raise ValueError(error_msg)

    audio_data = validated_audio

    if not isinstance(audio_data, np.ndarray):
        try:
            audio_data = np.array(audio_data, dtype=np.float32)
            logger.warning(f"[AudioGuard] {operation_name}: Converted input to numpy array")
        except Exception as e:
            error_msg = f"[AudioGuard] {operation_name}: Cannot convert input to numpy array: {e}"
            logger.error(error_msg)
            raise ValueError(error_msg)

    if audio_data.size == 0:
        if allow_empty:
            logger.info(f"[AudioGuard] {operation_name}: Empty audio array (allowed)")
            return np.array([], dtype=np.float32)
        else:
            error_msg = f"[AudioGuard] {operation_name}: Empty audio array not allowed"
            logger.error(error_msg)
            raise ValueError(error_msg)

    if audio_data.ndim > 2:
        error_msg = f"[AudioGuard] {operation_name}: Audio data has too many dimensions: {audio_data.ndim}"
        logger.error(error_msg)
        raise ValueError(error_msg)

    original_shape = audio_data.shape  # noqa: F841  (kept: the old code computed it)
    if audio_data.ndim == 2:
        if audio_data.shape[1] > 1:
            audio_data = np.mean(audio_data, axis=1)
            logger.info(f"[AudioGuard] {operation_name}: Converted stereo to mono")
        else:
            audio_data = audio_data.flatten()

    if audio_data.dtype != np.float32:
        try:
            audio_data = audio_data.astype(np.float32)
            logger.info(f"[AudioGuard] {operation_name}: Converted dtype to float32")
        except Exception as e:
            error_msg = f"[AudioGuard] {operation_name}: Cannot convert to float32: {e}"
            logger.error(error_msg)
            raise ValueError(error_msg)

    nan_count = np.count_nonzero(np.isnan(audio_data))
    if nan_count > 0:
        logger.warning(f"[AudioGuard] {operation_name}: Found {nan_count} NaN values, replacing with zeros")
        audio_data = np.nan_to_num(audio_data, nan=0.0, copy=False)

    inf_count = np.count_nonzero(np.isinf(audio_data))
    if inf_count > 0:
        logger.warning(f"[AudioGuard] {operation_name}: Found {inf_count} infinite values, clamping")
        audio_data = np.nan_to_num(audio_data, posinf=32.0, neginf=-32.0, copy=False)

    max_amplitude = np.max(np.abs(audio_data))
    safe_max = 100.0

    if max_amplitude > safe_max:
        logger.warning(
            f"[AudioGuard] {operation_name}: Extreme amplitude {max_amplitude:.2f}, clamping to ±{safe_max}"
        )
        audio_data = np.clip(audio_data, -safe_max, safe_max)
        max_amplitude = safe_max

    if max_amplitude > 10.0:
        logger.warning(f"[AudioGuard] {operation_name}: High audio amplitude: {max_amplitude:.2f}")
    elif max_amplitude == 0.0:
        logger.info(f"[AudioGuard] {operation_name}: Silent audio (all zeros)")

    logger.debug(
        f"[AudioGuard] {operation_name}: Validation complete - "
        f"Shape: {audio_data.shape}, Max: {max_amplitude:.3f}, "
        f"NaN fixed: {nan_count}, Inf fixed: {inf_count}"
    )

    return audio_data


def _fast_audio_validation_guard(
    audio_data: np.ndarray, operation_name: str, allow_empty: bool, cfg: Any
) -> np.ndarray:
    """The old sampled fast path: looks at 1 sample in 20 of arrays over 1000 samples."""
    if not isinstance(audio_data, np.ndarray):
        audio_data = np.array(audio_data, dtype=np.float32)

    if audio_data.size == 0:
        if allow_empty:
            return np.array([], dtype=np.float32)
        raise ValueError(f"[FastGuard] {operation_name}: Empty audio not allowed")

    if audio_data.ndim > 1:
        audio_data = audio_data.flatten()

    if audio_data.dtype != np.float32:
        audio_data = audio_data.astype(np.float32)

    sample_rate = getattr(cfg, "audio_validation_sample_rate", 0.05)
    if getattr(cfg, "fast_nan_inf_detection", True) and audio_data.size > 1000:
        step_size = max(1, int(1.0 / sample_rate))
        sample_indices = slice(0, None, step_size)
        sample_data = audio_data[sample_indices]

        if np.any(np.isnan(sample_data)):
            audio_data = np.nan_to_num(audio_data, nan=0.0, copy=False)

        if np.any(np.isinf(sample_data)):
            audio_data = np.nan_to_num(audio_data, posinf=32.0, neginf=-32.0, copy=False)

        sample_max = np.max(np.abs(sample_data))
        if sample_max > 100.0:
            audio_data = np.clip(audio_data, -100.0, 100.0)
    else:
        audio_data = np.nan_to_num(audio_data, nan=0.0, posinf=32.0, neginf=-32.0, copy=False)
        if np.max(np.abs(audio_data)) > 100.0:
            audio_data = np.clip(audio_data, -100.0, 100.0)

    if not getattr(cfg, "disable_amplitude_warnings", True):
        max_amp = np.max(np.abs(audio_data))
        if max_amp > 10.0:
            logger.warning(f"[FastGuard] {operation_name}: High amplitude: {max_amp:.2f}")

    return audio_data


class FastConfig:
    """The old config's performance-mode flags (what selected the sampled path)."""

    enable_fast_audio_validation = True
    audio_validation_sample_rate = 0.05
    fast_nan_inf_detection = True
    disable_amplitude_warnings = True


class BoundedRingBuffer:
    """The old ring buffer: guard (default path) + ``threading.Lock`` + slice writes."""

    def __init__(self, max_duration_seconds: float, sample_rate: int):
        self.max_samples = int(max_duration_seconds * sample_rate)
        self.sample_rate = sample_rate
        self.buffer = np.zeros(self.max_samples, dtype=np.float32)
        self.write_pos = 0
        self.samples_written = 0
        self.lock = threading.Lock()

    def append(self, data: np.ndarray):
        with self.lock:
            try:
                data = audio_validation_guard(data, "RingBuffer.append", allow_empty=True)

                if data.size == 0:
                    return

                data_len = len(data)

                if data_len >= self.max_samples:
                    data = data[-self.max_samples :]
                    data_len = len(data)
                    self.buffer[:data_len] = data
                    self.write_pos = data_len % self.max_samples
                    self.samples_written = data_len
                    return

                end_pos = self.write_pos + data_len

                if end_pos <= self.max_samples:
                    self.buffer[self.write_pos : end_pos] = data
                else:
                    first_part_len = self.max_samples - self.write_pos
                    self.buffer[self.write_pos :] = data[:first_part_len]
                    remaining = data[first_part_len:]
                    self.buffer[: len(remaining)] = remaining

                self.write_pos = end_pos % self.max_samples
                self.samples_written += data_len

            except Exception as e:
                logger.error(f"[RingBuffer] Critical error in append: {e}")
                return

    def get_data(self) -> np.ndarray:
        with self.lock:
            if self.samples_written == 0:
                return np.array([], dtype=np.float32)

            if self.samples_written < self.max_samples:
                return self.buffer[: self.write_pos].copy()
            else:
                return np.concatenate([self.buffer[self.write_pos :], self.buffer[: self.write_pos]])

    def clear(self):
        with self.lock:
            self.write_pos = 0
            self.samples_written = 0

    def get_duration_seconds(self) -> float:
        with self.lock:
            return min(self.samples_written, self.max_samples) / self.sample_rate
