"""``voiceflow transcribe``: exit codes, checks before the model loads, --output, stdin, the
progress bar on a terminal, broken pipes."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest

from voiceflow.cli import main as cli
from voiceflow.cli.demo import sample_path

SAMPLE_TEXT = "Voice typing works on your own computer without sending any audio to the internet."


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def speech(folder: Path, name: str = "speech.wav") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    shutil.copyfile(sample_path(), path)
    return path


class FakeTranscriber:
    """Stands in for the model: records when it is built and every call; returns one segment."""

    events: list[str] = []

    def __init__(self, model: str, mode: str = "balanced", **_: object) -> None:
        FakeTranscriber.events.append("load")

    def transcribe(self, audio, sample_rate=16000):
        from voiceflow.asr.transcriber import Segment, Timings, Transcript

        FakeTranscriber.events.append("transcribe")
        return Transcript(
            text="words", segments=(Segment(0.0, 1.0, "words", 0.01, -0.2),),
            duration=len(audio) / sample_rate, timings=Timings(0.0, 0.0, 0.0, 0.0), mode="balanced",
        )  # fmt: skip

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.fixture
def fake_model(monkeypatch):
    import voiceflow.asr.transcriber

    FakeTranscriber.events = []
    monkeypatch.setattr(voiceflow.asr.transcriber, "Transcriber", FakeTranscriber)
    return FakeTranscriber


# --- exit codes and checks before any model loads ------------------------------------------------
def test_exit_codes_are_0_1_2_not_a_failure_count(capsys, fake_model, tmp_path):
    good = str(speech(tmp_path))
    missing = [str(tmp_path / f"gone{n}.wav") for n in range(3)]
    assert run_cli(capsys, "transcribe", good)[0] == 0
    code, out, err = run_cli(capsys, "transcribe", *missing, good)
    assert code == 1
    assert out == f"==> {good} <==\nwords\n"
    assert err.splitlines()[-1] == "voiceflow transcribe: 3 of 4 files failed"
    code, _, err = run_cli(capsys, "transcribe", *missing)
    assert code == 1 and err.splitlines()[-1] == "voiceflow transcribe: 3 of 3 files failed"
    code, _, err = run_cli(capsys, "transcribe", good, "--output", good)
    assert code == 2


def test_inputs_are_checked_before_the_model_loads(capsys, fake_model, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    good = str(speech(tmp_path))
    code, _, err = run_cli(capsys, "transcribe", str(tmp_path / "gone.wav"), str(folder), str(empty))
    assert code == 1 and fake_model.events == []  # nothing to transcribe: no model at all
    assert [line.split(": ", 2)[2] for line in err.splitlines()[:3]] == [
        f"{tmp_path / 'gone.wav'}: no such file", f"{folder}: is a directory, not an audio file",
        f"{empty}: empty file (0 bytes)",
    ]  # fmt: skip

    seen_before_load = []

    class Recording(FakeTranscriber):
        def __init__(self, *args, **kwargs):
            seen_before_load.append(sys.stderr.getvalue())
            super().__init__(*args, **kwargs)

    import voiceflow.asr.transcriber

    voiceflow.asr.transcriber.Transcriber = Recording
    code, _, err = run_cli(capsys, "transcribe", good, str(tmp_path / "gone.wav"))
    assert code == 1
    assert f"{tmp_path / 'gone.wav'}: no such file" in seen_before_load[0]


def test_output_that_is_a_file_is_a_usage_error(capsys, fake_model, tmp_path):
    good = str(speech(tmp_path))
    target = tmp_path / "notes.txt"
    target.write_text("keep me\n")
    code, out, err = run_cli(capsys, "transcribe", good, "--output", str(target))
    assert (code, out) == (2, "")
    assert err == f"voiceflow transcribe: error: --output {target}: exists and is not a directory\n"
    assert target.read_text() == "keep me\n" and fake_model.events == []


def test_output_name_clash_is_reported_not_renamed(capsys, fake_model, tmp_path):
    a, b = speech(tmp_path / "a", "x.wav"), speech(tmp_path / "b", "x.wav")
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "transcribe", str(a), str(b), "--output", str(out_dir))
    assert (code, out) == (2, "")
    assert err.startswith(f"voiceflow transcribe: error: {a} and {b} would both write {out_dir / 'x.txt'}")
    assert err.count("\n") == 1
    assert not out_dir.exists() and fake_model.events == []


def test_output_dir_prints_one_line_per_file_written(capsys, fake_model, tmp_path):
    a, b = speech(tmp_path, "a.wav"), speech(tmp_path, "b.wav")
    out_dir = tmp_path / "subs"
    code, out, err = run_cli(capsys, "transcribe", str(a), str(tmp_path / "gone.wav"), str(b),
                             "-o", str(out_dir), "--format", "srt")  # fmt: skip
    assert code == 1
    assert out.splitlines() == [f"{a} -> {out_dir / 'a.srt'}", f"{b} -> {out_dir / 'b.srt'}"]
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.srt", "b.srt"]


def test_workers_and_scheduler_exclude_each_other(capsys, fake_model, tmp_path):
    code, _, err = run_cli(capsys, "transcribe", str(speech(tmp_path)), "--workers", "2", "--scheduler", "tcp://x:1")
    assert code == 2 and "exclude each other" in err


def test_scheduler_without_dask_is_a_usage_error(capsys, fake_model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the dask extra were not installed
    monkeypatch.delitem(sys.modules, "voiceflow.asr.cluster", raising=False)
    code, out, err = run_cli(capsys, "transcribe", str(speech(tmp_path)), "--scheduler", "tcp://x:1")
    assert (code, out) == (2, "")
    assert err.startswith("voiceflow transcribe: error: --scheduler needs Dask distributed")
    assert err.rstrip().endswith("pip install 'voiceflow[dask]'") and err.count("\n") == 1
    assert fake_model.events == []


def test_stdin_can_be_read_once(capsys, fake_model, tmp_path, monkeypatch):
    code, _, err = run_cli(capsys, "transcribe", "-", "-")
    assert code == 2 and "stdin (-) can be read only once" in err


# --- broken pipe -----------------------------------------------------------------------------
class ClosedPipe:
    """A stdout whose reader went away after the first write."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        if self.writes > 1:
            raise BrokenPipeError(32, "Broken pipe")
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_broken_pipe_stops_the_work_quietly(capsys, fake_model, tmp_path, monkeypatch):
    files = [str(speech(tmp_path, f"clip{n}.wav")) for n in range(20)]
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    code = cli.main(["transcribe", *files])
    err = capsys.readouterr().err
    assert code == 141 and err == ""
    # the pipeline holds at most 2 jobs ahead of the writer, plus the one inside the model
    assert 2 <= fake_model.events.count("transcribe") <= 5


