"""Drop-in import path: ``from voiceflow.guard import audio_validation_guard`` (lives in
:mod:`voiceflow.audio.guard`)."""

from voiceflow.audio.guard import *  # noqa: F401,F403
from voiceflow.audio.guard import __all__  # noqa: F401
