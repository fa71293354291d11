"""Push-to-talk dictation: the session behind ``voiceflow dictate``.

Enter starts an utterance and Enter stops it (or, with a :class:`SilenceDetector`, trailing
silence stops it).  Each finished utterance goes to a :class:`~voiceflow.PipelinedTranscriber`,
so the next one is recorded while the last is transcribed, and its text is printed the moment it
is ready (one line per utterance on ``out``; status messages go to ``err``), appended to a file
and/or copied to the clipboard.  End of input finishes the utterance in progress, waits for every
transcript and returns 0.  Ctrl-C discards the utterance being recorded and says so, finishes
the utterances already recorded ("Ctrl-C: finishing N utterance(s) ..."); a second Ctrl-C
cancels what the model has not started and says how many were discarded; every thread is
joined and it returns 130.

Input is read from a file descriptor with ``select`` (POSIX), a line at a time, so a session can
be driven by a terminal or by a pipe (the tests feed it lines while playing audio).

Desktop dictation (``--hotkey``, ``--listen``): a global X11 key
(:mod:`~voiceflow.dictation.hotkey`) or a control socket (:mod:`~voiceflow.dictation.control`)
starts and stops utterances instead of Enter, and each text is typed into the window that had
the focus when the utterance ended (:mod:`~voiceflow.dictation.output`).  Whatever the trigger,
recording goes on for :data:`TAIL_SECONDS` after the stop, the voice commands and joining of
:mod:`~voiceflow.dictation.text` apply, and an input device that stops delivering audio is
reported and reopened (or the session ends, exit 1).  The main thread sleeps in ``select`` on every
source at once: an idle session wakes once a second, to check the input device.
"""

from __future__ import annotations

import os
import queue
import select
import shutil
import subprocess
import sys
import time
from typing import Any, Callable, TextIO

import numpy as np

import voiceflow_core
from voiceflow.dictation.text import DictationText

__all__ = ["LineReader", "SilenceDetector", "clipboard_command", "run_dictation"]

MIN_UTTERANCE_SECONDS = 0.1
"""Shorter recordings (nothing captured yet) are dropped instead of transcribed."""

STREAMED_FINAL_S = 12.0
"""Utterances longer than this (seconds, as recorded) take the live stream's text at release;
shorter ones are transcribed whole.  Transcribing at release costs time in proportion to the
length (over a second for 35-60 s here) while the stream's wait does not grow; on utterances up
to 12 s the whole-utterance text was the more accurate (words the stream committed while the
user spoke cannot be revised; docs/stream.md) and it costs a few hundred milliseconds."""

TAIL_SECONDS = 0.25
"""Recording goes on this long after a stop request (key release, Enter): the end of the last
word is often still being spoken, or still in the device's buffers, when the key goes up."""

HEALTH_CHECK_SECONDS = 1.0
"""How often an idle session wakes up to check that the input still delivers audio."""

