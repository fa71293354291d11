"""Render a :class:`~voiceflow.asr.transcriber.Transcript` as txt, json, srt or vtt text.

Each renderer takes a transcript (anything with ``text``, ``segments`` of ``start``/``end``
seconds and ``text``, and ``to_dict()``) and returns a ``str`` ending in a newline (or ``""`` for
txt/srt when nothing was said). Timestamps are rounded once to whole milliseconds.
"""

from __future__ import annotations

import json
from typing import Any, Callable

FORMATS = ("txt", "json", "srt", "vtt")
"""Names accepted by :func:`render` (also the file extensions the CLI writes)."""


def format_timestamp(seconds: float, decimal_marker: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT; pass ``"."`` for WebVTT). Negative times clamp to zero."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_marker}{millis:03d}"


def to_txt(transcript: Any) -> str:
    """The transcript's text on one line (empty string for silence)."""
    text = transcript.text.strip()
    return f"{text}\n" if text else ""


def to_json(transcript: Any, source: str | None = None) -> str:
    """One JSON object: ``{"file": source, **transcript.to_dict()}`` (``file`` only if given)."""
    record = {"file": source} if source is not None else {}
    record.update(transcript.to_dict())
    return json.dumps(record, ensure_ascii=False) + "\n"


def to_srt(transcript: Any) -> str:
    """SubRip cues, numbered from 1; segments with no text are skipped."""
    cues = []
    for segment in _spoken(transcript):
        start, end = format_timestamp(segment.start), format_timestamp(segment.end)
        cues.append(f"{len(cues) + 1}\n{start} --> {end}\n{segment.text.strip()}\n")
    return "\n".join(cues)


def to_vtt(transcript: Any) -> str:
    """WebVTT: the ``WEBVTT`` header, then one cue per spoken segment."""
    cues = ["WEBVTT\n"]
    for segment in _spoken(transcript):
        start, end = format_timestamp(segment.start, "."), format_timestamp(segment.end, ".")
        cues.append(f"{start} --> {end}\n{segment.text.strip()}\n")
    return "\n".join(cues)


def render(transcript: Any, fmt: str, source: str | None = None) -> str:
    """Dispatch on ``fmt`` (one of :data:`FORMATS`); ``source`` only appears in json."""
    if fmt == "json":
        return to_json(transcript, source)
    renderers: dict[str, Callable[[Any], str]] = {"txt": to_txt, "srt": to_srt, "vtt": to_vtt}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderers[fmt](transcript)


def _spoken(transcript: Any) -> list[Any]:
    return [segment for segment in transcript.segments if segment.text.strip()]
