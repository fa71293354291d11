"""Output formats: timestamp arithmetic, txt/json/srt/vtt layout on real Transcript objects."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceflow.cli.formats import FORMATS, format_timestamp, render, to_json, to_srt, to_txt, to_vtt
from voiceflow.asr.transcriber import Segment, Timings, Transcript


def transcript(*segments: tuple[float, float, str]) -> Transcript:
    return Transcript(
        text=" ".join(text.strip() for _, _, text in segments),
        segments=tuple(
            Segment(start=start, end=end, text=text, no_speech_prob=0.01, avg_logprob=-0.2)
            for start, end, text in segments
        ),
        duration=max([e for _, e, _ in segments], default=0.0),
        timings=Timings(features=0.001, encode=0.01, decode=0.02, total=0.031),
        mode="balanced",
    )


TWO = transcript((0.0, 2.5, " Hello there."), (2.5, 3661.0015, " General Kenobi!"))
SILENCE = transcript()


@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [
        (0.0, "00:00:00,000", "00:00:00.000"),
        (2.5, "00:00:02,500", "00:00:02.500"),
        (59.9996, "00:01:00,000", "00:01:00.000"),  # rounds up across the minute
        (3661.0015, "01:01:01,002", "01:01:01.002"),
        (360000.0, "100:00:00,000", "100:00:00.000"),  # hours keep growing past 99
        (-0.3, "00:00:00,000", "00:00:00.000"),
    ],
)
def test_format_timestamp(seconds, srt, vtt):
    assert format_timestamp(seconds) == srt
    assert format_timestamp(seconds, ".") == vtt


@given(st.integers(min_value=0, max_value=10**9))
def test_format_timestamp_round_trips_whole_milliseconds(millis):
    stamp = format_timestamp(millis / 1000)
    h, m, rest = stamp.split(":")
    s, ms = rest.split(",")
    assert int(m) < 60 and int(s) < 60 and len(ms) == 3
    assert ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms) == millis


def test_txt_is_the_text_on_one_line():
    assert to_txt(TWO) == "Hello there. General Kenobi!\n"
    assert to_txt(SILENCE) == ""


def test_srt_numbers_cues_and_separates_them_by_a_blank_line():
    assert to_srt(TWO) == (
        "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n"
        "\n"
        "2\n00:00:02,500 --> 01:01:01,002\nGeneral Kenobi!\n"
    )
    assert to_srt(SILENCE) == ""


def test_vtt_has_the_header_and_dot_milliseconds():
    assert to_vtt(TWO) == (
        "WEBVTT\n"
        "\n"
        "00:00:00.000 --> 00:00:02.500\nHello there.\n"
        "\n"
        "00:00:02.500 --> 01:01:01.002\nGeneral Kenobi!\n"
    )
    assert to_vtt(SILENCE) == "WEBVTT\n"


def test_blank_segments_make_no_cues():
    t = transcript((0.0, 1.0, " "), (1.0, 2.0, " Yes."))
    assert to_srt(t).startswith("1\n00:00:01,000 --> 00:00:02,000\nYes.\n")
    assert to_vtt(t).count("-->") == 1


def test_json_is_one_line_with_the_file_and_the_transcript_fields():
    line = to_json(TWO, source="talk.wav")
    assert line.endswith("\n") and line.count("\n") == 1
    record = json.loads(line)
    assert record["file"] == "talk.wav"
    assert record["text"] == "Hello there. General Kenobi!"
    assert record["mode"] == "balanced"
    assert record["duration"] == pytest.approx(3661.0015)
    assert [s["text"].strip() for s in record["segments"]] == ["Hello there.", "General Kenobi!"]
    assert record["segments"][0] == {"start": 0.0, "end": 2.5, "text": " Hello there.", "window": 0}
    assert "file" not in json.loads(to_json(TWO))


def test_json_says_timings_are_summed_and_lists_window_scores_once():
    record = json.loads(to_json(TWO))
    assert record["timings"]["total"] == pytest.approx(0.031)
    assert "summed" in record["timings"]["note"] and "parallel" in record["timings"]["note"]
    # both segments come from one decoded window: its scores appear once, not per segment
    assert record["windows"] == [{"start": 0.0, "end": 3661.0015, "no_speech_prob": 0.01, "avg_logprob": -0.2}]
    assert [s["window"] for s in record["segments"]] == [0, 0]
    assert all("avg_logprob" not in s and "no_speech_prob" not in s for s in record["segments"])


def test_json_windows_follow_the_decoder_results():
    chunks = Transcript(
        text="a b c",
        segments=(
            Segment(0.0, 1.0, " a", no_speech_prob=0.1, avg_logprob=-0.3),
            Segment(1.0, 2.0, " b", no_speech_prob=0.1, avg_logprob=-0.3),
            Segment(24.0, 25.0, " c", no_speech_prob=0.02, avg_logprob=-0.15),
        ),
        duration=25.0, timings=Timings(0.0, 0.1, 0.2, 0.2), mode="balanced",
    )
    record = json.loads(to_json(chunks))
    assert [(w["start"], w["end"], w["avg_logprob"]) for w in record["windows"]] == [(0.0, 2.0, -0.3), (24.0, 25.0, -0.15)]
    assert [s["window"] for s in record["segments"]] == [0, 0, 1]
    assert json.loads(to_json(SILENCE))["windows"] == []


def test_render_dispatches_and_rejects_unknown_formats():
    assert FORMATS == ("txt", "json", "srt", "vtt")
    for fmt in FORMATS:
        assert render(TWO, fmt, source="x.wav") == {"txt": to_txt, "srt": to_srt, "vtt": to_vtt}.get(
            fmt, lambda t: to_json(t, "x.wav")
        )(TWO)
    with pytest.raises(ValueError, match="unknown format 'docx'"):
        render(TWO, "docx")


def test_srt_cue_timing_lines_match_the_spec_pattern():
    timing = re.compile(r"^\d{2,}:\d{2}:\d{2},\d{3} --> \d{2,}:\d{2}:\d{2},\d{3}$")
    lines = to_srt(TWO).splitlines()
    assert [bool(timing.match(line)) for line in lines].count(True) == 2
