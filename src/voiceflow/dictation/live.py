"""Live text for ``voiceflow dictate``: one :class:`~voiceflow.asr.stream.TranscriptStream` per
utterance, fed by the recorder while the user speaks, and its display.

On a terminal the text is one status line rewritten in place: the committed words, then the
tentative rest dimmed, cut from the left to the terminal's width; it is a preview.  On anything else (a pipe, a
file) a plain line ``… <committed text>`` is written each time the committed text grows, so a
log shows progress without control characters.  The final text is printed by the session: a
long utterance's is the stream's own (``TranscriptStream.finish()``, run by the session's
pipeline), a short one's is transcribed whole.

Threads: :meth:`LiveLine.show` runs on the stream's worker thread, the rest on the session's
thread; one lock keeps their writes whole, and a released stream's late updates are not shown.
"""

from __future__ import annotations

import shutil
import threading
from typing import Any, Callable, TextIO

__all__ = ["LiveDictation", "LiveLine"]

_CLEAR = "\r\x1b[2K"
_DIM, _RESET = "\x1b[2m", "\x1b[0m"


class LiveLine:
    """Displays :class:`~voiceflow.asr.stream.StreamUpdate` s on ``out``.

    ``tty``: rewrite one line in place (default: ``out.isatty()``); ``width``: columns of that
    line (default: the terminal's, re-read at each update)."""

    def __init__(self, out: TextIO, *, tty: bool | None = None, width: int | None = None) -> None:
        self.out = out
        self.tty = bool(out.isatty()) if tty is None else tty
        self.width = width
        self._lock = threading.Lock()
        self._shown = ""  # what is on screen (tty) / the committed text last written (plain)

    def show(self, update: Any) -> None:
        """Show ``update.text`` (committed) and ``update.tentative``."""
        with self._lock:
            if self.tty:
                width = self.width or shutil.get_terminal_size((80, 24)).columns
                committed, tentative = update.text, update.tentative
                room = max(width - 3, 10)
                if len(committed) + 1 + len(tentative) > room:  # keep the newest words
                    over = len(committed) + 1 + len(tentative) - room
                    cut = min(over, len(committed))
                    committed, tentative = committed[cut:], tentative[over - cut:]
                line = f"… {committed}" + (f" {_DIM}{tentative}{_RESET}" if tentative else "")
                self.out.write(_CLEAR + line)
                self._shown = line
            elif update.text != self._shown:
                self.out.write(f"… {update.text}\n")
                self._shown = update.text
            self.out.flush()

    def clear(self) -> None:
        """Erase the live line (terminal) so the next output starts on a clean line."""
        with self._lock:
            if self.tty and self._shown:
                self.out.write(_CLEAR)
                self.out.flush()
            self._shown = ""


class LiveDictation:
    """Streams each utterance through ``transcriber`` while it is recorded.

    ``begin(sample_rate)`` opens a stream and returns its ``feed`` (for
    ``Recorder.start(on_audio=...)``); at the stop, ``release()`` hands the stream over and
    clears the line (the session passes a long utterance's stream to the pipeline, whose
    ``finish()`` of it is the final text, and cancels a short one's); ``cancel()`` drops the
    utterance's stream."""

    def __init__(self, transcriber: Any, out: TextIO, *, tty: bool | None = None) -> None:
        self.transcriber = transcriber
        self.line = LiveLine(out, tty=tty)
        self._stream: Any = None
        self._lock = threading.Lock()

    def begin(self, sample_rate: int) -> Callable[[Any], None]:
        self.cancel()
        stream = self.transcriber.stream(sample_rate=sample_rate, on_update=lambda update: self._show(stream, update))
        with self._lock:
            self._stream = stream
        return stream.feed

    def release(self) -> Any:
        """The utterance's stream, no longer shown (its worker goes on until it is finished or
        cancelled); None when none was begun.  Clears the line."""
        with self._lock:
            stream, self._stream = self._stream, None
        self.line.clear()
        return stream

    def cancel(self) -> None:
        stream = self.release()
        if stream is not None:
            stream.cancel()

    def _show(self, stream: Any, update: Any) -> None:
        """The stream's worker thread: show ``update`` unless ``stream`` was released since."""
        with self._lock:
            if stream is self._stream:
                self.line.show(update)
