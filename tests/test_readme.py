"""The README's code runs as written: every ```python block, and the quick start's sample output
is what ``voiceflow demo`` prints."""

from __future__ import annotations

import builtins
import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import _pulse

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```$", TEXT, re.M | re.S)
NEEDS_DEVICE = [block for block in BLOCKS if "Recorder(" in block]
OFFLINE = [block for block in BLOCKS if "Recorder(" not in block]


def _run(block: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})  # noqa: S102
    return out.getvalue()


def test_the_readme_has_python_blocks():
    assert len(OFFLINE) >= 3 and len(NEEDS_DEVICE) == 1


@pytest.mark.parametrize("block", OFFLINE, ids=[block.strip().splitlines()[0][:40] for block in OFFLINE])
def test_block_runs_as_written(block):
    out = _run(block)
    if "Transcriber(" in block:
        from voiceflow.bench.wer import word_error_rate
        from voiceflow.cli.demo import sample_reference

        lines = out.splitlines()
        if ".stream(" in block:  # live updates ("… committed | tentative"), then the final text
            assert all(line.startswith("… ") for line in lines[:-1]), out
        else:  # the transcription example prints the sample's words twice
            assert len(lines) == 2, out
        assert word_error_rate([sample_reference()], [lines[-1]]) <= 0.1, out


@pytest.mark.slow
def test_push_to_talk_block_runs_against_a_real_input_device(monkeypatch):
    """The Recorder block on the private PulseAudio server's default input: the first Enter
    starts, the second comes after the demo sample has been played into the device."""
    pulse = _pulse.server_or_skip()
    from voiceflow.bench.wer import word_error_rate
    from voiceflow.cli.demo import sample_path, sample_reference

    presses = []

    def fake_input(prompt: str = "") -> str:
        presses.append(prompt)
        if len(presses) == 2:
            pulse.play(sample_path())
        return ""

    monkeypatch.setattr(builtins, "input", fake_input)
    out = _run(NEEDS_DEVICE[0])
    assert presses == ["Enter to talk", "Enter to stop"]
    assert word_error_rate([sample_reference()], [out]) <= 0.2, out


def _demo_sample() -> list[str]:
    block = re.search(r"^```console\n\$ voiceflow demo\n(.*?)^```$", TEXT, re.M | re.S)
    assert block, "the quick start shows a sample of `voiceflow demo`"
    return block.group(1).splitlines()


def test_quick_start_sample_output_is_what_the_demo_prints():
    done = subprocess.run(
        [sys.executable, "-m", "voiceflow", "demo"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    shown, printed = _demo_sample(), done.stdout.splitlines()
    assert [line.split(":")[0] for line in shown] == [line.split(":")[0] for line in printed]
    # text, reference, WER and mode are deterministic; timings and memory are this machine's
    assert shown[:4] == printed[:4]
    number = re.compile(r"\d+\.\d+|\d+")
    for readme_line, real_line in zip(shown[4:], printed[4:]):
        assert number.sub("#", readme_line) == number.sub("#", real_line)
