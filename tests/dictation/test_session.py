"""Dictation sessions driven through stdin while clips play into the private PulseAudio sink."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tests import _pulse
from voiceflow.dictation.session import LineReader, SilenceDetector, clipboard_command, run_dictation

CLIP_A = "pocketsphinx_goforward"
CLIP_B = "speechbrain_example2"


@pytest.fixture(scope="session")
def pulse():
    return _pulse.server_or_skip()


@pytest.fixture(scope="session")
def transcriber():
    return _pulse.transcriber_or_skip()


def wer(reference: str, hypothesis: str) -> float:
    from voiceflow.bench.asr import corpus_wer

    return corpus_wer([reference], [hypothesis])


class Driver(threading.Thread):
    """Plays the script ``steps`` (``"enter"``, ``("play", path)``, ``("sleep", s)``,
    ``("until", predicate)``, ``"eof"``, ``"sigint"``) against a session's stdin pipe."""

    def __init__(self, pulse, steps):
        super().__init__(name="test-dictate-driver")
        self.read_fd, self.write_fd = os.pipe()
        self.pulse, self.steps, self.error = pulse, steps, None

    def run(self):
        try:
            for step in self.steps:
                kind, arg = (step, None) if isinstance(step, str) else step
                if kind == "enter":
                    os.write(self.write_fd, b"\n")
                elif kind == "play":
                    self.pulse.play(arg)
                elif kind == "sleep":
                    time.sleep(arg)
                elif kind == "until":
                    deadline = time.monotonic() + 15
                    while not arg():
                        if time.monotonic() > deadline:
                            raise AssertionError(f"timed out waiting for {arg.__doc__}")
                        time.sleep(0.02)
                elif kind == "sigint":
                    os.kill(os.getpid(), signal.SIGINT)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            os.close(self.write_fd)  # end of input


class Transcript(io.StringIO):
    """One stream for text and status, so their order can be checked (thread-safe enough for
    one writer, the session's main thread)."""


def test_push_to_talk_session_prints_each_utterance_while_recording_the_next(
    pulse, corpus, transcriber, tmp_path
):
    from voiceflow.capture.recorder import Recorder

    a, b = (corpus / "clips" / f"{n}.wav" for n in (CLIP_A, CLIP_B))
    log = Transcript()
    appended = tmp_path / "notes.txt"

    def first_text_printed():
        """the first utterance's text"""
        return "forward" in log.getvalue().lower()

    steps = [("sleep", 0.5), "enter", ("play", a), ("sleep", 0.3), "enter",
             ("sleep", 0.2), "enter", ("until", first_text_printed), ("play", b), ("sleep", 0.3),
             "enter", ("sleep", 0.2)]
    driver = Driver(pulse, steps)
    before = set(threading.enumerate())
    driver.start()
    try:
        code = run_dictation(Recorder(device=_pulse.INPUT_DEVICE), transcriber,
                             stdin_fd=driver.read_fd, out=log, err=log, append_to=appended)
    finally:
        driver.join()
        os.close(driver.read_fd)
    assert driver.error is None, driver.error
    assert code == 0
    assert set(threading.enumerate()) == before, "a thread was left behind"
    lines = log.getvalue().splitlines()
    texts = [line for line in lines if not line.startswith(("voiceflow dictate:", "●", "■", "("))]
    assert len(texts) == 2, lines
    references = [(corpus / "clips" / f"{n}.txt").read_text() for n in (CLIP_A, CLIP_B)]
    assert wer(references[0], texts[0]) <= 0.25 and wer(references[1], texts[1]) <= 0.25, texts
    # The first text was printed while the second utterance was being recorded.
    assert lines.index(texts[0]) < next(i for i, l in enumerate(lines) if "utterance 2" in l)
    assert appended.read_text().splitlines() == texts


