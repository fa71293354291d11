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


TIMINGS_NOTE = (
    "seconds; features, encode and decode are summed over the audio's chunks, which are "
    "decoded in parallel, so together they can exceed total (the wall-clock time of the call)"
)
"""What the ``note`` field of a JSON record's ``timings`` says."""


def to_json(transcript: Any, source: str | None = None) -> str:
    """One JSON object (one line) for one transcript.

    ``{"file": source, "text", "duration", "truncated", "mode", "timings", "segments", "windows"}``
    (``file`` only if given; ``truncated``: the file was cut short or damaged and ``text`` is what
    could be decoded). ``timings`` carries a ``note`` saying that its per-stage times are summed
    over chunks decoded in parallel. Each decoded window's scores (``no_speech_prob``,
    ``avg_logprob``) belong to the window, not to each of its segments, so they are listed once
    per window in ``windows`` (``start``/``end``: its first segment's start and last segment's
    end, seconds), and every segment names its window by index.
    """
    data = transcript.to_dict()
    record: dict[str, Any] = {"file": source} if source is not None else {}
    record.update(text=data["text"], duration=data["duration"], truncated=data.get("truncated", False),
                  mode=data["mode"])
    record["timings"] = {**data["timings"], "note": TIMINGS_NOTE}
    segments: list[dict[str, Any]] = []
    windows: list[dict[str, Any]] = []
    for segment in data["segments"]:
        scores = {"no_speech_prob": segment["no_speech_prob"], "avg_logprob": segment["avg_logprob"]}
        # One window's segments are consecutive and carry its very scores (copied from one
        # decoder result). Two adjacent windows with bit-identical float scores would be listed
        # as one: the window count would be off, but no score would be misattributed.
        if not windows or {k: windows[-1][k] for k in scores} != scores:
            windows.append({"start": segment["start"], "end": segment["end"], **scores})
        windows[-1]["end"] = segment["end"]
        segments.append({"start": segment["start"], "end": segment["end"], "text": segment["text"],
                         "window": len(windows) - 1})
    record["segments"] = segments
    record["windows"] = windows
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
