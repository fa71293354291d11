"""voiceflow.bench.wer: the dependency-free WER the demo prints, checked against jiwer's."""

from __future__ import annotations

import pytest

from voiceflow.bench.wer import edit_distance, normalize, word_error_rate
from voiceflow.cli.demo import sample_reference


def test_edit_distance_counts_substitutions_deletions_insertions():
    assert edit_distance([], []) == 0
    assert edit_distance(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert edit_distance(["a", "b", "c"], ["a", "x", "c"]) == 1
    assert edit_distance(["a", "b", "c"], ["a", "c"]) == 1
    assert edit_distance(["a", "b"], ["a", "b", "c", "d"]) == 2
    assert edit_distance(["a", "b"], []) == 2 and edit_distance([], ["a"]) == 1


def test_normaliser_ignores_case_and_punctuation_only():
    assert normalize("Go forward, ten meters!") == ["go", "forward", "ten", "meters"]
    assert normalize("The culprit's name.") == ["the", "culprit's", "name"]
    assert normalize("ten") != normalize("10")  # documented: numbers are not spelled out


def test_corpus_level_wer_and_bad_input():
    assert word_error_rate(["red green blue cyan", "black white"], ["red green blue", "black white"]) == pytest.approx(1 / 6)
    assert word_error_rate(["", "a b"], ["noise", "a b"]) == 0.0  # empty references are skipped
    with pytest.raises(ValueError, match="references but"):
        word_error_rate(["a"], [])
    with pytest.raises(ValueError, match="no reference words"):
        word_error_rate(["..."], ["x"])


HYPOTHESES = [
    "Voice typing works on your own computer without sending any audio to the internet.",
    "voice typing works on your computer without sending audio to the internet",
    "Voice typing works on my own computer, without sending any of the audio to the internet!",
    "Boys typing work on your own computers without sending any audio into the Internet.",
    "",
]


@pytest.mark.parametrize("hypothesis", HYPOTHESES)
def test_agrees_with_the_benchs_jiwer_scorer_on_the_demo_sample(hypothesis):
    pytest.importorskip("jiwer")
    pytest.importorskip("whisper_normalizer.english")
    from voiceflow.bench.asr import corpus_wer

    reference = sample_reference()
    assert word_error_rate([reference], [hypothesis]) == pytest.approx(corpus_wer([reference], [hypothesis]))
