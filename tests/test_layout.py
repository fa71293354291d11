"""The package layout: one folder per layer, the drop-in import paths, ``python -m voiceflow``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import voiceflow

PACKAGE = Path(voiceflow.__file__).resolve().parent
TOP_LEVEL_MODULES = {"__init__.py", "__main__.py", "config.py", "guard.py", "ring.py", "validator.py"}
LAYERS = {"audio", "asr", "capture", "cli", "dictation", "bench"}


def test_the_package_top_holds_only_the_api_the_config_the_shims_and_the_layers():
    modules = {p.name for p in PACKAGE.glob("*.py")}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert modules == TOP_LEVEL_MODULES
    assert folders == LAYERS


def test_drop_in_names_import_from_their_old_module_paths():
    from voiceflow.guard import audio_validation_guard
    from voiceflow.ring import BoundedRingBuffer
    from voiceflow.validator import SmartAudioValidator

    assert audio_validation_guard is voiceflow.audio_validation_guard
    assert BoundedRingBuffer is voiceflow.BoundedRingBuffer
    assert SmartAudioValidator is voiceflow.SmartAudioValidator


def test_import_voiceflow_loads_neither_the_model_nor_portaudio():
    code = (
        "import sys, voiceflow\n"
        "heavy = [m for m in ('faster_whisper', 'ctranslate2', 'sounddevice') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_python_dash_m_voiceflow_runs_the_command_line():
    out = subprocess.run([sys.executable, "-m", "voiceflow", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("transcribe", "dictate", "devices", "demo", "bench"):
        assert command in out.stdout
