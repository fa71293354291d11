"""Drop-in import path: ``from voiceflow.validator import SmartAudioValidator`` (lives in
:mod:`voiceflow.audio.validator`)."""

from voiceflow.audio.validator import *  # noqa: F401,F403
from voiceflow.audio.validator import __all__  # noqa: F401
