"""Repetition-loop detection and collapse (voiceflow.asr.text)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceflow.asr.text import (
    Loop,
    collapse_loops,
    compression_ratio,
    ends_mid_sentence,
    find_loop,
    near_repeat,
    repetitions_reproduced,
    respell_hotwords,
    words,
)


def test_words_normalise_case_and_punctuation():
    assert words("Go forward, 10 meters. GO forward!") == ["go", "forward", "10", "meters", "go", "forward"]
    assert words("don't  stop—it’s fine") == ["don't", "stop", "it's", "fine"]
    assert words("... ... !!") == []


def test_utterance_repeated_is_a_loop():
    text = " Go forward 10 meters. Go forward 10 meters. Go forward 10 meters."
    assert find_loop(text) == Loop(start=0, period=4, repeats=3)


def test_phrase_said_twice_is_a_loop_even_with_case_and_punctuation_changes():
    assert find_loop("has never been surpassed. Has never been surpassed.") == Loop(0, 4, 2)
    assert find_loop("activities thereunder. In this regard, in this regard") == Loop(2, 3, 2)


def test_ordinary_dictation_is_not_a_loop():
    for text in [
        "I think, I think we should go.",  # a 2-word phrase twice is ordinary disfluency
        "no no no, that is wrong",  # a word three times
        "The birch canoe slid on the smooth planks.",
        "that that is is fine",
        "",
    ]:
        assert find_loop(text) is None, text


def test_single_word_four_times_is_a_loop():
    assert find_loop("out out out out") == Loop(0, 1, 4)


def test_loop_found_on_word_lists_too():
    assert find_loop(["a", "b", "c", "a", "b", "c"]) == Loop(0, 3, 2)


def test_a_phrase_said_again_one_word_apart_is_a_near_repeat():
    seq = words("of the Netherlands by a similar process. The Netherlands lens by a similar process.")
    assert near_repeat(seq) == (1, 6, 7)  # one word added
    assert near_repeat(seq, ending_after=len(seq)) is None  # only pairs ending after that word
    assert near_repeat(words("go forward ten meters go back ten meters")) == (0, 4, 4)  # one changed
    assert near_repeat(words("we went to the shop we went to shop")) == (0, 5, 4)  # one dropped
    for text in [
        "one by one, day after day, night after night",  # 3-word phrases: ordinary speech
        "go forward ten meters and then turn back ten yards",
        "For although the Chinese took impressions from wood blocks engraved in relief",
        "",
    ]:
        assert near_repeat(words(text)) is None, text


@given(st.lists(st.sampled_from("abcdefghij"), min_size=4, max_size=12), st.integers(0, 11), st.sampled_from("xyz"))
def test_a_phrase_said_again_with_any_one_word_changed_is_found(phrase, at, other):
    changed = list(phrase)
    changed[at % len(phrase)] = other
    found = near_repeat(["u", "v", *phrase, *changed])
    assert found is not None and sum(found) == len(phrase) * 2 + 2


@given(st.lists(st.integers(0, 10**6), unique=True, max_size=40))
def test_words_said_once_hold_no_near_repeat(seq):
    assert near_repeat([str(w) for w in seq]) is None


def test_compression_ratio_flags_repetition():
    loop = "mend the coat before you go out" + " ..." * 60
    assert compression_ratio(loop) > 2.4
    assert compression_ratio("The birch canoe slid on the smooth planks.") < 2.4
    assert compression_ratio("") == 0.0


def test_collapse_keeps_one_copy():
    assert collapse_loops("Go forward 10 meters. Go forward 10 meters. Go forward 10 meters.") == (
        "Go forward 10 meters."
    )
    assert collapse_loops("review of activities there under. In this regard, in this regard.") == (
        "review of activities there under. In this regard."
    )


def test_collapse_leaves_text_without_loop_unchanged():
    text = "I think, I think we should go, no no no."
    assert collapse_loops(text) == text


@given(st.lists(st.sampled_from(["alpha", "beta", "gamma", "delta", "one", "two"]), min_size=3, max_size=6,
                unique=True),
       st.integers(min_value=2, max_value=6))
def test_collapse_of_a_repeated_phrase_is_the_phrase(phrase, repeats):
    text = " ".join(phrase)
    looped = " ".join([text] * repeats)
    assert find_loop(looped) is not None
    assert words(collapse_loops(looped)) == phrase


@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]), max_size=40))
def test_collapse_is_idempotent_and_never_adds_words(seq):
    text = " ".join(seq)
    once = collapse_loops(text)
    assert len(words(once)) <= len(seq)
    assert collapse_loops(once) == once or find_loop(once) is not None


# --- hotword spelling -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "hotwords", "expected"),
    [
        ("into your comfy UI folder, the comfy UI.", "ComfyUI", "into your ComfyUI folder, the ComfyUI."),
        ("into your comfyUI folder", "ComfyUI", "into your ComfyUI folder"),
        ("git hub and Git-Hub, an iphone", "GitHub, iPhone", "GitHub and GitHub, an iPhone"),
        ("I will go", "Will", "I will go"),  # a plain term never recases a single word
        ("comfy, UI", "ComfyUI", "comfy, UI"),  # never across punctuation
        ("comfy eye", "ComfyUI", "comfy eye"),  # different letters: left as recognised
        ("no hotwords here", None, "no hotwords here"),
    ],
)
def test_respell_hotwords_changes_only_spaces_and_case(text, hotwords, expected):
    out = respell_hotwords(text, hotwords)
    assert out == expected
    assert "".join(c for c in out.lower() if c.isalnum()) == "".join(c for c in text.lower() if c.isalnum())


def test_a_repetition_is_reproduced_only_when_the_other_decode_repeats_the_same_phrase():
    assert repetitions_reproduced("No, no, no, no. Stop.", "no no no no no stop")
    assert not repetitions_reproduced("No, no, no, no. Stop.", "No. Stop.")
    assert not repetitions_reproduced("go on go on go on", "go on go on")  # 2-word phrase: needs 3
    assert not repetitions_reproduced("no repetition here", "no repetition here")
    assert not repetitions_reproduced("very very very very good, no no no no", "very very very very good, no")


@pytest.mark.parametrize("text", ["Go forward ten meters.", " Is it?", "Stop!", 'He said "go."', "(Laughs.)",
                                  "Wait\u2026", "With menus...", "", "  ", "..."])
def test_a_closed_sentence_or_no_words_is_not_mid_sentence(text):
    assert not ends_mid_sentence(text)


@pytest.mark.parametrize("text", [" could lag behind by 25-30", "that you", "Mm-hmm", "the end,", 'he said "go"'])
def test_text_without_a_sentence_end_after_its_last_word_is_mid_sentence(text):
    assert ends_mid_sentence(text)
