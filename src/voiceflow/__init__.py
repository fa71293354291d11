"""voiceflow: fast, safe, local push-to-talk dictation.

The drop-in audio pieces (``audio_validation_guard``, ``BoundedRingBuffer``,
``SmartAudioValidator``) import instantly; the speech-recognition and capture classes are loaded
on first use, so ``import voiceflow`` never pulls in faster-whisper or PortAudio by itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from voiceflow.config import MODES, AsrConfig, CaptureConfig, Config
from voiceflow.guard import audio_validation_guard
from voiceflow.ring import BoundedRingBuffer
from voiceflow.validator import SmartAudioValidator

if TYPE_CHECKING:
    from voiceflow.capture import CaptureStats, Recorder
    from voiceflow.devices import DeviceError
    from voiceflow.pipeline import PipelinedTranscriber, PipelineResult
    from voiceflow.transcriber import Segment, Timings, Transcriber, Transcript

__version__ = "0.1.0"

_LAZY = {
    "resolve_model": "voiceflow.models",
    "ModelNotFoundError": "voiceflow.models",
    "Transcriber": "voiceflow.transcriber",
    "Transcript": "voiceflow.transcriber",
    "Segment": "voiceflow.transcriber",
    "Timings": "voiceflow.transcriber",
    "PipelinedTranscriber": "voiceflow.pipeline",
    "PipelineResult": "voiceflow.pipeline",
    "Recorder": "voiceflow.capture",
    "CaptureStats": "voiceflow.capture",
    "DeviceError": "voiceflow.devices",
}

__all__ = [
    "MODES",
    "AsrConfig",
    "CaptureConfig",
    "BoundedRingBuffer",
    "Config",
    "SmartAudioValidator",
    "audio_validation_guard",
    *_LAZY,
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'voiceflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
