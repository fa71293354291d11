"""Adaptive encoder context: window sizes, silence padding and the fallback rules."""

from __future__ import annotations

import pytest

from voiceflow.asr.context import (
    brief_quiet_regions,
    FULL_FRAMES,
    accounted_fraction,
    unaccounted_regions,
    unheard_speech_s,
    speech_under,
    under_accounts,
    beyond_speech_rate,
    max_words,
    content_frames,
    judge,
    token_budget,
    window_frames,
)
from voiceflow.asr.decode import RawSegment, WindowResult

RULES = dict(compression_threshold=2.4, log_prob_threshold=-1.0)


def result(text: str, segments=None, *, avg_logprob=-0.3, hit_budget=False) -> WindowResult:
    segments = segments if segments is not None else [RawSegment(0.0, 2.0, text)]
    return WindowResult(
        segments=tuple(segments), text=text, avg_logprob=avg_logprob, no_speech_prob=0.01,
        hit_budget=hit_budget, temperature=0.0, frames=800, encode_s=0.0, decode_s=0.0,
    )


def test_window_frames_even_padded_and_capped():
    assert window_frames(300, 6.0) == 900
    assert window_frames(301, 6.0) == 902  # even for the encoder's stride-2 convolution
    assert window_frames(2900, 6.0) == FULL_FRAMES
    assert window_frames(0, 0.0) == 2


def test_content_frames_is_ceil():
    assert content_frames(16000) == 100
    assert content_frames(16001) == 101
    assert content_frames(0) == 0


def test_token_budget_grows_with_duration_and_is_capped():
    assert token_budget(0.0, 12.0, 24, 440) == 24
    assert token_budget(2.0, 12.0, 24, 440) == 48
    assert token_budget(100.0, 12.0, 24, 440) == 440


def test_judge_accepts_a_clean_decode():
    clean = result(" The birch canoe slid on the smooth planks.", [RawSegment(0.0, 3.1, " The birch ...")])
    assert judge(clean, 3.3, speech_end_s=3.2, **RULES) is None


def test_judge_flags_a_runaway_decode():
    assert judge(result(" a b c d e f", hit_budget=True), 2.0, speech_end_s=1.9, **RULES) == "budget"


def test_judge_flags_loops_from_crafted_repeats():
    looped = " Go forward 10 meters. Go forward 10 meters."
    assert judge(result(looped, [RawSegment(0.0, 2.8, looped)]), 2.8, speech_end_s=2.7, **RULES) == "loop"
    dots = " What joy there is in living" + " ..." * 50
    assert judge(result(dots, [RawSegment(0.0, 1.8, dots)]), 1.8, speech_end_s=1.7, **RULES) == "loop"


def test_a_repetition_the_speech_can_hold_is_not_a_loop_by_itself():
    """ "no no no no" is spoken: with the speech time known, a repeated phrase is a loop only
    when it has more words than the speech can hold; otherwise a re-decode decides."""
    spoken = " No, no, no, no, I said no."
    seg = [RawSegment(0.0, 2.8, spoken)]
    assert judge(result(spoken, seg), 2.8, speech_end_s=2.7, speech_s=2.0, **RULES) == "repetition"
    assert judge(result(spoken, seg), 2.8, speech_end_s=2.7, **RULES) == "loop"  # speech time unknown
    too_long = " Go forward 10 meters." * 6  # 24 words
    assert max_words(1.9) < 24
    assert judge(result(too_long, seg), 2.8, speech_end_s=2.7, speech_s=1.9, **RULES) == "loop"
    assert beyond_speech_rate(too_long, 1.9) and not beyond_speech_rate(too_long, 4.0)
    assert not beyond_speech_rate(too_long, None)
    # the other rules still come first: a repetition that is also unlikely is judged unlikely
    assert judge(result(spoken, seg, avg_logprob=-1.5), 2.8, speech_end_s=2.7, speech_s=2.0, **RULES) == "low_logprob"


def test_judge_flags_text_starting_in_the_padding():
    segments = [RawSegment(0.0, 3.0, " He might even have been made amiable himself."),
                RawSegment(5.0, 7.0, " Thank you.")]
    assert judge(result(" ...", segments), 3.3, speech_end_s=3.2, **RULES) == "padding"


def test_judge_flags_speech_left_untranscribed():
    segments = [RawSegment(0.0, 6.64, " unless a system is established ... there under")]
    assert judge(result(" unless", segments), 7.66, speech_end_s=7.5, **RULES) == "uncovered"
    # within tolerance: fine
    assert judge(result(" unless", segments), 7.0, speech_end_s=7.0, **RULES) is None


def test_judge_flags_unlikely_text():
    assert judge(result(" queen of cloves", avg_logprob=-1.4), 2.0, speech_end_s=1.9, **RULES) == "low_logprob"


@pytest.mark.parametrize("speech_end", [None, 0.5])
def test_judge_without_segments_only_checks_probability(speech_end):
    assert judge(result("", []), 1.0, speech_end_s=speech_end, **RULES) is None


