"""``SmartAudioValidator``: the class name the old roadmap used, now a thin front for the guard.

The roadmap's validator skipped most callbacks (``validation_frequency``) and looked at a random
fraction of the samples (``sample_rate``) to save time.  Both knobs are still accepted, so code
written against the roadmap keeps working, but they change nothing: every call checks every
sample, because the compiled fused check costs less than the old sampled one did
(``benches/bench_core.py`` measures both).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from voiceflow.audio.guard import audio_validation_guard

__all__ = ["SmartAudioValidator"]


class SmartAudioValidator:
    """Validate audio blocks with :func:`~voiceflow.audio.guard.audio_validation_guard`, every sample.

    Parameters
    ----------
    cfg
        Any config object (or ``None``), passed to the guard on every call; its
        ``validation_frequency`` and ``audio_validation_sample_rate`` are read for the
        compatibility attributes only.
    validation_frequency, sample_rate
        The roadmap's knobs ("validate every Nth callback", "fraction of samples to look at").
        Kept as attributes for compatibility; they do not reduce checking.

    Threading: calls may come from several threads; the only shared state is a call counter.
    """

    def __init__(
        self,
        cfg: Any = None,
        *,
        validation_frequency: int | None = None,
        sample_rate: float | None = None,
    ) -> None:
        self.cfg = cfg
        self.validation_frequency = (
            validation_frequency if validation_frequency is not None else getattr(cfg, "validation_frequency", 8)
        )
        self.sample_rate = (
            sample_rate if sample_rate is not None else getattr(cfg, "audio_validation_sample_rate", 0.05)
        )
        self._count_lock = threading.Lock()
        self.total_validations = 0

    def fast_validate(
        self,
        audio_data: Any,
        operation_name: str = "audio_operation",
        allow_empty: bool = False,
        *,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return clean mono float32 samples (see ``audio_validation_guard``; raises ``ValueError``)."""
        with self._count_lock:
            self.total_validations += 1
        return audio_validation_guard(audio_data, operation_name, allow_empty, self.cfg, out=out)

    validate = fast_validate

    def get_performance_stats(self) -> dict:
        """The roadmap's statistics: every validation is a full one."""
        return {
            "total_validations": self.total_validations,
            "full_validations": self.total_validations,
            "statistical_validations": 0,
            "statistical_percentage": 0.0,
        }

    def reset_trust_level(self) -> None:
        """Accepted for compatibility; there is no trust level to reset (nothing is skipped)."""
