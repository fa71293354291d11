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


ContextPolicy = Literal["adaptive", "full", "both"]
VadBackend = Literal["energy", "silero"]
Locking = Literal["auto", "always", "never"]


@dataclass(frozen=True)
class AsrConfig:
    """Speech-recognition settings (see ``docs/asr.md`` for how each was chosen)."""

    beam_size: int = 5
    """Beam width of the first (temperature 0) decode; 1 = greedy."""
    beam_below_logprob: float | None = -0.5
    """Greedy first, beam search only when the greedy text's average token log-probability is
    below this, the text is repetitive, or it stops mid-sentence where the speaker stopped (the
    audio's last chunk); ``None``: always beam search."""
    context: ContextPolicy = "adaptive"
    """``"adaptive"``: encode only the utterance plus ``context_pad_s`` of silence (falls back to
    the full window when the decode looks wrong); ``"full"``: always Whisper's 30 s window;
    ``"both"``: decode both and keep the likelier (higher average log-probability)."""
    context_pad_s: float = 6.0
    """Adaptive context: seconds of silence the encoder sees after the end of the speech
    (silence already recorded counts; at least 2 s is appended)."""
    fallback_to_full: bool = True
    """Adaptive context: re-decode with the full 30 s window on a loop, a runaway decode, text
    placed in the padding, or a low average log-probability."""
    retry_pad_s: float | None = 8.0
    """Adaptive context: a decode judged wrong is first redone (same rules) with this many
    seconds of silence after the speech, and only when that fails too with the full window;
    ``None`` (or not more than ``context_pad_s``): straight to the full window."""
    timestamps: bool = True
    """Decode Whisper's timestamp tokens: segment times inside a chunk, and the adaptive-context
    checks that use them (text placed in the padding, speech left uncovered).  ``False``: text
    only -- two to three fewer decoder steps per segment (~4.5 ms each on one CPU core); each chunk
    is then one segment spanning the chunk, and those two checks cannot fire."""
    max_tokens_per_s: float = 8.0
    """Decode budget: at most ``max_tokens_per_s * seconds + max_tokens_base`` new tokens (fast
    speech with timestamps is ~6 tokens/s); a decode that uses it all counts as a runaway."""
    max_tokens_base: int = 16
    temperatures: tuple[float, ...] = (0.0,)
    """Temperature fallback: decode again at the next temperature while the result is repetitive
    or its average log-probability is below ``log_prob_threshold``."""
    best_of: int = 5
    """Candidates sampled at each temperature above 0."""
    log_prob_threshold: float = -1.0
    """Average token log-probability below which a decode counts as failed."""
    no_speech_threshold: float = 0.6
    """A segment is dropped when its no-speech probability is above this *and* its average
    log-probability is below ``log_prob_threshold``."""
    compression_ratio_threshold: float = 2.4
    """gzip compression ratio above which text counts as a repetition loop."""
    vad: VadBackend = "energy"
    """Speech gate and long-audio splitting: ``"energy"`` (compiled frame-energy kernel) or
    ``"silero"`` (faster-whisper's bundled Silero VAD, needs onnxruntime)."""
    speech_margin_db: float = 12.0
    """Energy gate: a frame is speech when louder than the noise floor by this many dB."""
    silence_floor_dbfs: float = -60.0
    """Energy gate: frames quieter than this are never speech (a quieter recording is lifted to
    speech level first: ``voiceflow.asr.chunking.at_speech_level``)."""
    max_chunk_s: float = 24.0
    """Long audio is split at pauses into chunks of at most this many seconds."""
    workers: int = 2
    """CTranslate2 model replicas (``inter_threads``, weights shared): the chunks of long audio
    and concurrent calls decode in parallel, one per replica."""
    locking: Locking = "auto"
    """``"auto"``: no lock with ``workers > 1``; with ``workers=1``, no lock while a single thread
    calls, and once a second thread calls, each whole transcription runs under the lock (first
    come, first served); ``"always"``/``"never"``."""