def test_vad_ends_the_utterance_after_silence(pulse, corpus, transcriber):
    from voiceflow.capture.recorder import Recorder

    log = Transcript()

    def stopped():
        """the silence detector to stop the utterance"""
        return "■ stopped" in log.getvalue()

    def printed():
        """the text"""
        return len(log.getvalue().splitlines()) >= 4

    path = corpus / "clips" / f"{CLIP_A}.wav"
    driver = Driver(pulse, [("sleep", 0.3), "enter", ("play", path), ("until", stopped), ("until", printed)])
    driver.start()
    try:
        code = run_dictation(Recorder(device=_pulse.INPUT_DEVICE), transcriber, stdin_fd=driver.read_fd,
                             out=log, err=log, vad=SilenceDetector(silence_seconds=0.8))
    finally:
        driver.join()
        os.close(driver.read_fd)
    assert driver.error is None, driver.error
    assert code == 0
    lines = log.getvalue().splitlines()
    assert wer("go forward ten meters", lines[3]) <= 0.25, lines


def test_ctrl_c_exits_cleanly_with_no_thread_left_behind(pulse, transcriber):
    from voiceflow.capture.recorder import Recorder

    log = Transcript()
    recorder = Recorder(device=_pulse.INPUT_DEVICE)

    def recording():
        """recording to begin"""
        return recorder.is_recording

    driver = Driver(pulse, [("sleep", 0.2), "enter", ("until", recording), ("sleep", 0.3), "sigint",
                            ("sleep", 1.0)])
    before = set(threading.enumerate()) | {driver}
    driver.start()
    try:
        code = run_dictation(recorder, transcriber, stdin_fd=driver.read_fd, out=log, err=log)
    finally:
        driver.join()
        os.close(driver.read_fd)
    assert code == 130 and "interrupted" in log.getvalue()
    assert not recorder.is_open
    assert set(threading.enumerate()) <= before - {driver}, "a thread was left behind"


@pytest.mark.slow
def test_cli_session_and_ctrl_c(pulse, corpus, tmp_path):
    """The real command: text on stdout, status on stderr; SIGINT exits 130 without a traceback."""
    path = corpus / "clips" / f"{CLIP_A}.wav"
    command = [sys.executable, "-m", "voiceflow", "dictate", "--device", _pulse.INPUT_DEVICE]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=pulse.env)
    _wait_for(proc, b"Enter starts")
    proc.stdin.write(b"\n")
    proc.stdin.flush()
    pulse.play(path)
    time.sleep(0.3)
    out, err = proc.communicate(b"\n", timeout=60)  # Enter stops, then end of input
    assert proc.returncode == 0, err.decode()
    assert wer("go forward ten meters", out.decode()) <= 0.25, out

    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=pulse.env)
    _wait_for(proc, b"Enter starts")
    proc.stdin.write(b"\n")
    proc.stdin.flush()
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert b"interrupted" in err and b"Traceback" not in err


def _wait_for(proc: subprocess.Popen, marker: bytes, timeout: float = 60) -> None:
    """Read stderr until ``marker`` (the session's prompt) appears."""
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline and proc.poll() is None, seen.decode(errors="replace")
        seen += proc.stderr.read1(4096)


# --- pieces ----------------------------------------------------------------------------------------
def test_line_reader_splits_lines_and_sees_eof():
    r, w = os.pipe()
    reader = LineReader(r)
    os.write(w, b"one\ntw")
    assert reader.read(1.0) == ["one"]
    assert reader.read(0.01) == []
    os.write(w, b"o\n\n")
    assert reader.read(1.0) == ["two", ""]
    os.write(w, b"tail")
    os.close(w)
    lines = reader.read(1.0)
    lines += reader.read(1.0)
    assert lines == ["tail"] and reader.eof
    os.close(r)


def test_line_reader_wakes_on_the_wake_fd():
    import select

    r, w = os.pipe()
    wake_r, wake_w = os.pipe()
    os.write(wake_w, b"..")
    assert LineReader(r).read(None, wake_r) == []  # would block forever without the wake fd
    assert select.select([wake_r], [], [], 0)[0] == []  # the wake-ups were consumed
    for fd in (r, w, wake_r, wake_w):
        os.close(fd)


class FakeRecorder:
    stream_samplerate = 16000

    def __init__(self):
        self.audio = np.zeros(0, np.float32)
        self.utterance_seconds = 0.0

    def recent(self, seconds):
        return self.audio[-int(seconds * 16000):] if seconds > 0 else self.audio[:0]


