"""voiceflow.dictation.live: the live line (no model) and a live session on a real device."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import pytest

import voiceflow
from voiceflow.asr.stream import StreamUpdate
from voiceflow.dictation.live import LiveDictation, LiveLine

SAMPLE = Path(voiceflow.__file__).parent / "data" / "sample.wav"


def test_terminal_line_is_rewritten_in_place_and_keeps_the_newest_words():
    out = io.StringIO()
    line = LiveLine(out, tty=True, width=30)
    line.show(StreamUpdate("hello", "wor", 1.0))
    line.show(StreamUpdate("hello world", "this is a long tentative tail", 2.0))
    frames = out.getvalue().split("\r\x1b[2K")[1:]
    assert len(frames) == 2 and "\n" not in out.getvalue()
    assert frames[0] == "… hello \x1b[2mwor\x1b[0m"
    visible = frames[1].replace("\x1b[2m", "").replace("\x1b[0m", "")
    assert len(visible) <= 30 and visible.endswith("long tentative tail")
    line.clear()
    assert out.getvalue().endswith("\r\x1b[2K")


def test_plain_output_gets_a_line_each_time_the_committed_text_grows():
    out = io.StringIO()
    line = LiveLine(out, tty=False)
    for update in (StreamUpdate("", "go", 0.5), StreamUpdate("go", "forward", 1.0),
                   StreamUpdate("go", "forward ten", 1.3), StreamUpdate("go forward", "ten", 1.6)):
        line.show(update)
    line.clear()
    assert out.getvalue() == "… go\n… go forward\n"


def _live_session(pulse, transcriber, steps):
    """``run_dictation`` with live text on the test PulseAudio device, driven by ``steps`` (the
    session tests' ``Driver``): ``(exit code, log, driver)``."""
    from tests import _pulse
    from tests.dictation.test_session import Driver, Transcript
    from voiceflow.capture.recorder import Recorder
    from voiceflow.dictation.session import run_dictation

    log = Transcript()
    driver = Driver(pulse, steps)
    driver.start()
    try:
        code = run_dictation(Recorder(device=_pulse.INPUT_DEVICE), transcriber, stdin_fd=driver.read_fd,
                             out=log, err=log, live=LiveDictation(transcriber, log, tty=False))
    finally:
        driver.join()
        os.close(driver.read_fd)
    return code, log, driver


class _FakeStream:
    def __init__(self, on_update) -> None:
        self.on_update, self.cancelled = on_update, False

    def feed(self, block) -> None:
        pass

    def cancel(self) -> None:
        self.cancelled = True


class _FakeTranscriber:
    def __init__(self) -> None:
        self.streams: list[_FakeStream] = []

    def stream(self, sample_rate, on_update=None):
        self.streams.append(_FakeStream(on_update))
        return self.streams[-1]


def test_a_released_stream_is_handed_over_and_no_longer_shown():
    out = io.StringIO()
    live = LiveDictation(_FakeTranscriber(), out, tty=False)
    live.begin(16000)
    first = live.transcriber.streams[0]
    first.on_update(StreamUpdate("go", "forward", 1.0))
    assert live.release() is first and not first.cancelled  # the session finishes it
    first.on_update(StreamUpdate("go forward", "ten", 2.0))  # its worker goes on: not shown
    assert out.getvalue() == "… go\n" and live.release() is None
    live.begin(16000)
    second = live.transcriber.streams[1]
    live.begin(16000)  # a new utterance drops an unreleased one
    assert second.cancelled
    live.cancel()
    assert live.transcriber.streams[2].cancelled


@pytest.mark.slow
def test_live_session_shows_text_while_recording_and_prints_the_final_text():
    from tests import _pulse
    from tests.dictation.test_session import wer

    pulse = _pulse.server_or_skip()
    transcriber = _pulse.transcriber_or_skip()
    before = set(threading.enumerate())
    code, log, driver = _live_session(
        pulse, transcriber, [("sleep", 0.5), "enter", ("play", SAMPLE), ("sleep", 0.3), "enter", ("sleep", 0.5)])
    assert driver.error is None and code == 0
    time.sleep(0.2)
    assert set(threading.enumerate()) <= before, "a thread was left behind"
    lines = log.getvalue().splitlines()
    live = [line for line in lines if line.startswith("… ")]
    final = [line for line in lines if not line.startswith(("voiceflow dictate:", "●", "■", "(", "… "))]
    assert live, lines  # text appeared before the key was released
    stopped = next(i for i, line in enumerate(lines) if line.startswith("■"))
    assert lines.index(live[0]) < stopped
    assert len(final) == 1, lines  # the live lines came before the one final text
    reference = SAMPLE.with_suffix(".txt").read_text()
    assert wer(reference, final[0]) <= 0.15, final


class _CountingStream(_FakeStream):
    def __init__(self, sample_rate, on_update) -> None:
        super().__init__(on_update)
        self.rate, self.fed, self.finished = sample_rate, 0, False
        self.lost_samples = self.rejected_blocks = 0

    def feed(self, block) -> None:
        self.fed += len(block)

    @property
    def seconds(self) -> float:
        return self.fed / self.rate

    def finish(self):
        from types import SimpleNamespace

        self.finished = True
        return SimpleNamespace(text="Streamed text.")


class _BothTranscriber(_FakeTranscriber):
    def stream(self, sample_rate, on_update=None):
        self.streams.append(_CountingStream(sample_rate, on_update))
        return self.streams[-1]

    def transcribe(self, audio, sample_rate):
        from types import SimpleNamespace

        return SimpleNamespace(text="Transcribed text.")


@pytest.mark.slow
@pytest.mark.parametrize("streamed_final_s", [0.3, 60.0])
def test_a_long_utterance_takes_the_streams_text_and_a_short_one_is_transcribed(streamed_final_s, monkeypatch):
    """``STREAMED_FINAL_S`` decides (lowered here so a 1 s recording counts as long): the stream
    fed by the recorder is finished for a long utterance, cancelled for a short one."""
    from tests import _pulse
    from voiceflow.dictation import session

    monkeypatch.setattr(session, "STREAMED_FINAL_S", streamed_final_s)
    pulse = _pulse.server_or_skip()
    asr = _BothTranscriber()
    code, log, _ = _live_session(pulse, asr, [("sleep", 0.2), "enter", ("sleep", 0.7), "enter", ("sleep", 1.0)])
    assert code == 0
    (stream,) = asr.streams
    if streamed_final_s < 1.0:
        assert "Streamed text." in log.getvalue().splitlines() and stream.finished and not stream.cancelled
    else:
        assert "Transcribed text." in log.getvalue().splitlines() and stream.cancelled and not stream.finished