REOPEN_ATTEMPTS = 3
"""Tries to reopen a lost input device, 1 s apart, before the session ends."""


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
    hotkey: Any | None = None,
    toggle: bool = False,
    control: Any | None = None,
    window: Any | None = None,
    text: DictationText | None = None,
    tail_seconds: float = TAIL_SECONDS,
    live: Any = None,
) -> int:
    """Run one dictation session; returns the exit code (0 at end of input, 130 on Ctrl-C,
    1 when the input device was lost and could not be reopened, or the hotkey's X display
    went away -- after delivering what was recorded).

    ``recorder`` is an unopened or open :class:`~voiceflow.Recorder` (opened here if needed,
    closed at the end); ``transcriber`` anything with ``transcribe(audio, sample_rate)`` (it is
    not closed here).  Text goes to ``out``, one line per utterance, and to ``append_to`` /
    the ``copy_command`` clipboard tool / the ``window`` (a
    :class:`~voiceflow.dictation.output.WindowOutput`); prompts and progress go to ``err``.

    Triggers: Enter on ``stdin_fd`` toggles recording -- unless a ``hotkey``
    (:class:`~voiceflow.dictation.hotkey.HotkeyGrab`: held = recording, or with ``toggle`` one
    press starts and the next stops) or a ``control`` socket
    (:class:`~voiceflow.dictation.control.ControlServer`) drives the session; then stdin is not
    read and only Ctrl-C (or SIGTERM, see the CLI) ends it.  Recording goes on for
    ``tail_seconds`` after the stop, so the last word is not cut.  ``text`` (default: a new
    :class:`~voiceflow.dictation.text.DictationText`) applies the voice commands and joins
    consecutive utterances.
    ``live`` (a :class:`~voiceflow.dictation.live.LiveDictation`) streams each utterance while
    it is recorded and shows its text on ``err``; at release, an utterance longer than
    :data:`STREAMED_FINAL_S` takes the stream's final text (only its last words are left to
    decode; the whole utterance is transcribed instead if the stream missed any of it), a
    shorter one is transcribed whole.  Without ``live`` every utterance is transcribed at
    release.
    """
    from voiceflow.asr.pipeline import PipelinedTranscriber
    from voiceflow.capture.devices import DeviceError

    def status(message: str) -> None:
        print(message, file=err, flush=True)

    delivered: queue.SimpleQueue = queue.SimpleQueue()
    wake_r, wake_w = os.pipe()

    def on_result(result: Any) -> None:  # the pipeline's delivery thread
        delivered.put(result)
        os.write(wake_w, b".")

    sink = _TextSink(out, append_to, copy_command, status, text or DictationText(), window)
    reader = LineReader(stdin_fd) if hotkey is None and control is None else None
    pipeline = None
    submitted = 0
    handled = [0]  # results emitted (texts, errors, silences)
    recording = False
    stop_at: float | None = None  # monotonic time the tail after a stop request ends
    stop_focus = 0  # the focused window when the stop was requested
    focus_of: dict[int, int] = {}
    interrupted = False
    lost = False
    next_health_check = 0.0
    try:
        recorder.open()
        pipeline = PipelinedTranscriber(transcriber, max_pending=max_pending, on_result=on_result)
        if hotkey is not None:
            how = (f"press {hotkey.key} to start and again to stop" if toggle
                   else f"hold {hotkey.key} to talk")
            status(f"voiceflow dictate: {how}; Ctrl-C quits.")
        elif control is not None:
            status(f"voiceflow dictate: listening on {control.path} "
                   "(`voiceflow dictate begin|end|toggle|cancel`); Ctrl-C quits.")
        else:
            stop_hint = "Enter or silence stops" if vad else "Enter stops"
            status(f"voiceflow dictate: Enter starts recording, {stop_hint}; Ctrl-D ends, Ctrl-C quits.")

        def begin() -> None:
            nonlocal recording
            recorder.start(on_audio=live.begin(recorder.stream_samplerate) if live else None)
            recording = True
            if vad is not None:
                vad.reset()
            hint = "(speak; silence or Enter stops)" if vad and reader else "(Enter stops)" if reader else ""
            status(f"● recording {hint}".rstrip())

        def request_stop() -> None:
            nonlocal stop_at, stop_focus
            stop_focus = window.focused_window() if window is not None else 0
            stop_at = time.monotonic() + tail_seconds

        def finish() -> None:
            nonlocal submitted, recording, stop_at
            if stop_at is None:  # ended by silence, max length or end of input: no tail
                request_stop()
            recording, stop_at = False, None
            audio = recorder.stop()
            seconds = audio.shape[0] / recorder.samplerate
            if seconds < MIN_UTTERANCE_SECONDS:
                if live:
                    live.cancel()
                status("(too short, ignored)")
                return
            submitted += 1
            focus_of[submitted] = stop_focus
            status(f"■ stopped: utterance {submitted}, {seconds:.1f} s, transcribing")
            stream = live.release() if live else None
            final = stream if seconds > STREAMED_FINAL_S else None
            pipeline.submit(audio, recorder.samplerate, tag=submitted, stream=final)
            if stream is not None and final is None:
                stream.cancel()  # after the submit: its worker's last decode overlaps the real one

        def command(name: str) -> None:
            nonlocal recording, stop_at
            if name == "cancel":
                if recording:
                    recorder.cancel()
                    if live:
                        live.cancel()
                    recording, stop_at = False, None
                    status("(cancelled: the utterance was discarded)")
                return
            if recording and stop_at is not None:  # inside the tail of the previous stop
                if name == "begin":  # held again (or a key repeat that slipped through): go on
                    stop_at = None
                    return
                finish()
                if name == "end":
                    return
                name = "begin"
            if name == "begin" or (name == "toggle" and not recording):
                if not recording:
                    begin()
            elif recording:  # "end", or "toggle" while recording
                request_stop()

        while True:
            now = time.monotonic()
            timeout: float | None = HEALTH_CHECK_SECONDS
            if recording:
                timeout = 0.05 if stop_at is None else max(0.0, min(0.05, stop_at - now))
            hotkey_buffered = False
            if hotkey is not None:
                try:
                    hotkey_buffered = hotkey.buffered()
                except Exception as exc:  # noqa: BLE001 - the X connection closed: end cleanly
                    status(f"the hotkey's X display went away ({type(exc).__name__}); the session ends")
                    if recording:
                        finish()
                    lost = True
                    break
                if hotkey_buffered:
                    timeout = 0.0
            fds = [wake_r]
            if reader is not None and not reader.eof:
                fds.append(reader.fd)
            if hotkey is not None:
                fds.append(hotkey.fileno())
            if control is not None:
                fds.append(control.fileno())
            ready = select.select(fds, [], [], timeout)[0]
            if wake_r in ready:
                os.read(wake_r, 4096)
            commands: list[str] = []
            if reader is not None and reader.fd in ready:
                commands += ["toggle"] * len(reader.read(0))
            if hotkey is not None and (hotkey_buffered or hotkey.fileno() in ready):
                for event in hotkey.events():
                    if toggle:
                        commands += ["toggle"] if event == "press" else []
                    else:
                        commands.append("begin" if event == "press" else "end")
            if control is not None and control.fileno() in ready:
                name, message = control.accept("recording" if recording else "idle")
                if message:
                    status(message)
                if name:
                    commands.append(name)
            handled[0] += _emit_ready(delivered, sink, status, focus_of)
            for name in commands:
                command(name)
            if recording:
                if stop_at is not None and time.monotonic() >= stop_at:
                    finish()
                elif not recorder.is_recording:  # max_seconds ended it
                    status(f"max length reached ({recorder.max_seconds:g} s): utterance ended")
                    finish()
                elif (reader is not None and reader.eof) or (vad is not None and vad.should_stop(recorder)):
                    finish()
            if time.monotonic() >= next_health_check:
                next_health_check = time.monotonic() + HEALTH_CHECK_SECONDS
                if recorder.input_lost:
                    if not _reopen_lost_input(recorder, status, finish if recording else None, DeviceError):
                        lost = True
                        break
                    recording, stop_at = False, None
            if reader is not None and reader.eof:
                break
        pipeline.close()
        pipeline = None
        handled[0] += _emit_ready(delivered, sink, status, focus_of)
    except KeyboardInterrupt:
        interrupted = True
        if recording:
            recorder.cancel()
            status("Ctrl-C: the utterance being recorded was discarded")
        if pipeline is not None:
            waiting = submitted - handled[0]
            try:
                if waiting:
                    status(f"Ctrl-C: finishing {waiting} utterance(s) being transcribed; "
                           "Ctrl-C again discards them")
                pipeline.close()
                pipeline = None
                _emit_ready(delivered, sink, status, focus_of)
            except KeyboardInterrupt:
                if pipeline is not None:
                    pipeline.close(cancel=True)
                    pipeline = None
                status(f"Ctrl-C again: {waiting} utterance(s) not yet transcribed were discarded")
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
    return 1 if lost else 0