def test_silence_detector_waits_for_speech_then_silence():
    rec = FakeRecorder()
    vad = SilenceDetector(silence_seconds=0.5, threshold_dbfs=-40)
    rec.audio, rec.utterance_seconds = np.zeros(16000, np.float32), 1.0
    assert not vad.should_stop(rec)  # silence without speech: keep waiting
    tone = (0.1 * np.sin(np.arange(16000) / 5)).astype(np.float32)
    rec.audio = np.concatenate([rec.audio, tone])
    rec.utterance_seconds = 2.0
    assert not vad.should_stop(rec) and vad.heard_speech
    rec.audio = np.concatenate([rec.audio, np.zeros(4000, np.float32)])  # 0.25 s of quiet
    assert not vad.should_stop(rec)
    rec.audio = np.concatenate([rec.audio, np.full(8000, 0.001, np.float32)])  # -60 dBFS
    assert vad.should_stop(rec)
    vad.reset()
    assert not vad.heard_speech


def test_clipboard_tool_choice(monkeypatch):
    present = {"wl-copy", "xclip", "pbcopy"}
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}" if name in present else None)
    assert clipboard_command("linux", {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}) == ["wl-copy"]
    assert clipboard_command("linux", {"DISPLAY": ":0"}) == ["xclip", "-selection", "clipboard"]
    assert clipboard_command("darwin", {}) == ["pbcopy"]
    assert clipboard_command("linux", {}) is None
    present.discard("xclip")
    present.add("xsel")
    assert clipboard_command("linux", {"DISPLAY": ":0"}) == ["xsel", "--clipboard", "--input"]


def test_copy_without_a_clipboard_tool_is_a_clear_error(monkeypatch, capsys):
    from voiceflow.dictation import session as dictate
    from voiceflow.cli.main import main

    monkeypatch.setattr(dictate, "clipboard_command", lambda *a, **k: None)
    assert main(["dictate", "--copy"]) == 2
    assert "clipboard tool" in capsys.readouterr().err


# --- robustness ------------------------------------------------------------------------------------
class GatedTranscriber:
    """Transcribes nothing until ``release`` is set (so a test controls when a job finishes)."""

    def __init__(self, text="Held text."):
        self.release = threading.Event()
        self.started = threading.Event()
        self.text = text

    def transcribe(self, audio, sample_rate):
        from types import SimpleNamespace

        self.started.set()
        self.release.wait(30)
        return SimpleNamespace(text=self.text)


def test_ctrl_c_finishes_the_recorded_utterance_and_says_so(pulse):
    from voiceflow.capture.recorder import Recorder

    log = Transcript()
    asr = GatedTranscriber()

    def transcribing():
        """the model to start"""
        return asr.started.is_set()

    def release_later():
        """the model to be released"""
        threading.Timer(0.5, asr.release.set).start()
        return True

    driver = Driver(pulse, [("sleep", 0.2), "enter", ("sleep", 0.4), "enter", ("until", transcribing),
                            "sigint", ("until", release_later), ("sleep", 1.0)])
    driver.start()
    try:
        code = run_dictation(Recorder(device=_pulse.INPUT_DEVICE), asr, stdin_fd=driver.read_fd,
                             out=log, err=log)
    finally:
        driver.join()
        os.close(driver.read_fd)
    text = log.getvalue()
    assert code == 130
    assert "Ctrl-C: finishing 1 utterance(s) being transcribed; Ctrl-C again discards them" in text
    assert "Held text." in text.splitlines()  # finished and printed after the first Ctrl-C


