"""``voiceflow demo``: the shipped sample and an offline end-to-end run of the real model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import wave

import pytest

from voiceflow.cli import main as cli
from voiceflow.bench.asr import corpus_wer
from voiceflow.cli.demo import sample_path, sample_reference


def test_the_sample_ships_inside_the_package_as_small_16k_mono_int16():
    path = sample_path()
    assert path.is_file() and path.stat().st_size < 200 * 1024
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert 2.0 < wav.getnframes() / 16000 < 8.0
    assert sample_reference() == (
        "Voice typing works on your own computer, without sending any audio to the internet."
    )


def word_error_rate(reference: str, hypothesis: str) -> float:
    pytest.importorskip("jiwer")
    pytest.importorskip("whisper_normalizer.english")
    return corpus_wer([reference], [hypothesis])


def test_demo_prints_text_reference_wer_timings_and_mode(capsys):
    code = cli.main(["demo"])
    out = capsys.readouterr().out
    assert code == 0, out
    fields = dict(line.split(":", 1) for line in out.splitlines())
    assert list(fields) == ["text", "reference", "WER", "mode", "timings", "total"]
    assert fields["reference"].strip() == sample_reference()
    assert word_error_rate(sample_reference(), fields["text"]) <= 0.1
    assert re.fullmatch(r"\s+\d+\.\d % \(case and punctuation ignored\)", fields["WER"])
    assert fields["mode"].strip() == "balanced (model tiny.en)"
    for part in ("audio 5.53 s", "load + warm-up", "transcribe", "encode", "decode"):
        assert part in fields["timings"]
    assert "peak RSS" in fields["total"]


def test_demo_runs_offline_in_a_fresh_process_in_speed_mode():
    unreachable = "http://127.0.0.1:9"  # any attempt to use the network fails at once
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "https_proxy": unreachable, "http_proxy": unreachable}
    env.pop("no_proxy", None)
    done = subprocess.run(
        [sys.executable, "-m", "voiceflow", "demo", "--mode", "speed"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout.splitlines()[0].removeprefix("text:")
    assert word_error_rate(sample_reference(), text) <= 0.1
    assert "mode:      speed" in done.stdout


def test_demo_scores_wer_without_the_optional_packages():
    """``pip install . && voiceflow demo`` has neither jiwer nor whisper-normalizer."""
    blocked = "import sys; sys.modules.update(jiwer=None, whisper_normalizer=None); "
    done = subprocess.run(
        [sys.executable, "-c", blocked + "from voiceflow.cli.main import main; sys.exit(main(['demo', '--mode', 'speed']))"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(r"^WER:       \d+\.\d % \(case and punctuation ignored\)$", done.stdout, re.M), done.stdout


def test_a_missing_model_is_one_error_line(capsys, tmp_path):
    code = cli.main(["demo", "--model", str(tmp_path / "no-model")])
    captured = capsys.readouterr()
    assert (code, captured.out) == (1, "")
    assert captured.err.startswith("voiceflow demo: error: model directory")
    assert captured.err.count("\n") == 1