def _reopen_lost_input(recorder: Any, status: Callable[[str], None], finish: Callable[[], None] | None,
                       device_error: type) -> bool:
    """Report a lost input, transcribe what the current utterance captured (``finish``), and
    reopen the device (3 tries, 1 s apart); False when it stays gone."""
    where = recorder.device.describe() if recorder.device is not None else "the input"
    status(f"input device lost: {where} stopped delivering audio")
    if finish is not None:
        finish()
    recorder.close()
    for attempt in range(REOPEN_ATTEMPTS):
        try:
            recorder.open()
        except device_error as exc:
            if attempt == REOPEN_ATTEMPTS - 1:
                status(f"could not reopen the input ({exc}); the session ends")
                return False
            time.sleep(1.0)
            continue
        now = recorder.device.describe() if recorder.device is not None else "the input"
        status(f"input reopened: {now}; ready")
        return True
    return False


def _emit_ready(delivered: queue.SimpleQueue, sink: "_TextSink", status: Callable[[str], None],
                focus_of: dict[int, int]) -> int:
    """Write every delivered result; returns how many there were."""
    count = 0
    while True:
        try:
            result = delivered.get_nowait()
        except queue.Empty:
            return count
        count += 1
        focus = focus_of.pop(result.tag, 0)
        if result.error is not None:
            status(f"utterance {result.tag}: transcription failed: {result.error}")
            continue
        text = result.transcript.text.strip()
        if not text:
            status(f"utterance {result.tag}: (no speech)")
            continue
        sink.write(text, focus)


