"""``voiceflow transcribe`` on a file cut short: a warning and the transcript of what is there;
an error (counted in the exit code) only with ``--strict``; JSON says ``"truncated": true``."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from voiceflow.cli import main as cli
from voiceflow.cli.demo import sample_path


def test_a_cut_wav_is_transcribed_with_a_warning_and_strict_makes_it_an_error(capsys, tmp_path):
    whole = sample_path().read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    code = cli.main(["transcribe", "--format", "json", str(cut)])
    out, err = capsys.readouterr()
    record = json.loads(out)
    assert code == 0 and record["truncated"] is True and record["text"].strip()
    assert err.splitlines() == [
        f"voiceflow transcribe: warning: {cut}: truncated or damaged: transcribed the "
        f"{record['duration']:.2f} s that could be decoded"
    ]
    code = cli.main(["transcribe", "--strict", str(cut)])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.startswith(f"voiceflow transcribe: error: {cut}: truncated or damaged")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_an_mp4_whose_video_outlasts_its_audio_is_complete(capsys, tmp_path):
    video = tmp_path / "v.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "color=c=blue:s=64x64:d=14",
         "-i", str(sample_path()), "-c:v", "libx264", "-c:a", "aac", str(video)],
        check=True, timeout=60,
    )  # fmt: skip
    code = cli.main(["transcribe", "--strict", "--format", "json", "--mode", "speed", str(video)])
    out, err = capsys.readouterr()
    record = json.loads(out)
    assert (code, err) == (0, "")
    assert record["truncated"] is False and record["text"].strip()
