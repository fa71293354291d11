"""Push-to-talk dictation: the session behind ``voiceflow dictate``.

Enter starts an utterance and Enter stops it (or, with a :class:`SilenceDetector`, trailing
silence stops it).  Each finished utterance goes to a :class:`~voiceflow.PipelinedTranscriber`,
so the next one is recorded while the last is transcribed, and its text is printed the moment it
is ready (one line per utterance on ``out``; status messages go to ``err``), appended to a file
and/or copied to the clipboard.  End of input finishes the utterance in progress, waits for every
transcript and returns 0; Ctrl-C discards the utterance in progress, cancels what the model has
not started, joins every thread and returns 130.

Input is read from a file descriptor with ``select`` (POSIX), a line at a time, so a session can
be driven by a terminal or by a pipe (the tests feed it lines while playing audio).
"""

from __future__ import annotations

import os
import queue
import select
import shutil
import subprocess
import sys
from typing import Any, Callable, TextIO

import numpy as np

import voiceflow_core

__all__ = ["LineReader", "SilenceDetector", "clipboard_command", "run_dictation"]

MIN_UTTERANCE_SECONDS = 0.1
"""Shorter recordings (nothing captured yet) are dropped instead of transcribed."""


class LineReader:
    """Lines from a file descriptor without blocking past a timeout (``select`` + ``os.read``)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pending = b""
        self.eof = False

    def read(self, timeout: float | None, wake_fd: int | None = None) -> list[str]:
        """Complete lines available within ``timeout`` seconds (``None``: wait for input or for
        ``wake_fd`` to become readable); sets :attr:`eof` at end of input."""
        fds = [self.fd] if wake_fd is None else [self.fd, wake_fd]
        if self.eof:
            fds = fds[1:]
        ready, _, _ = select.select(fds, [], [], timeout) if fds else ([], [], [])
        if wake_fd is not None and wake_fd in ready:
            os.read(wake_fd, 4096)
        if self.fd in ready:
            chunk = os.read(self.fd, 4096)
            if chunk:
                self._pending += chunk
            else:
                self.eof = True
        *lines, self._pending = self._pending.split(b"\n")
        if self.eof and self._pending:
            lines.append(self._pending)
            self._pending = b""
        return [line.decode(errors="replace").strip() for line in lines]


class SilenceDetector:
    """Ends an utterance after ``silence_seconds`` of quiet that follows speech.

    Uses the compiled ``voiceflow_core.frame_energy`` kernel (25 ms frames, 10 ms hop) on the
    newest audio of the recorder's ring: a frame is speech when its RMS exceeds
    ``threshold_dbfs``.  Call :meth:`reset` at each ``start()``, then :meth:`should_stop`
    periodically while recording.
    """

    def __init__(self, silence_seconds: float = 1.0, threshold_dbfs: float = -40.0) -> None:
        if not silence_seconds > 0:
            raise ValueError(f"silence_seconds must be positive, got {silence_seconds!r}")
        self.silence_seconds = float(silence_seconds)
        self.threshold = float(10.0 ** (threshold_dbfs / 20.0))
        self.heard_speech = False

    def reset(self) -> None:
        self.heard_speech = False

    def should_stop(self, recorder: Any) -> bool:
        rate = recorder.stream_samplerate
        window = min(self.silence_seconds, recorder.utterance_seconds)
        audio = recorder.recent(window)
        frame, hop = int(0.025 * rate), int(0.010 * rate)
        if audio.shape[0] < frame:
            return False
        loud = bool(np.any(voiceflow_core.frame_energy(audio, frame, hop) > self.threshold))
        if loud:
            self.heard_speech = True
            return False
        return self.heard_speech and window >= self.silence_seconds


def clipboard_command(platform: str = sys.platform, env: dict | None = None) -> list[str] | None:
    """The command that copies its stdin to the clipboard here, or None when there is none:
    pbcopy (macOS), wl-copy (Wayland), xclip or xsel (X11), clip.exe (Windows)."""
    env = os.environ if env is None else env
    candidates: list[list[str]] = []
    if platform == "darwin":
        candidates.append(["pbcopy"])
    if platform.startswith("win"):
        candidates.append(["clip.exe"])
    if env.get("WAYLAND_DISPLAY"):
        candidates.append(["wl-copy"])
    if env.get("DISPLAY"):
        candidates += [["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"]]
    for command in candidates:
        if shutil.which(command[0]):
            return command
    return None


def run_dictation(
    recorder: Any,
    transcriber: Any,
    *,
    stdin_fd: int = 0,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    vad: SilenceDetector | None = None,
    append_to: str | os.PathLike | None = None,
    copy_command: list[str] | None = None,
    max_pending: int = 4,
    live: Any = None,
) -> int:
    """Run one dictation session; returns the exit code (0 at end of input, 130 on Ctrl-C).

    ``recorder`` is an unopened or open :class:`~voiceflow.Recorder` (opened here if needed,
    closed at the end); ``transcriber`` anything with ``transcribe(audio, sample_rate)`` (it is
    not closed here).  Text goes to ``out``, one line per utterance, and to ``append_to`` /
    the ``copy_command`` clipboard tool; prompts and progress go to ``err``.  ``live``: a
    :class:`voiceflow.dictation.live.LiveDictation` that streams each utterance while it is
    recorded (its text shown on ``err``) and gives the final text at release.
    """
    from voiceflow.asr.pipeline import PipelinedTranscriber

    def status(message: str) -> None:
        print(message, file=err, flush=True)

    delivered: queue.SimpleQueue = queue.SimpleQueue()
    wake_r, wake_w = os.pipe()

    def on_result(result: Any) -> None:  # the pipeline's delivery thread
        delivered.put(result)
        os.write(wake_w, b".")

    sink = _TextSink(out, append_to, copy_command, status)
    reader = LineReader(stdin_fd)
    pipeline = None
    submitted = 0
    recording = False
    interrupted = False
    try:
        recorder.open()
        pipeline = PipelinedTranscriber(transcriber, max_pending=max_pending, on_result=on_result)
        stop_hint = "Enter or silence stops" if vad else "Enter stops"
        status(f"voiceflow dictate: Enter starts recording, {stop_hint}; Ctrl-D ends, Ctrl-C quits.")

        def begin() -> None:
            recorder.start(on_audio=live.begin(recorder.stream_samplerate) if live else None)
            if vad is not None:
                vad.reset()
            status(f"● recording {'(speak; silence or Enter stops)' if vad else '(Enter stops)'}")

        def finish() -> None:
            nonlocal submitted
            audio = recorder.stop()
            seconds = audio.shape[0] / recorder.samplerate
            if seconds < MIN_UTTERANCE_SECONDS:
                if live:
                    live.cancel()
                status("(too short, ignored)")
                return
            submitted += 1
            if live:  # the text is ready now: only the tail since the last committed word is left
                result = live.finish(submitted, submitted - 1)  # also clears the live line
                status(f"■ stopped: utterance {submitted}, {seconds:.1f} s")
                on_result(result)
                return
            status(f"■ stopped: utterance {submitted}, {seconds:.1f} s, transcribing")
            pipeline.submit(audio, recorder.samplerate, tag=submitted)

        while True:
            lines = reader.read(0.05 if recording else None, wake_r)
            _emit_ready(delivered, sink, status)
            for _ in lines:
                (finish if recording else begin)()
                recording = not recording
            if recording:
                if not recorder.is_recording:  # max_seconds ended it
                    status(f"max length reached ({recorder.max_seconds:g} s): utterance ended")
                    finish()
                    recording = False
                elif reader.eof or (vad is not None and vad.should_stop(recorder)):
                    finish()
                    recording = False
            if reader.eof:
                break
        pipeline.close()
        pipeline = None
        _emit_ready(delivered, sink, status)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if live:
            live.cancel()
        if pipeline is not None:
            pipeline.close(cancel=True)
        recorder.close()
        os.close(wake_r)
        os.close(wake_w)
    if interrupted:
        status("interrupted")
        return 130
    return 0


def _emit_ready(delivered: queue.SimpleQueue, sink: "_TextSink", status: Callable[[str], None]) -> None:
    while True:
        try:
            result = delivered.get_nowait()
        except queue.Empty:
            return
        if result.error is not None:
            status(f"utterance {result.tag}: transcription failed: {result.error}")
            continue
        text = result.transcript.text.strip()
        if not text:
            status(f"utterance {result.tag}: (no speech)")
            continue
        sink.write(text)


class _TextSink:
    """Where each utterance's text goes: ``out``, an appended file, the clipboard."""

    def __init__(self, out: TextIO, append_to: Any, copy_command: list[str] | None, status: Callable[[str], None]) -> None:
        self.out = out
        self.append_to = append_to
        self.copy_command = copy_command
        self.status = status

    def write(self, text: str) -> None:
        print(text, file=self.out, flush=True)
        if self.append_to is not None:
            with open(self.append_to, "a", encoding="utf-8") as f:
                f.write(text + "\n")
        if self.copy_command is not None:
            try:
                subprocess.run(self.copy_command, input=text.encode(), check=True, timeout=5,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            except (OSError, subprocess.SubprocessError) as exc:
                self.status(f"could not copy to the clipboard with {self.copy_command[0]}: {exc}")