def test_a_second_ctrl_c_discards_what_is_not_transcribed_and_says_so(pulse):
    from voiceflow.capture.recorder import Recorder

    log = Transcript()
    asr = GatedTranscriber()

    def transcribing():
        """the model to start"""
        return asr.started.is_set()

    def finishing():
        """the first Ctrl-C to be handled"""
        return "Ctrl-C: finishing" in log.getvalue()

    # Two utterances: one inside the model, one waiting for it.
    driver = Driver(pulse, [("sleep", 0.2), "enter", ("sleep", 0.3), "enter", ("sleep", 0.3), "enter",
                            ("sleep", 0.3), "enter", ("until", transcribing), ("sleep", 0.3), "sigint",
                            ("until", finishing), "sigint", ("sleep", 0.3)])
    driver.start()
    try:
        threading.Timer(3.0, asr.release.set).start()  # the job inside the model ends eventually
        code = run_dictation(Recorder(device=_pulse.INPUT_DEVICE), asr, stdin_fd=driver.read_fd,
                             out=log, err=log)
    finally:
        asr.release.set()
        driver.join()
        os.close(driver.read_fd)
    text = log.getvalue()
    assert code == 130
    assert "Ctrl-C: finishing 2 utterance(s)" in text
    assert "Ctrl-C again: 2 utterance(s) not yet transcribed were discarded" in text
    assert "Held text." not in text.splitlines()


def test_a_lost_input_is_reported_and_reopened(pulse, corpus, transcriber):
    from voiceflow.capture.recorder import Recorder

    log = Transcript()
    recorder = Recorder(device=_pulse.INPUT_DEVICE)

    def lose_the_device():
        """the stream to be aborted (as when the sound server goes away)"""
        recorder._stream.abort()
        return True

    def reopened():
        """the input to be reopened"""
        return "input reopened" in log.getvalue()

    def printed():
        """the text"""
        return "forward" in log.getvalue().lower()

    path = corpus / "clips" / f"{CLIP_A}.wav"
    driver = Driver(pulse, [("sleep", 0.3), ("until", lose_the_device), ("until", reopened), ("sleep", 0.3),
                            "enter", ("play", path), ("sleep", 0.2), "enter", ("until", printed)])
    driver.start()
    try:
        code = run_dictation(recorder, transcriber, stdin_fd=driver.read_fd, out=log, err=log)
    finally:
        driver.join()
        os.close(driver.read_fd)
    assert driver.error is None, driver.error
    assert code == 0
    assert "input device lost" in log.getvalue()


def test_a_lost_input_that_cannot_be_reopened_ends_the_session(pulse, monkeypatch):
    from voiceflow.capture.devices import DeviceError
    from voiceflow.capture.recorder import Recorder
    from voiceflow.dictation import session

    monkeypatch.setattr(session, "REOPEN_ATTEMPTS", 2)
    log = Transcript()
    recorder = Recorder(device=_pulse.INPUT_DEVICE)
    recorder.open()
    asr = GatedTranscriber()
    asr.release.set()

    def refuse():
        raise DeviceError("no such device (test)")

    def lose_the_device():
        """the stream to be aborted while recording"""
        recorder.open = refuse
        recorder._stream.abort()
        return True

    driver = Driver(pulse, [("sleep", 0.2), "enter", ("sleep", 0.5), ("until", lose_the_device), ("sleep", 5)])
    driver.start()
    try:
        code = run_dictation(recorder, asr, stdin_fd=driver.read_fd, out=log, err=log)
    finally:
        driver.join()
        os.close(driver.read_fd)
    text = log.getvalue()
    assert code == 1
    assert "input device lost" in text and "the session ends" in text
    assert "Held text." in text.splitlines()  # what was recorded before the loss was transcribed
    assert not recorder.is_recording


def test_recording_goes_on_for_the_tail_after_the_stop(pulse):
    from voiceflow.capture.recorder import Recorder

    log = Transcript()
    asr = GatedTranscriber()
    asr.release.set()
    recorder = Recorder(device=_pulse.INPUT_DEVICE)
    stopped_at = []
    real_stop = recorder.stop

    def stop():
        stopped_at.append(time.monotonic())
        return real_stop()

    recorder.stop = stop
    pressed_at = []

    def press():
        """the stop press"""
        pressed_at.append(time.monotonic())
        os.write(driver.write_fd, b"\n")
        return True

    driver = Driver(pulse, [("sleep", 0.2), "enter", ("sleep", 0.5), ("until", press), ("sleep", 0.8)])
    driver.start()
    try:
        run_dictation(recorder, asr, stdin_fd=driver.read_fd, out=log, err=log, tail_seconds=0.25)
    finally:
        driver.join()
        os.close(driver.read_fd)
    assert len(stopped_at) == 1 and 0.25 <= stopped_at[0] - pressed_at[0] < 0.6