@pytest.mark.slow
def test_head_sees_no_traceback(tmp_path):
    files = [str(speech(tmp_path, f"clip{n}.wav")) for n in range(6)]
    started = time.monotonic()
    producer = subprocess.Popen([sys.executable, "-m", "voiceflow", "transcribe", *files],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    head = subprocess.run(["head", "-1"], stdin=producer.stdout, capture_output=True, text=True)
    producer.stdout.close()
    err = producer.stderr.read().decode()
    assert producer.wait(timeout=120) == 141
    assert head.stdout == f"==> {files[0]} <==\n"
    assert err == "", err
    assert time.monotonic() - started < 120


# --- real model ------------------------------------------------------------------------------
@pytest.mark.slow
def test_dash_reads_audio_from_stdin(tmp_path):
    with open(sample_path(), "rb") as audio:
        done = subprocess.run([sys.executable, "-m", "voiceflow", "transcribe", "-", "--format", "json"],
                              stdin=audio, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"file": "<stdin>"' in done.stdout and "own computer" in done.stdout
    done = subprocess.run([sys.executable, "-m", "voiceflow", "transcribe", "-"],
                          input=b"not audio at all" * 100, capture_output=True, timeout=120)  # fmt: skip
    assert done.returncode == 1
    err = done.stderr.decode()
    assert err.startswith("voiceflow transcribe: error: <stdin>: "), err
    assert "voiceflow-stdin" not in err  # the temporary file's name never shows


def _read_all(fd: int, proc: subprocess.Popen, timeout: float) -> bytes:
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    return b"".join(chunks)


@pytest.mark.slow
def test_progress_bar_and_transcripts_share_a_terminal_without_colliding(tmp_path):
    files = [str(speech(tmp_path, f"clip{n}.wav")) for n in range(3)]
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "voiceflow", "transcribe", *files],
                            stdout=secondary, stderr=secondary, stdin=subprocess.DEVNULL)  # fmt: skip
    os.close(secondary)
    screen = _read_all(primary, proc, 120).decode(errors="replace")
    os.close(primary)
    assert proc.wait(timeout=30) == 0, screen
    assert "3/3" in screen  # there was a bar
    # What stays visible on each terminal line is what follows its last carriage return.
    visible = [line.split("\r")[-1].rstrip() for line in screen.replace("\r\n", "\n").split("\n")]
    for path in files:
        assert f"==> {path} <==" in visible, screen
    assert visible.count(SAMPLE_TEXT) == 3, screen
    assert not any(re.search(r"\d+/3.*(==>|Voice typing)", line) for line in visible), screen
