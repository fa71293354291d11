"""Desktop dictation end to end: a real X server (Xvfb), real xterm windows, XTest key events on
the hotkey while corpus clips play into the private PulseAudio device, and the real
``voiceflow dictate`` command in a subprocess.  The windows must receive exactly the transcript.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from tests import _pulse
from tests.dictation import _desktop

pytestmark = pytest.mark.slow

CLIP_A = "pocketsphinx_goforward"  # "go forward ten meters"
CLIP_B = "speechbrain_example2"  # "my father has revealed the culprit's name"
CLIP_LONG = "speechbrain_example1"  # "the birch canoe slid on the smooth planks"
CLIP_5S = "fasterwhisper_stereodiar-left"  # 5 s: its transcription leaves time to move the focus


@pytest.fixture(scope="module")
def pulse():
    return _pulse.server_or_skip()


class Dictate:
    """``voiceflow dictate ARGS`` in a subprocess; its stdout/stderr lines are collected."""

    def __init__(self, args, env):
        command = [sys.executable, "-m", "voiceflow", "dictate", "--device", _pulse.INPUT_DEVICE, *args]
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, lines):
        for raw in stream:
            lines.append(raw.decode(errors="replace").rstrip("\n"))

    def wait_for(self, lines, predicate, timeout=60.0, start=0, poll=0.02):
        deadline = time.monotonic() + timeout
        while not any(predicate(line) for line in lines[start:]):
            assert self.proc.poll() is None or any(predicate(l) for l in lines[start:]), \
                f"dictate exited {self.proc.returncode}:\n" + "\n".join(self.err)
            assert time.monotonic() < deadline, "timed out; stderr:\n" + "\n".join(self.err)
            time.sleep(poll)

    def wait_texts(self, count, timeout=30.0):
        self.wait_for(self.out, lambda _: len(self.out) >= count, timeout)
        return self.out[:count]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for reader in self._readers:
            reader.join(5)
        return self.proc.returncode


def hold_and_speak(xserver, pulse, clip, key="F9"):
    xserver.xdotool("keydown", key)
    time.sleep(0.2)
    pulse.play(clip)
    xserver.xdotool("keyup", key)


def clip(corpus, name):
    return corpus / "clips" / f"{name}.wav"


@pytest.fixture(scope="module")
def typing_session(pulse, xserver, corpus, tmp_path_factory):
    replacements = tmp_path_factory.mktemp("replacements") / "r.toml"
    # No corpus clip says "scratch that": a replacement names the command in other words.
    replacements.write_text('"the birch canoe slid on the smooth planks" = "scratch that"\n')
    session = Dictate(["--hotkey", "F9", "--type", "--replacements", str(replacements)],
                      {**pulse.env, **xserver.env})
    session.wait_for(session.err, lambda line: "hold F9 to talk" in line)
    time.sleep(0.3)  # the pre-roll fills
    yield session
    assert session.stop() == 130
    assert "Traceback" not in "\n".join(session.err)


def test_hold_the_hotkey_and_the_text_is_typed_into_the_focused_window(typing_session, xserver, pulse,
                                                                       corpus, tmp_path):
    path = tmp_path / "typed.txt"
    window = xserver.terminal(path)
    xserver.focus(window)
    before, status_before = len(typing_session.out), len(typing_session.err)
    hold_and_speak(xserver, pulse, clip(corpus, CLIP_A))
    text = typing_session.wait_texts(before + 1)[-1]
    assert "forward" in text.lower()
    time.sleep(0.2)
    xserver.xdotool("key", "Return")
    # Exactly the transcript: nothing of the hotkey (xterm would write F9 as ESC [ 2 0 ~).
    assert _desktop.read_when(path, lambda t: t.endswith("\n")) == text + "\n"
    # A 3 s hold, well past the auto-repeat delay: one recording.
    assert sum("● recording" in line for line in typing_session.err[status_before:]) == 1, typing_session.err


def test_scratch_that_erases_the_previous_utterance(typing_session, xserver, pulse, corpus, tmp_path):
    path = tmp_path / "scratched.txt"
    window = xserver.terminal(path)
    xserver.focus(window)
    before = len(typing_session.out)
    hold_and_speak(xserver, pulse, clip(corpus, CLIP_A))
    first = typing_session.wait_texts(before + 1)[-1]
    hold_and_speak(xserver, pulse, clip(corpus, CLIP_LONG))  # -> "scratch that"
    typing_session.wait_for(typing_session.err, lambda line: "previous utterance was removed" in line)
    hold_and_speak(xserver, pulse, clip(corpus, CLIP_B))
    second = typing_session.wait_texts(before + 2)[-1]
    time.sleep(0.2)
    xserver.xdotool("key", "Return")
    assert "forward" in first.lower() and "father" in second.lower()
    assert _desktop.read_when(path, lambda t: t.endswith("\n")) == second + "\n"


def test_text_is_not_typed_into_another_window_when_the_focus_moved(typing_session, xserver, pulse,
                                                                     corpus, tmp_path):
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    window_a, window_b = xserver.terminal(first), xserver.terminal(second)
    xserver.focus(window_a)
    xserver.clipboard("before")
    before = len(typing_session.err)
    hold_and_speak(xserver, pulse, clip(corpus, CLIP_5S))
    typing_session.wait_for(typing_session.err, lambda line: "■ stopped" in line, start=before, poll=0.002)
    xserver.focus(window_b)  # while the utterance is being transcribed (a few hundred ms)
    typing_session.wait_for(typing_session.err, lambda line: "focused window changed" in line)
    for window in (window_a, window_b):
        xserver.focus(window)
        xserver.xdotool("key", "Return")
    assert _desktop.read_when(first, lambda t: t) == "\n"
    assert _desktop.read_when(second, lambda t: t) == "\n"
    assert "wizard" in xserver.clipboard().lower()


def test_paste_types_the_text_and_restores_the_clipboard(pulse, xserver, corpus, tmp_path):
    path = tmp_path / "pasted.txt"
    # Terminals paste with Ctrl+Shift+V; xterm binds it only when told to.
    window = xserver.terminal(path, "-xrm", "XTerm*VT100.translations: #override "
                              "Ctrl Shift <Key>V: insert-selection(CLIPBOARD)")
    xserver.focus(window)
    xserver.clipboard("the user's own clipboard")
    # F9 may still be grabbed by the typing session (module fixture): a second grab is refused.
    session = Dictate(["--hotkey", "F10", "--paste"], {**pulse.env, **xserver.env})
    try:
        session.wait_for(session.err, lambda line: "hold F10 to talk" in line)
        time.sleep(0.3)
        hold_and_speak(xserver, pulse, clip(corpus, CLIP_A), key="F10")
        text = session.wait_texts(1)[0]
        time.sleep(0.3)
        xserver.xdotool("key", "Return")
        assert _desktop.read_when(path, lambda t: t.endswith("\n")) == text + "\n"
        # Restored once the window has fetched the pasted text (just after the paste).
        assert _desktop.wait_until(lambda: xserver.clipboard() == "the user's own clipboard"), \
            xserver.clipboard()
    finally:
        assert session.stop() == 130, session.err
    assert not any("did not paste" in line for line in session.err), session.err


def test_listen_mode_is_driven_by_voiceflow_dictate_commands(pulse, xserver, corpus, tmp_path):
    path = tmp_path / "listened.txt"
    window = xserver.terminal(path)
    xserver.focus(window)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**pulse.env, **xserver.env, "XDG_RUNTIME_DIR": str(runtime)}
    session = Dictate(["--listen", "--type"], env)
    socket_path = runtime / "voiceflow-dictate.sock"
    command = [sys.executable, "-m", "voiceflow", "dictate"]
    try:
        session.wait_for(session.err, lambda line: "listening on" in line)
        assert (socket_path.stat().st_mode & 0o777) == 0o600
        time.sleep(0.3)
        done = subprocess.run(command + ["toggle"], env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and done.stdout.strip() == "ok idle", done.stderr
        pulse.play(clip(corpus, CLIP_A))
        done = subprocess.run(command + ["end"], env=env, capture_output=True, text=True, timeout=30)
        assert done.stdout.strip() == "ok recording"
        text = session.wait_texts(1)[0]
        time.sleep(0.2)
        xserver.xdotool("key", "Return")
        assert _desktop.read_when(path, lambda t: t.endswith("\n")) == text + "\n"
        assert "forward" in text.lower()
    finally:
        assert session.stop() == 130, session.err
    assert not socket_path.exists()
    done = subprocess.run(command + ["toggle"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "no dictation session is listening" in done.stderr


def test_an_idle_session_with_the_hotkey_armed_uses_almost_no_cpu(typing_session):
    """The main thread sleeps in select (waking once a second to check the input device); what
    remains is PortAudio's stream (about 1 % of a core, see docs/capture.md)."""
    psutil = pytest.importorskip("psutil")
    process = psutil.Process(typing_session.proc.pid)
    time.sleep(1.0)  # the previous utterance's threads settle
    before, t0 = process.cpu_times(), time.monotonic()
    time.sleep(4.0)
    after, wall = process.cpu_times(), time.monotonic() - t0
    used = (after.user - before.user) + (after.system - before.system)
    assert used / wall <= 0.02, f"idle session used {100 * used / wall:.1f} % of a core"