class FakeHotkey:
    """Stands in for HotkeyGrab: events written by the test, a pipe to wake the session."""

    key = "F9"

    def __init__(self):
        self.r, self.w = os.pipe()
        self.pending = []
        self.lock = threading.Lock()

    def send(self, *events):
        with self.lock:
            self.pending += events
        os.write(self.w, b".")

    def fileno(self):
        return self.r

    def buffered(self):
        return False

    def events(self):
        os.read(self.r, 4096)
        with self.lock:
            out, self.pending = self.pending, []
        return out

    def close(self):
        os.close(self.r)
        os.close(self.w)


@pytest.mark.parametrize("toggle, events", [
    (False, [("press",), ("release",)]),
    (True, [("press", "release"), ("press", "release")]),  # one press starts, the next stops
])
def test_hotkey_hold_and_toggle(pulse, toggle, events):
    from voiceflow.capture.recorder import Recorder

    log = Transcript()
    asr = GatedTranscriber("Hot text.")
    asr.release.set()
    hotkey = FakeHotkey()

    def run_script():
        time.sleep(0.3)
        for batch in events:
            hotkey.send(*batch)
            time.sleep(0.4)
        deadline = time.monotonic() + 10
        while "Hot text." not in log.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    script = threading.Thread(target=run_script)
    script.start()
    try:
        code = run_dictation(Recorder(device=_pulse.INPUT_DEVICE), asr, hotkey=hotkey, toggle=toggle,
                             out=log, err=log)
    finally:
        script.join()
        hotkey.close()
    text = log.getvalue()
    assert code == 130
    assert text.count("● recording") == 1 and "utterance 1" in text and "Hot text." in text.splitlines()
    assert ("press F9 to start and again to stop" if toggle else "hold F9 to talk") in text


def test_holding_the_key_again_within_the_tail_continues_the_utterance(pulse):
    from voiceflow.capture.recorder import Recorder

    log = Transcript()
    asr = GatedTranscriber("Hot text.")
    asr.release.set()
    hotkey = FakeHotkey()

    def run_script():
        time.sleep(0.3)
        hotkey.send("press")
        time.sleep(0.3)
        hotkey.send("release")
        time.sleep(0.1)  # within the 0.25 s tail
        hotkey.send("press")
        time.sleep(0.3)
        hotkey.send("release")
        deadline = time.monotonic() + 10
        while "Hot text." not in log.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    script = threading.Thread(target=run_script)
    script.start()
    try:
        code = run_dictation(Recorder(device=_pulse.INPUT_DEVICE), asr, hotkey=hotkey, out=log, err=log)
    finally:
        script.join()
        hotkey.close()
    text = log.getvalue()
    assert code == 130
    assert text.count("● recording") == 1 and text.count("■ stopped") == 1, text


def test_the_x_display_going_away_ends_the_session_after_the_recorded_text(pulse):
    from voiceflow.capture.recorder import Recorder

    log = Transcript()
    asr = GatedTranscriber("Hot text.")
    asr.release.set()

    class DyingHotkey(FakeHotkey):
        dead = False

        def buffered(self):
            if self.dead:
                raise ConnectionResetError("display closed")
            return False

    hotkey = DyingHotkey()

    def run_script():
        time.sleep(0.3)
        hotkey.send("press")
        time.sleep(0.4)
        hotkey.dead = True  # the X server goes away while the key is held
        os.write(hotkey.w, b".")

    script = threading.Thread(target=run_script)
    script.start()
    try:
        code = run_dictation(Recorder(device=_pulse.INPUT_DEVICE), asr, hotkey=hotkey, out=log, err=log)
    finally:
        script.join()
        hotkey.close()
    text = log.getvalue()
    assert code == 1
    assert "X display went away" in text and "Hot text." in text.splitlines()
