"""The ``voiceflow`` command line: help, lazy commands, ``transcribe`` formats, bad files, workers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voiceflow.cli import main as cli
from voiceflow.cli.demo import sample_path

SRT_TIMING = re.compile(r"^\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}$", re.M)
VTT_TIMING = re.compile(r"^\d{2}:\d{2}:\d{2}\.\d{3} --> \d{2}:\d{2}:\d{2}\.\d{3}$", re.M)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def speech(tmp_path: Path, name: str = "speech.wav") -> Path:
    path = tmp_path / name
    shutil.copyfile(sample_path(), path)
    return path


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("voiceflow transcribe: error: ")]


# --- parser and command loading (no model) --------------------------------------------------
def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("transcribe", "demo", "bench", "devices", "dictate"):
        assert re.search(rf"^\s+{command}\s", out, re.M), f"{command} missing from --help"


@pytest.mark.parametrize("path", [["transcribe"], ["demo"], ["devices"], ["dictate"], ["bench", "asr"]])
def test_each_command_loads_its_own_parser(capsys, path):
    with pytest.raises(SystemExit) as exited:
        cli.main([*path, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: voiceflow {' '.join(path)} ")


def test_version(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == "voiceflow 0.1.0"


def test_help_imports_no_model_code():
    probe = (
        "import sys\n"
        "from voiceflow.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "tops = {m.split('.')[0] for m in sys.modules}\n"
        "heavy = sorted(tops & {'faster_whisper', 'ctranslate2', 'av', 'tokenizers'})\n"
        "commands = sorted(m for m in sys.modules\n"
        "                  if m.startswith(('voiceflow.cli.', 'voiceflow.bench')) and m != 'voiceflow.cli.main')\n"
        "print(heavy, commands, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[] []"


def test_console_script_is_installed():
    script = shutil.which("voiceflow", path=str(Path(sys.executable).parent))
    assert script is not None, "the voiceflow console script is not installed next to this Python"
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "voiceflow 0.1.0")


def test_no_command_prints_usage_and_returns_2(capsys):
    code, _, err = run_cli(capsys)
    assert code == 2 and "usage: voiceflow" in err
    code, _, err = run_cli(capsys, "bench")
    assert code == 2 and "usage: voiceflow bench" in err


def test_a_missing_command_module_breaks_only_that_command(capsys, monkeypatch):
    ghost = cli._Command("ghost", "voiceflow._no_such_module", "add_parser", "not installed")
    monkeypatch.setattr(cli, "_COMMANDS", (*cli._COMMANDS, ghost))
    code, _, err = run_cli(capsys, "ghost", "--flag")
    assert code == 2
    assert err.strip() == (
        "voiceflow: command 'ghost' is unavailable "
        "(ModuleNotFoundError: No module named 'voiceflow._no_such_module')"
    )
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "ghost" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        cli.main(["transcribe", "--help"])
    assert exited.value.code == 0


def test_transcribe_rejects_bad_options(capsys):
    for argv in (
        ["transcribe"],
        ["transcribe", "a.wav", "--workers", "0"],
        ["transcribe", "a.wav", "--format", "doc"],
    ):
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 2
    capsys.readouterr()


# --- transcribe with a fake model: failure accounting ---------------------------------------
class CountingTranscriber:
    """Stands in for the model where only the CLI's bookkeeping is under test."""

    def __init__(self, model: str, mode: str = "balanced", **_: object) -> None:
        from voiceflow.config import Config

        self.config = Config()

    def transcribe(self, audio, sample_rate=16000):
        raise AssertionError("no file in this test should reach the model")

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def test_exit_code_is_1_however_many_files_failed(capsys, monkeypatch, tmp_path):
    import voiceflow.asr.transcriber

    monkeypatch.setattr(voiceflow.asr.transcriber, "Transcriber", CountingTranscriber)
    missing = [str(tmp_path / f"gone{n}.wav") for n in range(130)]
    code, out, err = run_cli(capsys, "transcribe", *missing[:3])
    assert (code, out) == (1, "")
    assert error_lines(err) == [f"voiceflow transcribe: error: {p}: no such file" for p in missing[:3]]
    assert err.splitlines()[-1] == "voiceflow transcribe: 3 of 3 files failed"
    code, _, err = run_cli(capsys, "transcribe", *missing)
    assert code == 1 and len(error_lines(err)) == 130


