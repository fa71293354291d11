"""voiceflow.bench.asr: corpus discovery, metrics, table/chart, and one tiny end-to-end run."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from voiceflow.bench import asr as asr_bench
from voiceflow.bench.asr import Row, corpus_wer, find_clips, markdown_table, write_chart


def test_find_clips_pairs_wav_with_txt(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "a.txt").write_text(" hello \n")
    (tmp_path / "b.wav").write_bytes(b"")  # no reference: skipped
    assert find_clips(tmp_path) == [("a", tmp_path / "a.wav", "hello")]
    (tmp_path / "clips").mkdir()
    assert find_clips(tmp_path) == []  # a corpus root with clips/ means clips/


def test_default_corpus_honours_env(monkeypatch, tmp_path):
    (tmp_path / "clips").mkdir()
    monkeypatch.setenv("VOICEFLOW_CORPUS", str(tmp_path))
    assert asr_bench.default_corpus() == tmp_path / "clips"


def test_corpus_wer_normalises_and_counts_words():
    assert corpus_wer(["Go forward ten meters."], ["go forward 10 meters"]) == 0.0
    assert corpus_wer(["red green blue cyan", "black white"], ["red green blue", "black white"]) == pytest.approx(1 / 6)


def test_percentile_interpolates():
    assert asr_bench._percentile([1, 2, 3, 4, 5], 0.5) == 3
    assert asr_bench._percentile([0.0, 10.0], 0.9) == pytest.approx(9.0)


def test_table_and_chart(tmp_path):
    pytest.importorskip("matplotlib")
    rows = [Row("plain", 10.0, 0.3, 0.4, 0.05, 250, 1.2, 240), Row("speed", 40.0, 0.06, 0.09, 0.055, 255, 1.1, 238)]
    table = markdown_table(rows, {"clips": ["a", "b"], "audio_s": 10.0, "n_short": 2, "repeats": 3})
    lines = table.splitlines()
    assert lines[2].startswith("| configuration |") and len(lines) == 6
    assert "| speed | 40.0 | 4.00 | 60 | 0.20 |" in table
    assert "median of 3 timed calls" in lines[0]
    write_chart(rows, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_end_to_end_on_one_clip(corpus, tmp_path):
    pytest.importorskip("matplotlib")
    clips = tmp_path / "clips"
    clips.mkdir()
    for suffix in (".wav", ".txt"):
        (clips / f"speechbrain_example1{suffix}").symlink_to(corpus / "clips" / f"speechbrain_example1{suffix}")
    out = tmp_path / "out"
    argv = ["--corpus", str(clips), "--configs", "speed", "--cold-runs", "1", "--repeats", "2", "--out", str(out)]
    assert asr_bench.main(argv) == 0
    table = (out / "asr_results.md").read_text()
    assert "| speed |" in table
    results = json.loads((out / "asr_results.json").read_text())
    (times,) = results["repeat_seconds"]["speed"]
    assert len(times) == 2 and results["seconds"]["speed"] == [statistics.median(times)]
    assert Path(out / "asr_latency_wer.png").stat().st_size > 1000
