"""``voiceflow dictate`` options: bad values are usage errors (exit 2) before anything opens."""

from __future__ import annotations

import os

import pytest

from voiceflow.cli.main import main


@pytest.mark.parametrize("args, message", [
    (["--silence", "-1"], "--silence: must be a positive number of seconds"),
    (["--silence", "nan"], "--silence: must be a positive number of seconds"),
    (["--samplerate", "0"], "--samplerate: must be positive"),
    (["--samplerate", "16k"], "--samplerate: not a whole number"),
    (["--threshold-db", "5"], "--threshold-db: must be a level below full scale"),
    (["--append", "/nonexistent-folder/notes.txt"], "folder /nonexistent-folder does not exist"),
    (["--type", "--paste", "--hotkey", "F9"], "not allowed with argument"),
    (["nonsense"], "invalid choice"),
])
def test_bad_option_values_exit_2_with_the_reason(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["dictate", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_append_to_an_unwritable_file_or_a_folder_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["dictate", "--append", str(tmp_path)])
    assert exit_info.value.code == 2 and "is a folder" in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions do not stop writes")
        with pytest.raises(SystemExit) as exit_info:
            main(["dictate", "--append", str(locked / "notes.txt")])
        assert exit_info.value.code == 2 and "not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_read_only_append_file_is_a_usage_error(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("")
    notes.chmod(0o400)
    if os.access(notes, os.W_OK):
        pytest.skip("running as root: permissions do not stop writes")
    with pytest.raises(SystemExit) as exit_info:
        main(["dictate", "--append", str(notes)])
    assert exit_info.value.code == 2 and "permission denied" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--toggle"], "--toggle needs --hotkey"),
    (["--type"], "--type/--paste need --hotkey or --listen"),
    (["--hotkey", "F9", "--vad"], "--vad works with Enter"),
])
def test_option_combinations_that_cannot_work_exit_2(args, message, capsys):
    assert main(["dictate", *args]) == 2
    assert message in capsys.readouterr().err


def test_hotkey_without_a_display_is_a_clear_error(monkeypatch, capsys):
    pytest.importorskip("Xlib")
    monkeypatch.setenv("DISPLAY", ":9999")
    assert main(["dictate", "--hotkey", "F9"]) == 2
    assert "cannot open the X display" in capsys.readouterr().err


def test_bad_replacements_file_exit_2(tmp_path, capsys):
    bad = tmp_path / "r.toml"
    bad.write_text("x = 1\n")
    assert main(["dictate", "--replacements", str(bad)]) == 2
    assert "must be" in capsys.readouterr().err


def test_control_command_without_a_session(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert main(["dictate", "toggle"]) == 1
    assert "no dictation session is listening" in capsys.readouterr().err


@pytest.mark.parametrize("env, args, message", [
    ({"WAYLAND_DISPLAY": "wayland-0"}, ["--type"], "--type on Wayland needs wtype, ydotool or dotool"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, ["--paste"], "--paste needs X11"),
    ({}, ["--type"], "no graphical session"),
])
def test_typing_without_a_way_to_type_is_a_usage_error(env, args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert main(["dictate", "--listen", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "voiceflow-dictate.sock").exists()  # the socket was closed again


def test_prompt_and_hotwords_reach_every_transcription():
    from voiceflow.cli.dictate import _Prompted

    calls = []

    class Recording:
        def transcribe(self, audio, sample_rate, *, prompt=None, hotwords=None):
            calls.append((sample_rate, prompt, hotwords))

    asr = _Prompted(Recording(), "Meeting notes.", "Kubernetes, Grafana")
    asr.transcribe([0.0], 16000)
    asr.transcribe([0.0], 16000)
    assert calls == [(16000, "Meeting notes.", "Kubernetes, Grafana")] * 2
