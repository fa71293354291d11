"""voiceflow.bench.stream: the long-dictation set, onsets, the summary table and chart (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from voiceflow.bench.stream import Run, long_dictations, markdown_table, speech_onset_s, summary, write_chart


def tone(seconds: float, start_silence: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    voiced = (0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    return np.concatenate([np.zeros(int(start_silence * 16000), np.float32), voiced])


def test_long_dictations_join_clips_with_pauses_into_20_to_60_s():
    clips = [(f"c{i}", tone(3.0 + i % 5), f"words {i}") for i in range(20)]
    made = long_dictations(clips, 5)
    assert len(made) == 5
    for name, audio, reference in made:
        assert 20.0 <= len(audio) / 16000 <= 60.0
        parts = reference.split(" words ")
        assert len(parts) >= 3
    assert [m[2] for m in made] == [m[2] for m in long_dictations(clips, 5)]  # seeded


def test_speech_onset_is_the_first_loud_frame():
    assert speech_onset_s(tone(2.0, start_silence=1.5)) == pytest.approx(1.5, abs=0.05)
    assert speech_onset_s(np.zeros(16000, np.float32)) == 0.0
    quiet = tone(2.0, start_silence=1.5) * np.float32(10 ** (-60 / 20))  # a quiet microphone
    assert speech_onset_s(quiet) == pytest.approx(1.5, abs=0.05)


def run(set_name, mode, seconds, stream_s, plain_s, first=1.0, text="a b c"):
    return Run(set_name, mode, f"clip{seconds}", seconds, "a b c", text, "a b c", "a b c", stream_s, 0.2,
               plain_s, first, 0.3 * seconds, 0, 5)


def test_summary_medians_ratios_and_table(tmp_path):
    runs = [run("clips", "balanced", 3, 0.05, 0.5), run("clips", "balanced", 5, 0.10, 0.5, text="a b"),
            run("clips", "balanced", 20, 9.0, 1.0, first=None), run("dictations", "balanced", 40, 0.1, 2.0)]
    rows = summary(runs)
    clips = rows[0]
    assert (clips["set"], clips["n"], clips["timed"]) == ("clips", 3, 2)  # > 12 s: not timed
    assert clips["stream_ms"] == pytest.approx(75.0) and clips["plain_ms"] == pytest.approx(500.0)
    assert clips["stream_med_x_plain_med"] == pytest.approx(0.15)
    assert clips["stream_max_ms"] == pytest.approx(100.0)  # the longest wait of the timed clips
    assert clips["wer_stream"] == pytest.approx(1 / 9) and clips["wer_plain"] == 0.0
    assert clips["no_first_word"] == 1 and clips["first_word_s"] == 1.0
    table = markdown_table(rows)
    assert table.count("\n") == 4 and "| dictations | balanced |" in table
    assert "| clips | balanced | 3 (2) | 75 | 100 | 200 | 500 |" in table
    write_chart(runs, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 1000


@pytest.mark.slow
def test_a_replay_gives_the_same_text_and_decodes_on_every_run():
    """``--replay`` feeds each block once the worker is idle: the decode points, hence the
    text, do not depend on the machine's speed; the first word is in audio time."""
    from pathlib import Path

    import voiceflow
    from voiceflow.asr.transcriber import Transcriber
    from voiceflow.audio.file import read_audio
    from voiceflow.bench.stream import stream_once

    audio = read_audio(str(Path(voiceflow.__file__).parent / "data" / "sample.wav"))
    with Transcriber(mode="speed") as asr:
        first = stream_once(asr, audio, replay=True)
        second = stream_once(asr, audio, replay=True)
    text, _, first_word, _, dropped, decodes = first
    assert text and (text, decodes) == (second[0], second[5])
    assert first_word is not None and 0.0 < first_word < len(audio) / 16000 and first_word == second[2]
    assert dropped == 0
