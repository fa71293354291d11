"""One frozen configuration object for the whole library.

``Config`` holds the audio-guard fields at top level (the drop-in guard reads them with
``getattr``, exactly as the old app read its config) and one nested, frozen section per layer
(``asr``, ``capture``).  The named modes (``quality``, ``balanced``, ``speed``) are presets over
this one object: ``Config.for_mode("speed", beam_size=2)`` returns a new ``Config``; any field of
any section can be overridden by name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

GuardPolicy = Literal["repair", "reject"]


@dataclass(frozen=True)
class Config:
    """Library-wide settings (immutable; derive variants with :meth:`replace`)."""

    # --- audio guard (names kept from the original app's config) -------------------------
    audio_guard_policy: GuardPolicy = "repair"
    """``"repair"``: fix NaN/inf/over-range samples and count them; ``"reject"``: raise."""
    audio_clip_limit: float = 100.0
    """Repair policy: samples are clipped to ``[-audio_clip_limit, +audio_clip_limit]``."""
    audio_reject_amplitude: float = 10.0
    """Reject policy: any ``|x|`` above this raises ``ValueError``."""
    disable_amplitude_warnings: bool = True
    """Silence the high-amplitude warning (the old default)."""
    enable_fast_audio_validation: bool = True
    """Accepted for compatibility; every sample is always checked."""
    audio_validation_sample_rate: float = 0.05
    """Accepted for compatibility; every sample is always checked."""
    fast_nan_inf_detection: bool = True
    """Accepted for compatibility; every sample is always checked."""

    def replace(self, **changes: Any) -> "Config":
        """Return a copy with ``changes`` applied (top-level or section field names)."""
        return dataclasses.replace(self, **changes)
