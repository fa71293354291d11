"""``SmartAudioValidator``: the class name the old roadmap used, now a thin front for the guard.

The roadmap's validator skipped most callbacks (``validation_frequency``) and looked at a random
fraction of the samples (``sample_rate``) to save time.  Both knobs are still accepted, so code
written against the roadmap keeps working, but they change nothing: every call checks every
sample, because the compiled fused check costs less than the old sampled one did
(``benches/bench_core.py`` measures both).

The old class's state and statistics are kept in their shape (``callback_count``,
``hardware_trust_level``, ``consecutive_passes``, ``full_validations``,
``statistical_validations``, ``get_performance_stats()``), with their meaning restated for a
validator that never skips: see :class:`SmartAudioValidator`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from voiceflow.audio.guard import audio_validation_guard

__all__ = ["SmartAudioValidator"]

MAX_TRUST_LEVEL = 10
"""The old class's 0-10 scale."""
EMPTY_OK_OPERATIONS = ("ContinuousCallback", "PreBuffer")
"""Operation names for which an empty array is returned as is (the old class's rule), like every
name starting with :data:`EMPTY_OK_PREFIX`."""
EMPTY_OK_PREFIX = "ASR_"
_CALLBACK_OPERATIONS = ("AudioCallback", "Recording")


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

    Empty input: as in the old class, an empty array (not ``None``) passed as
    ``"ContinuousCallback"``, ``"PreBuffer"`` or any ``"ASR_*"`` operation returns a new empty
    float32 array even without ``allow_empty``; other names follow the guard.

    State, as the old class named it (all ints; informational -- none of it changes what is
    checked):

    * ``total_validations``: calls; ``full_validations``: calls that ran the guard (all of
      them); ``statistical_validations``: always 0 (nothing is sampled);
    * ``callback_count``: calls named ``"AudioCallback"`` or ``"Recording"``;
      ``continuous_callback_count``: calls named ``"ContinuousCallback"``;
    * ``consecutive_passes``: calls in a row that returned a result (a ``ValueError`` resets it
      to 0; a block the guard repaired still passes); ``hardware_trust_level``: the same,
      capped at 10 (the old 0-10 scale); ``last_validation_passed``.

    Threading: calls may come from several threads; the counters are updated under one lock.
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
        self.full_validations = 0
        self.statistical_validations = 0
        self.callback_count = 0
        self.continuous_callback_count = 0
        self.consecutive_passes = 0
        self.hardware_trust_level = 0
        self.last_validation_passed = True
        self.start_time = time.time()

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
            self.full_validations += 1
            if operation_name in _CALLBACK_OPERATIONS:
                self.callback_count += 1
            elif operation_name == "ContinuousCallback":
                self.continuous_callback_count += 1
        if not allow_empty and audio_data is not None and _empty_ok(operation_name):
            allow_empty = True  # an empty array (not None) is fine for these operations
        try:
            result = audio_validation_guard(audio_data, operation_name, allow_empty, self.cfg, out=out)
        except ValueError:
            with self._count_lock:
                self.consecutive_passes = 0
                self.hardware_trust_level = 0
                self.last_validation_passed = False
            raise
        with self._count_lock:
            self.consecutive_passes += 1
            self.hardware_trust_level = min(MAX_TRUST_LEVEL, self.consecutive_passes)
            self.last_validation_passed = True
        return result

    validate = fast_validate

    def get_performance_stats(self) -> dict:
        """The old class's statistics, same keys (``statistical_*`` are 0: nothing is sampled)."""
        runtime = time.time() - self.start_time
        with self._count_lock:
            total = self.total_validations
            return {
                "total_validations": total,
                "statistical_validations": self.statistical_validations,
                "full_validations": self.full_validations,
                "statistical_percentage": 100.0 * self.statistical_validations / max(1, total),
                "hardware_trust_level": self.hardware_trust_level,
                "consecutive_passes": self.consecutive_passes,
                "runtime_seconds": runtime,
                "validations_per_second": total / max(0.1, runtime),
            }

    def reset_trust_level(self) -> None:
        """Set ``hardware_trust_level`` and ``consecutive_passes`` to 0 (as the old class did);
        checking is unaffected, it never depended on them."""
        with self._count_lock:
            self.hardware_trust_level = 0
            self.consecutive_passes = 0


def _empty_ok(operation_name: str) -> bool:
    return operation_name in EMPTY_OK_OPERATIONS or (
        isinstance(operation_name, str) and operation_name.startswith(EMPTY_OK_PREFIX)
    )