def test_synthetic_pad_counts_recorded_trailing_silence():
    from voiceflow.asr.context import MIN_SYNTHETIC_PAD_S, synthetic_pad_s

    assert synthetic_pad_s(6.0, 4.0, 3.0) == 5.0  # 1 s already recorded after the speech
    assert synthetic_pad_s(6.0, 4.0, None) == 6.0  # unknown speech end: full pad
    assert synthetic_pad_s(6.0, 10.0, 2.0) == MIN_SYNTHETIC_PAD_S  # long tail: still some digital silence
    assert synthetic_pad_s(1.0, 10.0, 2.0) == 1.0  # never more than asked


@pytest.mark.parametrize("prompt_length, budget", [(1, 5), (1, 63), (1, 300), (3, 224), (120, 224), (225, 224)])
def test_generation_limits_allow_exactly_the_budget_under_ctranslate2s_rule(prompt_length, budget):
    from voiceflow.asr.decode import MAX_LENGTH, generation_limits

    allowed, max_length = generation_limits(prompt_length, budget)
    assert allowed == min(budget, MAX_LENGTH // 2, MAX_LENGTH - prompt_length)
    assert max_length <= MAX_LENGTH
    # CTranslate2's Whisper generates at most min(max_length // 2, max_length - prompt) new tokens
    assert min(max_length // 2, max_length - prompt_length) == allowed


# --- coverage: speech the VAD found must be accounted for by text ----------------------------
def test_aligned_words_account_for_speech_regions():
    regions = [(0.5, 2.2), (3.0, 9.5), (10.1, 12.7)]
    words = [RawSegment(0.5 + 0.4 * k, 0.9 + 0.4 * k, "w") for k in range(4)]  # region 0
    words += [RawSegment(3.0 + 0.5 * k, 3.5 + 0.5 * k, "w") for k in range(13)]  # region 1
    assert unaccounted_regions(regions, words) == {2}  # nothing over the last region
    stretched = [RawSegment(0.0, 3.2, " And")] + words[4:]  # one word over 1.7 s + 0.2 s of speech
    assert unaccounted_regions(regions, stretched) == {0, 1, 2}
    assert unaccounted_regions(regions, words + [RawSegment(10.1, 12.7, " man")]) == {2}  # 2.6 s in a word
    assert unaccounted_regions(regions, words + [RawSegment(10.1 + 0.5 * k, 10.6 + 0.5 * k, "w") for k in range(5)]) == set()


def test_unheard_speech_is_under_no_word_or_under_a_word_too_long_for_it():
    regions = [(0.5, 2.5), (3.0, 7.0)]
    words = [(0.5 + 0.4 * k, 0.9 + 0.4 * k) for k in range(5)] + [(3.0 + 0.5 * k, 3.5 + 0.5 * k) for k in range(8)]
    assert unheard_speech_s(regions, words) == 0.0
    assert unheard_speech_s(regions, words[:-2]) == 1.0  # the decode stopped a second short
    assert unheard_speech_s(regions, words[:5] + words[7:]) == 1.0  # a second in the middle left out
    # 7 s of a repeated sentence heard as its last word: one word over all of the speech
    assert unheard_speech_s(regions, [(0.0, 7.02)]) == 6.0
    assert speech_under((2.9, 4.3), regions) == pytest.approx(1.3)
    assert unheard_speech_s(regions, [(2.9, 4.3)]) == 6.0 - 1.3  # a drawn-out word is a word
    assert unheard_speech_s([], words) == 0.0


def test_under_accounting_is_far_below_any_speakers_rate():
    assert under_accounts(4, 10.7)  # "Go forward ten meters." over 10.7 s of speech
    assert not under_accounts(1, 1.27)  # one drawn-out word (the slowest clip measured)
    assert not under_accounts(4, 3.5)


def test_accounted_fraction_hears_the_same_sounds_in_other_words():
    text = "montreal horst horst a liner".split()
    assert accounted_fraction("forced aligner".split(), text, 3) >= 0.4  # heard, spelled otherwise
    assert accounted_fraction("he was not an ill disposed young man".split(), "go forward ten meters".split(), 3) < 0.1
    assert accounted_fraction([], text) == 1.0
    assert accounted_fraction("a b".split(), "a b".split()) == 1.0


def test_a_quiet_passage_is_its_quiet_regions_joined_across_pauses_inside_a_phrase():
    # another talker's 0.7 s, alone between long pauses: brief
    assert brief_quiet_regions([(0.0, 5.0), (9.2, 9.9), (12.3, 12.6)], [False, True, True]) == [False, True, True]
    # a quiet phrase the VAD split at a soft syllable: 0.6 s + 0.35 s pause + 1.5 s is one passage
    assert brief_quiet_regions([(0.0, 9.6), (10.4, 11.0), (11.35, 12.85)], [False, True, True]) == [False, False, False]
    # a loud region between two quiet ones separates them
    assert brief_quiet_regions([(1.0, 1.6), (1.8, 2.0), (2.2, 2.8)], [True, False, True]) == [True, False, True]
    assert brief_quiet_regions([], []) == []