@dataclass(frozen=True)
class CaptureConfig:
    """Live capture settings (``voiceflow.Recorder``, ``voiceflow dictate``; see docs/capture.md)."""

    input_device: int | str | None = None
    """Input device index or name substring; ``None`` = the system's default input."""
    samplerate: int | None = 16000
    """Rate the stream is opened at (Hz); the device's default rate when it refuses this one."""
    channels: int | None = None
    """Channels captured (downmixed in the callback); ``None`` = mono, or the device's own."""
    blocksize: int | None = None
    """Frames per audio callback; ``None`` = about 32 ms."""
    latency: str | float = "high"
    """PortAudio input latency: ``"low"``, ``"high"`` or seconds."""
    preroll_seconds: float = 1.5
    """Audio kept from before each ``start()``."""
    preroll_used_seconds: float = 0.8
    """How much of the pre-roll an utterance begins with."""
    max_seconds: float = 600.0
    """An utterance ends by itself at this length (the audio up to the limit is kept)."""
    vad_silence_seconds: float = 1.0
    """``dictate --vad``: trailing silence that ends an utterance."""
    vad_threshold_dbfs: float = -40.0
    """``dictate --vad``: frames quieter than this (RMS, dB full scale) count as silence."""


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

    # --- sections ----------------------------------------------------------------------
    asr: AsrConfig = field(default_factory=AsrConfig)
    """Speech recognition (``voiceflow.Transcriber``)."""
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    """Live capture (``voiceflow.Recorder``, ``voiceflow dictate``)."""

    def replace(self, **changes: Any) -> "Config":
        """Return a copy with ``changes`` applied (top-level or section field names)."""
        top: dict[str, Any] = {}
        by_section: dict[str, dict[str, Any]] = {}
        sections = _sections(self)
        for name, value in changes.items():
            if name in _field_names(self):
                top[name] = value
                continue
            owners = [s for s, section in sections.items() if name in _field_names(section)]
            if len(owners) != 1:
                known = sorted(_field_names(self) | {f for s in sections.values() for f in _field_names(s)})
                problem = "is ambiguous" if owners else "is not a Config field"
                raise TypeError(f"{name!r} {problem}; known fields: {', '.join(known)}")
            by_section.setdefault(owners[0], {})[name] = value
        for section_name, section_changes in by_section.items():
            base = top.get(section_name, sections[section_name])
            top[section_name] = dataclasses.replace(base, **section_changes)
        return dataclasses.replace(self, **top)

    @classmethod
    def for_mode(cls, mode: str, **overrides: Any) -> "Config":
        """The preset named ``mode`` (see :data:`MODES`) with ``overrides`` applied on top.

        ``overrides`` may name any field of ``Config`` or of one of its sections.
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        return cls().replace(**MODES[mode]).replace(**overrides)


def _field_names(obj: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(obj)}


def _sections(config: Config) -> dict[str, Any]:
    return {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if dataclasses.is_dataclass(getattr(config, f.name))
    }


MODES: dict[str, dict[str, Any]] = {
    "quality": dict(
        beam_size=5, beam_below_logprob=None, context="full", context_pad_s=6.0, retry_pad_s=None,
        timestamps=True, temperatures=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0), workers=2,
    ),
    "balanced": dict(
        beam_size=5, beam_below_logprob=-0.5, context="adaptive", context_pad_s=6.0, retry_pad_s=8.0,
        timestamps=True, temperatures=(0.0,), workers=2,
    ),
    "speed": dict(
        beam_size=1, beam_below_logprob=None, context="adaptive", context_pad_s=4.0, retry_pad_s=8.0,
        timestamps=False, temperatures=(0.0,), workers=2,
    ),
}
"""Named presets: field overrides applied to the default ``Config`` (documented in docs/asr.md)."""
