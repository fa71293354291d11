"""voiceflow: fast, safe, local push-to-talk dictation."""

from voiceflow.config import Config

__version__ = "0.1.0"
__all__ = ["Config", "__version__"]
