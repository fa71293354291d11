"""voiceflow: fast, safe, local push-to-talk dictation.

The drop-in audio pieces (``audio_validation_guard``, ``BoundedRingBuffer``,
``SmartAudioValidator``) import instantly; the speech-recognition and capture classes are loaded
on first use, so ``import voiceflow`` never pulls in faster-whisper or PortAudio by itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from voiceflow.config import MODES, AsrConfig, CaptureConfig, Config
from voiceflow.audio.guard import audio_validation_guard
from voiceflow.audio.ring import BoundedRingBuffer
from voiceflow.audio.validator import SmartAudioValidator

if TYPE_CHECKING:
    from voiceflow.capture.recorder import CaptureStats, Recorder
    from voiceflow.capture.devices import DeviceError
    from voiceflow.asr.pipeline import PipelinedTranscriber, PipelineResult
    from voiceflow.asr.stream import StreamUpdate, TranscriptStream
    from voiceflow.asr.transcriber import Segment, Timings, Transcriber, Transcript

__version__ = "0.1.0"

_LAZY = {
    "resolve_model": "voiceflow.asr.models",
    "ModelNotFoundError": "voiceflow.asr.models",
    "Transcriber": "voiceflow.asr.transcriber",
    "Transcript": "voiceflow.asr.transcriber",
    "Segment": "voiceflow.asr.transcriber",
    "Timings": "voiceflow.asr.transcriber",
    "TranscriptStream": "voiceflow.asr.stream",
    "StreamUpdate": "voiceflow.asr.stream",
    "PipelinedTranscriber": "voiceflow.asr.pipeline",
    "PipelineResult": "voiceflow.asr.pipeline",
    "Recorder": "voiceflow.capture.recorder",
    "CaptureStats": "voiceflow.capture.recorder",
    "DeviceError": "voiceflow.capture.devices",
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
