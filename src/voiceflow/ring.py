"""Drop-in import path: ``from voiceflow.ring import BoundedRingBuffer`` (lives in
:mod:`voiceflow.audio.ring`)."""

from voiceflow.audio.ring import *  # noqa: F401,F403
from voiceflow.audio.ring import __all__  # noqa: F401