class _TextSink:
    """Where each utterance's text goes: ``out``, an appended file, the clipboard, a window."""

    def __init__(self, out: TextIO, append_to: Any, copy_command: list[str] | None,
                 status: Callable[[str], None], text: DictationText, window: Any | None = None) -> None:
        self.out = out
        self.append_to = append_to
        self.copy_command = copy_command
        self.status = status
        self.text = text
        self.window = window
        self._window_id: int | None = None  # the window the text so far went to
        self._appended: list[int] = []  # file size before each appended utterance

    def write(self, transcript: str, focus: int = 0) -> None:
        if self.window is not None and focus != self._window_id:
            self.text.reset()  # another window: a new text
            self._window_id = focus
        edit = self.text.feed(transcript)
        if edit.scratched:
            self.status("scratch that: the previous utterance was removed")
        line = edit.text.strip("\n")
        if line:
            print(line, file=self.out, flush=True)
        if self.append_to is not None:
            self._append(line, edit.scratched)
        if self.copy_command is not None and line:
            try:
                proc = subprocess.Popen(self.copy_command, stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                proc.communicate(line.encode(), timeout=5)  # xclip/xsel keep serving in a child
                if proc.returncode:
                    raise subprocess.SubprocessError(f"exit status {proc.returncode}")
            except (OSError, subprocess.SubprocessError) as exc:
                self.status(f"could not copy to the clipboard with {self.copy_command[0]}: {exc}")
        if self.window is not None:
            try:
                message = self.window.deliver(edit, focus)
            except Exception as exc:  # noqa: BLE001 - X errors, tools failing: keep the session
                message = f"could not type the text: {exc}"
            if message:
                self.status(f"{message}: {edit.insert.strip()!r}")
                self.text.reset()
                self._window_id = None

    def _append(self, line: str, scratched: bool) -> None:
        if scratched and self._appended:
            size = self._appended.pop()
            with open(self.append_to, "r+b") as f:
                f.truncate(size)
        if line:
            with open(self.append_to, "a", encoding="utf-8") as f:
                self._appended.append(f.tell())
                f.write(line + "\n")

