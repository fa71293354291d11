"""voiceflow.asr.stream: the real tiny.en model on the bundled sample, fed in blocks."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import NamedTuple
from pathlib import Path

import numpy as np
import pytest

import voiceflow
from voiceflow.asr import stream as stream_mod
from voiceflow.asr.decode import RawSegment
from voiceflow.asr.stream import (
    AGREE_GAP_S, FINISH_LOOKBACK_S, LEVEL_MEMORY_S, PAUSE_LOOKBACK_S, STEP_S, StreamUpdate, TranscriptStream,
    _after_prefix, _left_out_passage, _repetition_start, _speaker_regions,
    _agreement, _carried_by_time, _restarted, _carried_times, _case_swapped_probability, _common_prefix, _echo, _finish_cut,
    _fresh_start, _join, _split,
    _split_scored, _sure_words, _word_scores,
)
from voiceflow.asr.text import find_loop, words as text_words
from voiceflow.asr.transcriber import Transcriber, Transcript
from voiceflow.audio.file import read_audio
from voiceflow.bench.asr import corpus_wer
from voiceflow.bench.stream import feed_caught_up, long_dictations

SAMPLE = Path(voiceflow.__file__).parent / "data" / "sample.wav"
REFERENCE = (SAMPLE.parent / "sample.txt").read_text().strip()


@pytest.fixture(scope="module")
def asr():
    with Transcriber(mode="balanced") as t:
        yield t


@pytest.fixture(scope="module")
def speech():
    return read_audio(str(SAMPLE))


def feed_paced(stream: TranscriptStream, audio: np.ndarray, block: int = 512, speed: float = 2.0) -> None:
    """Feed ``audio`` in ``block``-sample pieces at ``speed`` x real time."""
    t0 = time.perf_counter()
    for i in range(0, len(audio), block):
        stream.feed(audio[i:i + block])
        wait = t0 + (i + block) / 16000 / speed - time.perf_counter()
        if wait > 0:
            time.sleep(wait)


# --- the policy's word helpers (no model) ---------------------------------------------------------
def test_common_prefix_ignores_case_and_punctuation_but_not_words():
    assert _common_prefix(["Hello,", "world", "again"], ["hello", "World.", "friend"]) == ["Hello,", "world"]
    assert _common_prefix(["a", "b"], []) == []


def test_words_are_agreed_only_when_every_hypothesis_over_the_gap_agrees():
    step = int(STEP_S * 16000)
    gap_steps = int(np.ceil(AGREE_GAP_S / STEP_S))
    now = (gap_steps + 1) * step
    newest = "mister john dashwood had".split()
    steady = [((k + 1) * step, newest[: 2 + k // 2]) for k in range(gap_steps)]
    assert _agreement(newest, steady, now) == newest[:2]
    # Whisper kept "and" in a decode between them: the start is not settled yet
    flicker = list(steady)
    flicker[-1] = (flicker[-1][0], ["and", *newest])
    assert _agreement(newest, flicker, now) == []
    # only hypotheses made on less than the gap less audio: nothing is old enough to agree with
    assert _agreement(newest, [(now - step, newest)], now) == []


def test_finish_decodes_from_a_gap_keeping_its_lookback_of_committed_words():
    from voiceflow.asr.chunking import EnergyVad

    rng = np.random.default_rng(0)
    buf = (0.1 * rng.standard_normal(16000 * 4)).astype(np.float32)
    buf[int(1.00 * 16000):int(1.10 * 16000)] *= 0.001  # the pause after the second word
    start = 10.0  # the buffer's start in the stream, s
    ends = [start + e for e in (0.5, 1.02, 2.2, 1.0 + FINISH_LOOKBACK_S + 0.6)]
    k, cut_s = _finish_cut(EnergyVad(), buf, start, ends)
    assert k == 2 and 1.0 <= cut_s <= 1.1  # the two words before the pause go, the rest is lookback
    assert ends[-1] - (start + cut_s) >= FINISH_LOOKBACK_S - 0.1
    assert _finish_cut(EnergyVad(), buf, start, ends[:2]) == (0, 0.0)  # too little committed speech
    early = [start + 0.3, ends[1] - 0.6, *ends[2:]]  # the cut would save under MIN_FINISH_CUT_S
    assert _finish_cut(EnergyVad(), buf, start, early) == (0, 0.0)
    assert _finish_cut(EnergyVad(), buf, start, [ends[0], None, *ends[2:]]) == (0, 0.0)  # a time unknown
    assert _finish_cut(EnergyVad(), buf, start, [ends[1], ends[0], *ends[2:]]) == (0, 0.0)  # not in order


def test_the_tail_drops_carried_words_heard_otherwise_by_their_aligned_time():
    """finish()'s decode heard the committed lookback "the Netherlands by a similar process" as
    other words: text alone cannot find them, their aligned time does."""
    pieces = [(" The", 0.0, 0.2), (" Netherlands", 0.2, 0.7), (" lens", 0.7, 0.9), (" by", 0.9, 1.0),
              (" a", 1.0, 1.05), (" similar", 1.05, 1.4), (" process", 1.4, 1.9), (".", 1.9, 1.9)]
    aligned = [RawSegment(a, b, text, 0.9) for text, a, b in pieces]
    words = "The Netherlands lens by a similar process.".split()
    middles, carry_end = _carried_by_time(aligned, words, [11.0, 11.95], 16000 * 10)
    assert carry_end == pytest.approx(1.95) and len(middles) == len(words)
    carried = "the Netherlands, by a similar process.".split()
    assert _after_prefix(carried, words, middles, carry_end) == len(words)
    assert _carried_by_time(aligned, words[:-1], [11.95], 16000 * 10) == (None, None)  # not the same words
    assert _carried_by_time(aligned, words, [None], 16000 * 10) == (None, None)  # the end unknown


def test_carried_words_are_timed_from_their_aligned_ends():
    assert _carried_times([1.5, 2.0, None, 3.25], 1.0) == [(1.0, 1.5), (1.5, 2.0), (2.0, 2.0), (2.0, 3.25)]
    assert _carried_times([0.9, 1.2], 1.0) == [(1.0, 1.0), (1.0, 1.2)]  # never before the buffer start
    assert _carried_times([], 1.0) == []


def test_carried_words_are_found_at_the_start_only():
    assert _after_prefix(["he"], ["he", "was", "here"]) == 1
    # a fragment of the word before the carried one comes first: skip both
    assert _after_prefix(["americans"], ["cans", "americans", "ask"]) == 2
    # the carried word appears again later: that is new speech, not the carried word
    assert _after_prefix(["he"], ["was.", "what", "joy", "is", "in", "living", "he", "was"]) == 0
    # heard differently but alike
    assert _after_prefix(["netherlands"], ["netherland", "by"]) == 1


def test_carried_words_heard_as_other_words_are_skipped_by_their_time():
    # "and crease" was committed; the next decode hears "increase": one word where there were two
    carry = "from fairest creatures we desire and crease".split()
    hyp = "from fairest creatures we desire increase that thereby".split()
    assert _after_prefix(carry, hyp) == 7  # counting the carried words off skips "that"
    middles = [0.2, 0.6, 1.1, 1.5, 1.8, 2.3, 2.9, 3.3]  # "crease" ends at 2.6 s
    assert _after_prefix(carry, hyp, middles, carry_end=2.6) == 6
    # no word in common: the time alone decides
    assert _after_prefix(["and", "crease"], ["increase", "that"], [0.4, 0.9], carry_end=0.7) == 1


def test_compounds_are_split_after_the_hyphen_and_joined_back():
    assert _split("with self-substantial fuel, bud-buriest") == ["with", "self-", "substantial", "fuel,", "bud-", "buriest"]
    assert _split("a - b well—then 42-line") == ["a", "-", "b", "well—then", "42-", "line"]
    for text in ("with self-substantial fuel,", "a - b", "The 42-line Bible."):
        assert _join(_split(text)) == text
    # "self substantial" (apart) then matches the carried "self" word for word
    assert _after_prefix(["with", "self"], [w.lower() for w in _split("with self-substantial fuel")]) == 1 + 1
    # each part gets its share of the word's time, by letters
    parts, scores, middles = _split_scored(["a", "cold-hearted"], [(0.9, 0.5), (0.3, 2.0)], [(0.0, 0.5), (1.0, 2.0)])
    assert parts == ["a", "cold-", "hearted"]
    assert scores[1][0] == scores[2][0] == 0.3 and scores[1][1] == pytest.approx(1 + 4 / 11) and scores[2][1] == 2.0
    assert middles[0] == 0.25 and middles[1] < scores[1][1] < middles[2]
    assert _split_scored(["x-y"], [(0.5, 1.0)], None) == (["x-", "y"], [(0.5, 1.0), (0.5, 1.0)], None)


def test_an_echo_of_the_committed_end_is_removed():
    committed = "the invention of the art of printing.".split()
    assert _echo(committed, "The invention of the art of printing.".split()) == 7
    assert _echo(committed, "and then".split()) == 0
    assert _echo(committed, "printing. again".split()) == 0  # shorter than three words: speech may do that


class _Piece(NamedTuple):  # an aligned word: what the coverage rules read of one
    start: float
    end: float


def test_a_quiet_passage_the_words_leave_out_gets_a_buffer_of_its_own():
    """Where the worker cuts instead of resting: before the first of the speaker's regions that
    is 20 dB or more under the speaker's level, in a passage of 1 s or more, left out by the
    aligned words and going on past them -- in the pause before it, at most 1 s ahead."""
    speech = [(0.0, 3.0), (4.0, 5.5)]
    words = [_Piece(0.1, 1.0), _Piece(1.1, 2.9)]
    assert _left_out_passage(speech, [-20.0, -50.0], -20.0, words, 2.9) == pytest.approx(3.45)
    assert _left_out_passage(speech, [-20.0, -30.0], -20.0, words, 2.9) is None  # not quiet
    assert _left_out_passage([(0.0, 3.0), (4.0, 4.6)], [-20.0, -50.0], -20.0, words, 2.9) is None  # brief: background
    heard = words + [_Piece(4.0, 4.7), _Piece(4.7, 5.5)]
    assert _left_out_passage(speech, [-20.0, -50.0], -20.0, heard, 5.5) is None  # the words account for it
    # quiet against the level the stream remembers (a louder speaker before this buffer)
    assert _left_out_passage([(0.0, 1.5), (3.0, 4.5)], [-50.0, -50.0], -20.0, [_Piece(0.1, 1.4)], 1.4) \
        == pytest.approx(2.2)
    assert _left_out_passage([(0.0, 1.5), (3.0, 4.5)], [-50.0, -50.0], -50.0, [_Piece(0.1, 1.4)], 1.4) is None


def test_a_repeat_of_the_committed_end_is_told_apart_from_the_first_new_word():
    """``_fresh_start`` reports the run that repeats the committed end beside the first word
    after the carried ones: the caller drops it only when a decode without the committed text
    as context does not say it (a speaker may say a sentence again)."""
    committed = "the invention of the art of printing.".split()
    words = "of printing. The invention of the art of printing. And".split()
    assert _fresh_start(committed, ["of", "printing."], False, words) == (2, 7)
    assert _fresh_start(committed, [], True, words[2:]) == (0, 7)  # right after a cut
    assert _fresh_start(committed, [], False, words[2:]) == (0, 0)  # after a pause: not asked


def test_a_phrase_said_twice_only_in_the_tail_is_a_restart():
    committed = "for centuries before the wood cutters of the Netherlands by".split()
    tail = "a similar process. The Netherlands lens by a similar process.".split()
    assert _restarted(committed, tail, latest="a similar process".split())
    # the worker's newest hypothesis of the same speech heard the phrase twice too: spoken
    assert not _restarted(committed, tail, latest=tail)
    assert not _restarted(committed, "a similar process.".split(), latest=[])
    # a repetition wholly inside the committed words is not the tail's
    said = "I said come here. I said come here now and".split()
    assert not _restarted(said, "then we left.".split(), latest=[])


def test_word_probabilities_follow_the_whitespace_words():
    pieces = [RawSegment(0, 1, " The", 0.9), RawSegment(1, 2, " 42", 0.8), RawSegment(2, 3, "-line", 0.3),
              RawSegment(3, 4, " Bible", 0.7), RawSegment(4, 5, ".", 0.1)]
    assert "The 42-line Bible.".split() == ["The", "42-line", "Bible."]
    # "-line" joins its word; "." says nothing
    assert _word_scores(pieces) == [(0.9, 1), (0.3, 3), (0.7, 4)]


def test_only_the_sure_leading_words_are_committed():
    speech = [(0.0, 4.0)]
    assert _sure_words([(0.9, 1.0), (0.6, 2.0), (0.49, 3.0), (0.99, 3.5)], speech) == 2
    assert _sure_words([(0.2, 3.0), (0.9, 3.5)], speech) == 0
    # an unsure word with enough speech after it is as sure as more audio will make it ...
    assert _sure_words([(0.2, 1.0), (0.9, 3.5)], speech) == 2
    # ... a pause after it does not count
    assert _sure_words([(0.2, 1.0), (0.9, 3.5)], [(0.0, 1.5), (2.6, 4.0)]) == 0
    assert _sure_words([(0.2, 1.0), (0.9, 3.5)], [(0.0, 1.5), (2.5, 4.2)]) == 2
    assert _sure_words([], speech) == 0


def test_a_repetition_starts_at_its_first_phrase():
    said = "The mute muffled. The gold ring fits. The gold ring fits. The gold ring fits. old".split()
    assert _repetition_start(said) == 3
    assert _repetition_start("computer, computer, computer, computer and".split()) == 0
    assert _repetition_start(["--", "no", "no", "no", "no"]) == 1  # a token without words counts none
    assert _repetition_start("nothing said twice here".split()) == 4


def _sound(rng, seconds: float, dbfs: float) -> np.ndarray:
    """A speech-like burst: noise whose level swings 12 dB at 4 Hz, RMS about ``dbfs``."""
    t = np.arange(int(seconds * 16000)) / 16000
    swing = 10 ** ((6 * np.sin(2 * np.pi * 4 * t)) / 20)
    return (10 ** (dbfs / 20) * swing * rng.standard_normal(t.size)).astype(np.float32)


def test_the_speakers_regions_leave_out_brief_quiet_sounds_not_a_quiet_passage():
    from types import SimpleNamespace

    from voiceflow.asr.chunking import EnergyVad

    rng = np.random.default_rng(1)
    silence = lambda s: _sound(rng, s, -85.0)  # noqa: E731
    fake = SimpleNamespace(_vad=EnergyVad())
    # a phrase at -20 dBFS, then two half-second sounds 30 dB under it, then a 1.5 s passage as quiet
    parts = [silence(0.5), _sound(rng, 2.0, -20.0), silence(1.0), _sound(rng, 0.5, -50.0), silence(1.0),
             _sound(rng, 0.5, -50.0), silence(1.0), _sound(rng, 1.5, -50.0), silence(0.5)]
    ctx = np.concatenate(parts)
    regions, phrase_db = _speaker_regions(fake, ctx, 0, -np.inf)
    assert [round(a) for a, _ in regions] == [0, 6]  # the phrase and the quiet passage
    assert -24.0 < phrase_db < -16.0
    # the same sounds in a buffer of their own: background against the speaker's level heard before
    after = int(3.5 * 16000)
    assert len(_speaker_regions(fake, ctx[after:], 0, -np.inf)[0]) == 3  # nothing to compare with
    assert [round(a) for a, _ in _speaker_regions(fake, ctx[after:], 0, phrase_db)[0]] == [3]
    # offset: regions from the buffer start, a region before it dropped
    assert [round(a) for a, _ in _speaker_regions(fake, ctx, after, -np.inf)[0]] == [3]
    # a cough is louder than the voice, but not a phrase: the brief word after it is speech
    cough = np.concatenate([silence(0.5), _sound(rng, 0.3, -2.0), silence(1.0), _sound(rng, 0.6, -28.0), silence(0.5)])
    regions, phrase_db = _speaker_regions(fake, cough, 0, -np.inf)
    assert len(regions) == 2 and phrase_db == -np.inf


# --- the real model ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_exported_lazily_and_made_by_the_transcriber(asr):
    assert voiceflow.TranscriptStream is TranscriptStream
    s = asr.stream()
    assert isinstance(s, TranscriptStream)
    s.cancel()


@pytest.mark.slow
def test_random_block_sizes_give_the_same_text_as_one_block(asr, speech):
    def final(blocks):
        s = asr.stream()
        with s._lock:  # the worker waits: only the block sizes differ between the runs
            for b in blocks:
                s.feed(b)
        return s.finish()

    one = final([speech])
    rng = np.random.default_rng(11)
    cuts = np.sort(rng.choice(np.arange(1, len(speech)), size=60, replace=False))
    pieces = np.split(speech, cuts)
    assert any(len(p) == 1 for p in pieces) or min(len(p) for p in pieces) < 200
    several = final(pieces)
    assert one.text and several.text == one.text
    assert corpus_wer([REFERENCE], [one.text]) <= 0.1
    # int16 in (frames, 2) blocks at 48 kHz: the guard, the downmix and the resampler on the way in
    import soxr

    pcm48 = (soxr.resample(speech, 16000, 48000) * 32767).astype(np.int16)
    stereo = np.stack([pcm48, pcm48], axis=1)
    s = asr.stream(sample_rate=48000)
    with s._lock:
        for piece in np.array_split(stereo, 37):
            s.feed(piece)
    assert corpus_wer([one.text], [s.finish().text]) <= 0.1


@pytest.mark.slow
def test_streamed_text_is_committed_while_fed_and_never_changes(asr, speech):
    updates: list[StreamUpdate] = []
    audio = np.concatenate([speech, np.zeros(8000, np.float32), speech])
    s = asr.stream(on_update=updates.append)
    feed_paced(s, audio, speed=1.5)
    committed_before_release = s.text
    transcript = s.finish()
    assert isinstance(transcript, Transcript)
    assert committed_before_release, "nothing was committed while the audio was fed"
    texts = [u.text for u in updates] + [transcript.text]
    for earlier, later in zip(texts, texts[1:]):
        assert later.startswith(earlier), (earlier, later)
    assert corpus_wer([REFERENCE + " " + REFERENCE], [transcript.text]) <= 0.15, transcript.text
    assert transcript.segments and transcript.duration == pytest.approx(len(audio) / 16000, abs=0.01)
    starts = [seg.start for seg in transcript.segments]
    assert starts == sorted(starts) and transcript.segments[-1].end <= transcript.duration + 0.5
    assert transcript.timings.total < 5.0
    assert s.lost_samples == 0 and s.rejected_blocks == 0


@pytest.mark.slow
@pytest.mark.parametrize("pause_before_release_s", [0.0, 1.0])
def test_a_sentence_said_again_and_decoded_whole_is_written_again(asr, speech, pause_before_release_s):
    """A speaker says the sample, pauses 1 s and says it again; the second time arrives in one
    block (a worker that fell behind), so one decode hears it whole -- by finish() at once, or
    by the worker during the pause before release.  Word for word the committed end, as a
    decoder echoing its context would say it; a decode without that context says it too, so it
    is written down (the stream dropped the whole sentence silently: CI, stop 23)."""
    s = asr.stream()
    feed_caught_up(s, np.concatenate([speech, np.zeros(16000, np.float32)]))
    first = s.text
    s.feed(speech)
    if pause_before_release_s:
        while not s._idle():
            time.sleep(0.001)
        feed_caught_up(s, np.zeros(int(pause_before_release_s * 16000), np.float32))
    text = s.finish().text
    assert corpus_wer([REFERENCE], [first]) <= 0.1, first
    assert corpus_wer([REFERENCE + " " + REFERENCE], [text]) <= 0.1, text


@pytest.mark.slow
def test_a_quiet_sentence_after_a_loud_one_is_decoded_at_its_own_level(asr, corpus):
    """``bench stream``'s first ``corpus/more`` dictation from 13.5 s on: the end of a clip, a
    FLEURS sentence at -21 dBFS, one at -58 dBFS ("Twentieth century research has shown ..."),
    one at -59 dBFS.  The decodes of the buffer holding the loud sentence and the quiet one
    said only the loud one's words, the stream rested on them and the quiet sentence was never
    written (one-shot's coverage rule decodes such a passage on its own); the stream now cuts
    before it, and its own buffer is decoded at its level."""
    from difflib import SequenceMatcher

    from voiceflow.bench.asr import find_clips, normalise

    clips = [(name, read_audio(path), ref) for name, path, ref in find_clips(corpus / "more" / "clips")]
    audio = long_dictations(clips, 5)[0][1]
    quiet = normalise((corpus / "more" / "clips" / "cuttledoc_fleurs-en-007.txt").read_text()).split()
    s = asr.stream()
    feed_caught_up(s, audio[int(13.5 * 16000):])
    text = s.finish().text
    found = SequenceMatcher(None, quiet, normalise(text).split(), autojunk=False).get_matching_blocks()
    assert sum(block.size for block in found) >= 0.7 * len(quiet), text
    assert text.lower().count("modern times") == 1, text


@pytest.mark.slow
def test_speech_that_ended_before_release_is_decoded_before_release(asr, speech):
    """The worker decodes as soon as the speech has been followed by ``ENDPOINT_S`` of silence;
    finish() then takes that decode: it decodes nothing itself, and the text is the one-shot
    text of the same audio."""
    end = asr._vad.speech_end_s(speech)
    audio = np.concatenate([speech[: int((end + 0.05) * 16000)], np.zeros(int(0.25 * 16000), np.float32)])
    s = asr.stream()
    feed_caught_up(s, audio)
    transcript = s.finish()
    assert transcript.timings.encode == 0.0 and transcript.timings.decode == 0.0
    assert corpus_wer([asr.transcribe(audio).text], [transcript.text]) <= 0.05, transcript.text
    # the same audio with the release inside the last word: finish() has to decode
    s = asr.stream()
    feed_caught_up(s, audio[: int((end - 0.2) * 16000)])
    assert s.finish().timings.encode > 0.0


@pytest.mark.slow
def test_a_release_in_the_pause_takes_the_tail_decoded_at_the_endpoint(asr, speech, monkeypatch):
    """At the endpoint the watcher decodes the tail as finish() would, beside the worker (here
    a worker that never decodes): released in the pause, finish() takes that tail -- decoding
    nothing, the same text as decoding it then -- unless speech came after the endpoint."""
    end = asr._vad.speech_end_s(speech)
    cut = int((end + 0.05) * 16000)
    pause = np.zeros(int(0.25 * 16000), np.float32)
    monkeypatch.setattr(TranscriptStream, "_step", lambda self, *job: None)

    def released(audio, watch=True):
        s = asr.stream()
        if not watch:
            monkeypatch.setattr(s, "_endpoint_spec", lambda: None)
        feed_caught_up(s, audio)
        return s, s.finish()

    s, taken = released(np.concatenate([speech[:cut], pause]))
    assert s._spec is not None and s._spec.tail is not None
    assert taken.timings.encode == 0.0 and taken.timings.decode == 0.0
    _, decoded = released(np.concatenate([speech[:cut], pause]), watch=False)
    assert decoded.timings.encode > 0.0 and taken.text == decoded.text
    assert corpus_wer([REFERENCE], [taken.text]) <= 0.1, taken.text
    # more speech after the endpoint: that tail is not the text
    half = int(2.56 * 16000)  # after "computer"
    s, more = released(np.concatenate([speech[:half], pause, pause, speech[half:cut]]))
    assert s._spec is not None and s._spec.speech_end < 3.0
    assert more.timings.encode > 0.0
    assert corpus_wer([REFERENCE], [more.text]) <= 0.15, more.text


@pytest.mark.slow
def test_finish_decodes_the_tail_meanwhile_when_the_worker_is_still_decoding(asr, speech):
    """Released while the worker decodes all of the speech (here: a decode that never ends),
    finish() decodes the tail on the other replica and returns it, the same text as with an
    idle worker (how long it takes is measured by ``voiceflow bench stream``, not here)."""
    end = asr._vad.speech_end_s(speech)
    audio = speech[: int((end - 0.2) * 16000)]  # released inside the last word
    s = asr.stream()
    feed_caught_up(s, audio)
    idle = s.finish()
    s = asr.stream()
    feed_caught_up(s, audio)
    with s._lock:
        s._inflight = (s._buf_start, s._audio_start + len(s._audio) + 16000)
    raced = s.finish()
    assert s._inflight is not None  # returned while that decode was still "running"
    assert raced.text == idle.text and raced.timings.encode > 0.0


@pytest.mark.slow
def test_a_word_said_four_times_is_streamed_four_times(asr):
    """A repetition the speech can hold was spoken (issue 10's rule): neither the worker's
    decodes nor the tail judge it a loop or collapse it."""
    from tests.asr.test_word_loss import said_four_times

    s = asr.stream()
    feed_caught_up(s, said_four_times())
    text = s.finish().text
    assert text.lower().count("computer") == 4, text
    assert "internet" in text.lower()


@pytest.mark.slow
def test_brief_quiet_speech_after_the_speakers_is_background(asr, speech):
    """Half-second snippets of speech 30 dB under the speaker's, after a pause (another talker
    in a close-talk microphone): a buffer of their own would make them loud to the decoder; the
    stream leaves them out as a one-shot decode of a meeting does."""
    rng = np.random.default_rng(0)
    noise = lambda s: (10 ** (-75 / 20) * rng.standard_normal(int(s * 16000))).astype(np.float32)  # noqa: E731
    snippet = int(0.7 * 16000)
    parts = [speech, noise(2.5)]
    for t0 in (0.0, 1.4, 3.0):
        start = int(t0 * 16000)
        parts += [speech[start:start + snippet] * 10 ** (-30 / 20) + noise(0.7), noise(1.2)]
    s = asr.stream()
    feed_caught_up(s, np.concatenate(parts).astype(np.float32))
    text = s.finish().text
    assert corpus_wer([REFERENCE], [text]) <= 0.1, text


@pytest.mark.slow
def test_the_speakers_level_is_remembered_for_level_memory_s(asr):
    rng = np.random.default_rng(2)
    phrase = np.concatenate([_sound(rng, 0.5, -85.0), _sound(rng, 2.0, -20.0), _sound(rng, 0.5, -85.0)])
    s = asr.stream()
    s.cancel()
    with s._lock:
        assert s._reference_db() == -np.inf
        s._speaker(phrase)
        heard = s._reference_db()
        assert -24.0 < heard < -16.0
        assert s._reference_db(len(phrase) + int((LEVEL_MEMORY_S - 1) * 16000)) == heard
        assert s._reference_db(len(phrase) + int((LEVEL_MEMORY_S + 1) * 16000)) == -np.inf


@pytest.mark.slow
def test_a_worker_hypothesis_that_repeats_a_phrase_commits_nothing_from_it_on(asr, speech, monkeypatch):
    """The worker's decodes say the utterance's third to fifth words three times over (a decoder
    loop the buffer's speech could hold, the same in every hypothesis, so they agree on it):
    nothing from the repetition on is committed; finish()'s ladder decodes the tail and tells a
    loop from speech, so the text is the stream's without the loop."""
    clean = asr.stream()
    feed_caught_up(clean, speech)
    clean_text = clean.finish().text
    real = stream_mod._first_rung

    def looping(*args, commits=False, **kwargs):
        result = real(*args, commits=commits, **kwargs)
        said = result.text.split()
        if not commits or len(said) < 6:
            return result
        return replace(result, text=" ".join([*said[:5], *said[2:5], *said[2:5], *said[5:]]))

    monkeypatch.setattr(stream_mod, "_first_rung", looping)
    reported: list[str] = []
    s = asr.stream(on_update=lambda u: reported.append(u.text))
    feed_caught_up(s, speech)
    text = s.finish().text
    for committed in reported:
        assert find_loop(committed) is None, committed
    assert text_words(text) == text_words(clean_text)


@pytest.mark.slow
def test_finish_stops_waiting_for_an_endpoint_tail_that_does_not_come(asr, speech, monkeypatch):
    """The watcher's tail decode never ends (and the worker never decodes): finish() waits
    TAIL_WAIT_S for it, then decodes the tail itself."""
    end = asr._vad.speech_end_s(speech)
    audio = np.concatenate([speech[: int((end + 0.05) * 16000)], np.zeros(int(0.25 * 16000), np.float32)])
    monkeypatch.setattr(TranscriptStream, "_step", lambda self, *job: None)
    monkeypatch.setattr(stream_mod, "TAIL_WAIT_S", 0.2)
    s = asr.stream()
    monkeypatch.setattr(s, "_speculate", lambda spec: None)
    s.feed(audio)
    deadline = time.monotonic() + 10.0
    while s._spec is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert s._spec is not None and not s._spec.done
    with s._lock:  # the worker's last decode was of an earlier buffer, and none is under way
        s._last = stream_mod._Decoded(s._buf_start - 1, s._buf_start, None, 0.0, 0.0)
    transcript = s.finish()
    assert transcript.timings.encode > 0.0
    assert corpus_wer([REFERENCE], [transcript.text]) <= 0.1, transcript.text


def test_a_tail_that_restarts_the_utterance_is_decoded_again_without_context(asr, speech):
    """finish()'s tail decode, given the committed text as context, says a phrase twice that the
    worker heard once (here: faked after the real decode): the tail is decoded again the
    one-shot way, and the words are the same as without the restart."""
    end = asr._vad.speech_end_s(speech)
    audio = speech[: int((end - 0.2) * 16000)]  # released inside the last word: finish() decodes
    s = asr.stream()
    feed_caught_up(s, audio)
    clean = s.finish()
    s = asr.stream()
    feed_caught_up(s, audio)
    assert s.text  # committed words before the tail: it is decoded with them as context
    real = s._decode_buffer
    calls = []

    def restarting(buf, buf_start, speech_end, previous_text, clock, aligned=None, cover=False, **levels):
        segments = real(buf, buf_start, speech_end, previous_text, clock, aligned, cover, **levels)
        calls.append(previous_text)
        if not previous_text or not segments:
            return segments
        said = _split(s.text) + [w for seg in segments for w in _split(seg.text)]
        again = "The " + _join(said[-5:])
        return [*segments[:-1], replace(segments[-1], text=segments[-1].text + " " + again)]

    s._decode_buffer = restarting
    restarted = s.finish()
    assert calls[0] and calls[-1] == ""  # decoded with the context, then again without it
    assert text_words(restarted.text) == text_words(clean.text)  # the one-shot way may punctuate otherwise


@pytest.mark.slow
def test_a_worker_decode_the_context_left_speech_out_of_is_redone_without_it(asr, speech, monkeypatch):
    """With the committed text as context the decoder once heard 7 s of a repeated sentence as
    its last word ("internet.", aligned over all of it); here faked on the real decode: the
    worker decodes the buffer again without the context and keeps that hypothesis, so the
    words are the same as without the fault."""
    audio = np.concatenate([speech, np.zeros(8000, np.float32), speech])  # long enough to commit and cut
    clean = asr.stream()
    feed_caught_up(clean, audio)
    clean_text = clean.finish().text
    real = stream_mod._first_rung
    faults = []

    def forgetful(asr_, decoder, buf, speech_end, prompt, **kwargs):
        result = real(asr_, decoder, buf, speech_end, prompt, **kwargs)
        if len(prompt) > len(decoder.prompt(None, timestamps=True)) and result.words:  # with context
            faults.append(len(buf))
            last = result.words[-1]
            return replace(result, text=" " + result.text.split()[-1],
                           words=(replace(last, start=0.0, end=len(buf) / 16000),))
        return result

    monkeypatch.setattr(stream_mod, "_first_rung", forgetful)
    s = asr.stream()
    feed_caught_up(s, audio)
    committed = s.text
    text = s.finish().text
    assert faults, "no worker decode had committed text as context"
    # the worker went on committing from the decodes without context (all but the last word or two)
    assert len(text_words(committed)) >= len(text_words(clean_text)) - 3, committed
    assert text_words(text) == text_words(clean_text)


@pytest.mark.slow
def test_a_tail_decode_that_leaves_a_sentence_out_gets_it_from_the_coverage_rule(asr, speech, monkeypatch):
    """The decoder may end a tail's text at a pause and leave the sentence after it out (seen:
    "...fine typography." for 8 s whose last 5 s are a sentence of their own, with and without
    the context); faked here by decoding only the first phrase: the one-shot path's coverage
    rule, with the words aligned (``cover``: finish()'s decode without the context after one
    with fewer words than the worker heard), decodes the speech region left out on its own and
    merges it in."""
    from voiceflow.asr.transcriber import _Clock

    frames = np.array([np.sqrt(np.mean(speech[i:i + 1600] ** 2)) for i in range(0, len(speech) - 1600, 160)])
    third = len(frames) // 3
    split = (third + int(np.argmin(frames[third:2 * third]))) * 160 + 800  # the quietest 100 ms mid-sample
    gap = np.zeros(16000, np.float32)
    buf = np.concatenate([speech[:split], gap, speech[split:]])  # two phrases a second apart
    real = asr._decode_chunk

    def first_phrase_only(decoder, chunk, speech_end, *args, **kwargs):
        if len(chunk) < len(buf):  # a region decoded alone
            return real(decoder, chunk, speech_end, *args, **kwargs)
        heard = split + 8000  # the decoder ends the text at the pause
        return real(decoder, chunk[:heard], min(speech_end, heard / 16000), *args, **kwargs)

    monkeypatch.setattr(asr, "_decode_chunk", first_phrase_only)
    s = asr.stream()
    end = asr._vad.speech_end_s(buf)
    segments = s._decode_buffer(buf, 16000, end, "", _Clock(), cover=True)
    s.cancel()
    said = text_words(" ".join(seg.text for seg in segments))
    assert corpus_wer([REFERENCE], [" ".join(said)]) <= 0.1, said
    assert segments[0].start >= 1.0 and segments[-1].start > 1.0 + split / 16000  # absolute times


@pytest.mark.slow
def test_a_word_is_sure_whatever_its_case(asr, speech):
    """Whisper splits the probability of a sentence's first word between its capitalised and
    lower-case spellings; the stream asks for the word's, the sum of both."""
    decoder = asr._decoder
    buf = speech[: 2 * 16000]
    result = stream_mod._first_rung(asr, decoder, buf, 1.95, decoder.prompt(None, timestamps=True), align=True)
    first = result.text.split()[0]
    assert first.strip(",.").lower() == "voice"
    own = _word_scores(result.words)[0][0]
    frames = -(-len(buf) // 160)
    other = _case_swapped_probability(decoder, result.encoded, [], first, frames)
    assert other is not None and 0.0 < other < 1.0 and own + other <= 1.0 + 1e-3
    # the same word in the other case, scored the same way, gives back the first one's probability
    swapped = first.lower() if first[0].isupper() else first.capitalize()
    assert _case_swapped_probability(decoder, result.encoded, [], swapped, frames) == pytest.approx(own, abs=0.02)
    assert _case_swapped_probability(decoder, result.encoded, [], "42", frames) is None


@pytest.mark.slow
def test_a_short_pause_keeps_the_speech_before_it_as_lookback(asr, speech):
    """Everything heard before a pause is committed; the words after a short pause are decoded
    with the committed speech before them (not from a fresh buffer), and nothing is decoded
    while the pause lasts; after a long pause the buffer starts afresh."""
    end = asr._vad.speech_end_s(speech)
    first = speech[: int((end + 0.05) * 16000)]
    for pause_s, keeps in ((PAUSE_LOOKBACK_S - 0.5, True), (PAUSE_LOOKBACK_S + 1.0, False)):
        s = asr.stream()
        feed_caught_up(s, first)
        rested_at = None
        for i in range(int(pause_s * 16000) // 512):
            feed_caught_up(s, np.zeros(512, np.float32))
            if rested_at is None and s._resting is not None:
                rested_at = (i, s.decodes, s._carry)
        assert rested_at is not None, "every word is committed once the speech has ended"
        i, decodes, carry = rested_at
        assert i * 512 / 16000 < 1.5 and carry > 0 and s.decodes == decodes, "the pause was decoded"
        feed_caught_up(s, speech[: 16000])
        assert (s._buf_start < len(first)) is keeps
        feed_caught_up(s, speech[16000:])
        text = s.finish().text
        assert corpus_wer([REFERENCE + " " + REFERENCE], [text]) <= 0.1, text


@pytest.mark.slow
def test_finish_on_silence_gives_empty_text(asr):
    rng = np.random.default_rng(0)
    for audio in (np.zeros(48000, np.float32), (rng.standard_normal(48000) * 1e-3).astype(np.float32)):
        s = asr.stream()
        feed_paced(s, audio, speed=8.0)
        transcript = s.finish()
        assert transcript.text == "" and transcript.segments == ()
        assert transcript.duration == pytest.approx(3.0)
    empty = asr.stream().finish()
    assert empty.text == "" and empty.duration == 0.0


@pytest.mark.slow
def test_context_manager_finishes_on_exit_and_cancels_on_error(asr, speech):
    with asr.stream() as s:
        s.feed(speech[:16000])
    with pytest.raises(RuntimeError, match="finished"):
        s.finish()
    with pytest.raises(KeyError):
        with asr.stream() as s2:
            s2.feed(speech[:16000])
            raise KeyError("boom")
    with pytest.raises(RuntimeError, match="cancelled"):
        s2.feed(speech[:512])


@pytest.mark.slow
def test_bad_blocks_are_counted_not_raised_and_use_after_finish_is_an_error(asr, speech):
    s = asr.stream()
    s.feed(np.zeros((4, 100), np.float32))  # (channels, frames) by mistake: refused, counted
    s.feed(np.array(["a", "b"]))
    s.feed(speech)
    assert s.rejected_blocks == 2
    s.finish()
    with pytest.raises(RuntimeError):
        s.feed(speech)
    with pytest.raises(RuntimeError):
        s.finish()
    s.cancel()  # after finish: nothing to do
    with pytest.raises(ValueError):
        asr.stream(sample_rate=0)


@pytest.mark.slow
def test_feed_finish_and_cancel_from_several_threads(asr, speech):
    for ender in ("finish", "cancel", "both"):
        s = asr.stream()
        fed = []
        errors = []

        def feeder():
            i = 0
            while True:
                try:
                    s.feed(speech[i % len(speech):][:512])
                except RuntimeError:
                    return
                fed.append(1)
                i += 512
                time.sleep(0.01)

        results = []

        def end(kind):
            try:
                results.append((kind, s.finish() if kind == "finish" else s.cancel()))
            except RuntimeError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=feeder) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.8)
        kinds = ["finish", "cancel"] if ender == "both" else [ender]
        enders = [threading.Thread(target=end, args=(k,)) for k in kinds]
        for t in enders:
            t.start()
        for t in threads + enders:
            t.join(20)
            assert not t.is_alive()
        assert fed
        finished = [r for k, r in results if k == "finish"]
        assert len(finished) + len(errors) == kinds.count("finish")
        for transcript in finished:
            assert isinstance(transcript, Transcript)
        s._worker.join(10)
        assert not s._worker.is_alive()


@pytest.mark.slow
def test_hotwords_and_prompt_reach_every_decode_and_spell_the_final_text(asr, monkeypatch):
    """faster-whisper's hotword clip streamed: "ComfyUI" with the hotword, as ``transcribe``
    gives it (test_word_loss), and every decode's prompt starts with the caller's prompt and
    hotwords, whatever the committed text."""
    audio = read_audio(Path(__file__).resolve().parents[1] / "data" / "hotwords.mp3")
    decoder = asr._decoder
    prompts: list[list[int]] = []
    real = decoder.decode_window
    monkeypatch.setattr(decoder, "decode_window", lambda features, prompt, *a, **k: (
        prompts.append(list(prompt)), real(features, prompt, *a, **k))[1])
    s = asr.stream()
    feed_caught_up(s, audio)
    assert "comfyui" not in s.finish().text.lower().replace(" ", "")
    prompts.clear()
    s = asr.stream(prompt="Notes on the node editor.", hotwords="ComfyUI")
    feed_caught_up(s, audio)
    transcript = s.finish()
    assert "ComfyUI" in transcript.text and any("ComfyUI" in seg.text for seg in transcript.segments), transcript
    head = decoder.prompt("Notes on the node editor.", "ComfyUI")[:-1]  # up to <|startoftranscript|>
    assert prompts and all(p[:len(head)] == head for p in prompts)


@pytest.mark.slow
def test_closing_the_transcriber_waits_for_a_finished_streams_decode(speech, monkeypatch):
    """A stream finished while its worker is still decoding (the tail won the race) leaves that
    decode running on its own thread: ``Transcriber.close()`` waits for it, so the model is not
    released under it (a daemon thread inside the model at exit crashes the process)."""
    with Transcriber(mode="speed") as t:
        s = t.stream()
        feed_caught_up(s, speech)
        in_step, release = threading.Event(), threading.Event()
        real_step = s._step
        monkeypatch.setattr(s, "_step", lambda *a: (in_step.set(), release.wait(10), real_step(*a)))
        s.feed(speech[:16000])  # a new second of speech: the worker decodes it (slowly)
        assert in_step.wait(10)
        s.finish()
        assert s._worker.is_alive()
        closer = threading.Thread(target=t.close)
        closer.start()
        closer.join(0.5)
        assert closer.is_alive()  # close() waits for the decode
        release.set()
        closer.join(20)
        assert not closer.is_alive() and not s._worker.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        t.stream()


@pytest.mark.slow
def test_a_30_minute_session_keeps_memory_flat(asr, speech):
    """30 min of quiet room noise with the sample spoken every 2 minutes, fed faster than real
    time (waiting only so the ring never overflows): the held audio stays bounded, Python and
    NumPy allocations stay flat, and so does resident memory up to the model's allocator, which
    caches buffers for each new window shape in steps (up to ~44 MiB seen between minutes 6 and
    29; a leak of the audio alone would be 3.7 MiB a minute, 84 MiB over that span)."""
    import tracemalloc

    rng = np.random.default_rng(3)
    minute = (rng.standard_normal(16000 * 60) * 3e-4).astype(np.float32)
    s = asr.stream()
    held = []

    def rss_mib() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    rss, traced = {}, {}
    tracemalloc.start()
    for m in range(30):
        chunk = minute.copy()
        if m % 2 == 0:
            chunk[16000 * 10: 16000 * 10 + len(speech)] += speech
        for block in np.split(chunk, 60):
            s.feed(block)
            while s.backlog_s > 10.0:
                time.sleep(0.005)
        held.append(len(s._audio))
        if m in (6, 29):
            while s.backlog_s > 0.0:
                time.sleep(0.01)
            rss[m] = rss_mib()
            traced[m] = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    transcript = s.finish()
    assert s.lost_samples == 0
    # the buffer's hard bound, the detector's context, and what one drain can bring at most
    assert max(held) <= (stream_mod.HARD_BUFFER_S + stream_mod.VAD_CONTEXT_S + stream_mod.RING_S) * 16000
    assert traced[29] - traced[6] < 8.0, traced
    assert rss[29] - rss[6] < 80.0, rss
    assert transcript.duration == pytest.approx(1800.0)
    spoken = transcript.text.lower().count("computer")
    assert spoken >= 12, transcript.text  # 15 times said; nearly all of them transcribed