def test_a_terminal_gets_a_progress_bar_for_several_files(capsys, monkeypatch, tmp_path):
    import voiceflow.asr.transcriber

    monkeypatch.setattr(voiceflow.asr.transcriber, "Transcriber", CountingTranscriber)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run_cli(capsys, "transcribe", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"))
    assert code == 1
    assert "2/2" in err and "file" in err
    assert len(error_lines(err.replace("\r", "\n"))) == 2


def test_a_model_that_cannot_be_found_fails_every_file_in_one_line(capsys, tmp_path):
    code, out, err = run_cli(capsys, "transcribe", "a.wav", "b.wav", "--model", str(tmp_path / "no-model"))
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and "no-model" in err and "does not exist" in err


# --- transcribe with the real model ---------------------------------------------------------
def test_transcribe_prints_the_text(capsys, tmp_path):
    code, out, err = run_cli(capsys, "transcribe", str(speech(tmp_path)))
    assert code == 0, err
    assert out.count("\n") == 1
    assert "own computer" in out.lower() and "internet" in out.lower()


def test_transcribe_json_lines_srt_and_vtt_files(capsys, tmp_path):
    a, b = speech(tmp_path, "a.wav"), speech(tmp_path, "b.wav")
    code, out, err = run_cli(capsys, "transcribe", "--format", "json", str(a), str(b))
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["file"] for r in records] == [str(a), str(b)]
    for record in records:
        assert "internet" in record["text"].lower() and record["mode"] == "balanced"
        assert record["duration"] == pytest.approx(5.53, abs=0.01)
        assert record["segments"] and all(0 <= s["start"] < s["end"] <= 5.6 for s in record["segments"])

    out_dir = tmp_path / "subs"
    code, out, err = run_cli(
        capsys, "transcribe", "--format", "srt", "--output", str(out_dir), "--mode", "speed", str(a)
    )
    assert (code, out) == (0, f"{a} -> {out_dir / 'a.srt'}\n")
    srt = (out_dir / "a.srt").read_text()
    assert srt.startswith("1\n") and SRT_TIMING.search(srt) and "internet" in srt.lower()

    code, out, err = run_cli(capsys, "transcribe", "--format", "vtt", "-o", str(out_dir), str(a))
    assert code == 0
    vtt = (out_dir / "a.vtt").read_text()
    assert vtt.startswith("WEBVTT\n\n") and VTT_TIMING.search(vtt)


def test_bad_files_give_one_error_line_each_and_the_batch_goes_on(capsys, tmp_path):
    good = speech(tmp_path, "good.wav")
    missing = tmp_path / "missing.wav"
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("these are my notes, not audio\n" * 10)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:40000])
    again = speech(tmp_path, "again.wav")
    batch = [missing, good, empty, text, truncated, again]
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "transcribe", "--strict", "-o", str(out_dir), *map(str, batch))
    assert code == 1
    assert out.splitlines() == [f"{good} -> {out_dir / 'good.txt'}", f"{again} -> {out_dir / 'again.txt'}"]
    errors = error_lines(err)
    assert len(errors) == 4
    for line, bad, reason in zip(
        errors,
        (missing, empty, text, truncated),
        ("no such file", "empty file", "not a readable audio file", "truncated or damaged"),
    ):
        assert line.startswith(f"voiceflow transcribe: error: {bad}: {reason}")
    assert err.splitlines()[-1] == "voiceflow transcribe: 4 of 6 files failed"
    assert sorted(p.name for p in out_dir.iterdir()) == ["again.txt", "good.txt"]
    assert "internet" in (out_dir / "good.txt").read_text().lower()


def test_two_worker_processes(capsys, tmp_path):
    files = [speech(tmp_path, f"clip{n}.wav") for n in range(3)]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF")
    batch = [str(path) for path in (*files, broken)]
    code, out, err = run_cli(capsys, "transcribe", "--workers", "2", "--format", "json", *batch)
    assert code == 1
    assert error_lines(err) == [f"voiceflow transcribe: error: {broken}: truncated WAV header (4 bytes)"]
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["file"] for r in records] == [str(f) for f in files]
    assert all("internet" in r["text"].lower() for r in records)
