"""Adaptive encoder context: encode the utterance plus a little silence, not a 30 s window.

Whisper pads every input to 30 s (3000 mel frames) and the encoder pays for all of them.
CTranslate2's encoder accepts fewer frames, so a 3 s utterance is encoded with just enough
digital silence appended that ``context_pad_s`` of silence follows the end of the speech
(:func:`synthetic_pad_s`; the same silence OpenAI's Whisper pads with, so the first frames are
identical to the full window's features).

The decoder was trained on 30 s windows and can misbehave when the window ends soon after the
speech: it may repeat the utterance, run on, or put text where there is only padding.
:func:`judge` names the symptom (or returns ``None``) so the caller can re-decode that clip,
first with more silence (``retry_pad_s``), then with the full window.  Rules, each principled rather than fitted:

* ``"budget"`` -- no end-of-text within the duration-bounded token budget (runaway);
* ``"loop"`` -- a gzip compression ratio above Whisper's own threshold, or a back-to-back
  repeated phrase (:func:`voiceflow.asr.text.find_loop`) in more words than the speech the
  voice-activity detector found can hold (:func:`beyond_speech_rate`);
* ``"repetition"`` -- a back-to-back repeated phrase the speech *can* hold: people do say "no no
  no no"; it is a loop only if a re-decode with more context does not reproduce it (the caller
  checks with :func:`voiceflow.asr.text.repetitions_reproduced`);
* ``"padding"`` -- a segment that *starts* in the padding, after the audio ended (speech
  cannot begin where there is only silence);
* ``"uncovered"`` -- the text ends (last timestamp) well before the voice-activity detector
  heard the speech end: the decoder stopped early and dropped the last words (what is still left
  out after the ladder, the transcriber's coverage rule decodes on its own);
* ``"low_logprob"`` -- average token log-probability below the configured threshold (the
  same test Whisper uses to trigger its temperature fallback).

``"padding"`` and ``"uncovered"`` read the timestamp tokens; a text-only decode
(``timestamps=False``) is one segment spanning the window's audio, which neither can flag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voiceflow.asr.text import compression_ratio, find_loop, words

if TYPE_CHECKING:
    from voiceflow.asr.decode import WindowResult

FULL_FRAMES = 3000  # Whisper's 30 s window, 10 ms per mel frame
FRAMES_PER_SECOND = 100
PADDING_START_TOLERANCE_S = 0.5
UNCOVERED_SPEECH_TOLERANCE_S = 0.5
MIN_SYNTHETIC_PAD_S = 2.0
MAX_WORDS_PER_SPEECH_S = 7.0
"""More words per second of speech (pauses excluded) than any speaker articulates: fast
speakers reach 6-7 syllables/s, about 4.5-5 words/s; ``find_loop`` text beyond this (plus
``RATE_SLACK_WORDS``) is a decoder loop by its length alone."""
RATE_SLACK_WORDS = 2
"""A word at the edge of a speech region can fall below the voice-activity threshold."""
MIN_WORDS_PER_SPEECH_S = 0.5
"""Fewer words per second of speech than any speaker says: typical speech is ~3 words/s of
speech time, a single drawn-out word ~0.8; text this sparse has left speech out."""
QUIET_REGION_DB = 20.0
"""A speech region this much below the loudest one in its window is a quiet passage: Whisper
normalises a window to its loudest frames, and speech 20 dB (10x in amplitude) under a
speaker's level is beyond phrase-to-phrase variation (about +-6 dB); the decoder can take it
for background."""
MIN_QUIET_PASSAGE_S = 1.0
"""A quiet passage (quiet regions joined across ``QUIET_PHRASE_PAUSE_S``) shorter than this (a
breath, a click, a soft syllable, a word of speech in the background) is not checked by any
coverage rule, and a single quiet region shorter than this not by the quiet-passage rule: the
window's decode heard it at its true level and leaving it out was the decoder's judgement,
which only a passage long enough to hold a phrase overrules (another talker's half-second in a
close-talk microphone is not the speaker's)."""
QUIET_PHRASE_PAUSE_S = 0.5
"""Quiet regions this close together are one passage: pauses inside a phrase are shorter (the
voice-activity detector splits a quiet phrase at its softest syllables), a pause between
phrases or between one talker's turns is longer."""
MAX_WORD_SPEECH_S = 1.5
"""More speech than one word is spoken in, even drawn out (~1 s): an aligned word spanning more
of the speech the VAD found has other words missing under it."""
UNCOVERED_SPEECH_S = 0.5
"""Speech no aligned word spans, beyond this, is speech the text left out."""
ALIGN_MIN_S = 8.0
"""Chunks at least this long get their words aligned to the audio for the coverage check: they
hold several phrases, where a decoder drops one after a pause; a shorter utterance is one or
two phrases, checked by the cheaper rules (rate, segments, level) without the alignment pass."""
ACCOUNTED_FRACTION = 0.4
"""A region decoded alone is accounted for when at least this fraction of its letters appear, in
order and in runs of ``ACCOUNTED_RUN`` or more, in the window's text: the first decode heard that
speech, perhaps as other words ("Horst, a liner" for "forced aligner": 0.46); speech it left out
shares only chance runs with the text (0.0-0.25 in the cases measured)."""
ACCOUNTED_RUN = 3


def window_frames(content_frames: int, pad_s: float) -> int:
    """Mel frames to encode for ``content_frames`` of audio plus ``pad_s`` of padding.

    Even (the encoder's convolution has stride 2) and at most the full window.
    """
    frames = content_frames + int(round(pad_s * FRAMES_PER_SECOND))
    frames += frames % 2
    return min(max(frames, 2), FULL_FRAMES)


def synthetic_pad_s(context_pad_s: float, duration_s: float, speech_end_s: float | None) -> float:
    """Seconds of silence to append so that ``context_pad_s`` of silence follows the speech.

    Silence already recorded after the speech counts (push-to-talk clips usually end with
    some), but at least ``MIN_SYNTHETIC_PAD_S`` is appended: recorded room noise is not the
    digital silence Whisper's padding is.
    """
    trailing = 0.0 if speech_end_s is None else max(duration_s - speech_end_s, 0.0)
    return max(context_pad_s - trailing, min(MIN_SYNTHETIC_PAD_S, context_pad_s))


def content_frames(n_samples: int, hop: int = 160) -> int:
    """Mel frames that carry audio (ceil of samples / hop)."""
    return -(-n_samples // hop)


def token_budget(duration_s: float, per_second: float, base: int, limit: int) -> int:
    """New tokens allowed for ``duration_s`` of audio (fast speech is ~5 tokens/s)."""
    return int(min(limit, base + per_second * max(duration_s, 0.0)))


def max_words(speech_s: float) -> float:
    """Most words ``speech_s`` seconds of speech can hold (see ``MAX_WORDS_PER_SPEECH_S``)."""
    return MAX_WORDS_PER_SPEECH_S * speech_s + RATE_SLACK_WORDS


def beyond_speech_rate(text: str, speech_s: float | None) -> bool:
    """True when ``text`` has more words than ``speech_s`` seconds of speech can hold (False
    when the speech time is unknown)."""
    return speech_s is not None and len(words(text)) > max_words(speech_s)


def under_accounts(n_words: int, speech_s: float) -> bool:
    """True when ``n_words`` are far fewer than ``speech_s`` seconds of speech hold."""
    return n_words < MIN_WORDS_PER_SPEECH_S * speech_s


def _overlap(a: float, b: float, c: float, d: float) -> float:
    return max(0.0, min(b, d) - max(a, c))


def uncovered_regions(regions: list[tuple[float, float]], spans: "tuple | list") -> set[int]:
    """Indices of the speech ``regions`` (seconds) with more than ``UNCOVERED_SPEECH_S`` of
    speech under none of ``spans`` (segments or aligned words: anything with ``start``/``end``)."""
    found: set[int] = set()
    for i, (a, b) in enumerate(regions):
        covered = sum(_overlap(a, b, s.start, s.end) for s in spans)
        if (b - a) - covered > UNCOVERED_SPEECH_S:
            found.add(i)
    return found


def speech_under(span: tuple[float, float], regions: list[tuple[float, float]]) -> float:
    """Seconds of the speech ``regions`` under ``span`` (``(start, end)`` seconds)."""
    return sum(_overlap(span[0], span[1], a, b) for a, b in regions)


def overlong(span: tuple[float, float], regions: list[tuple[float, float]]) -> bool:
    """Whether an aligned word over ``span`` spans more of the speech ``regions`` than one word
    is spoken in (``MAX_WORD_SPEECH_S``): other words are missing under it."""
    return speech_under(span, regions) > MAX_WORD_SPEECH_S


def unaccounted_regions(regions: list[tuple[float, float]], words: "tuple | list") -> set[int]:
    """Indices of the speech ``regions`` (seconds) that the aligned ``words`` (anything with
    ``start``/``end`` seconds) do not account for: more than ``UNCOVERED_SPEECH_S`` of the region
    under no word, or under a word that spans more than ``MAX_WORD_SPEECH_S`` of speech
    (:func:`overlong`)."""
    found = uncovered_regions(regions, words)
    for w in words:
        if overlong((w.start, w.end), regions):
            found.update(i for i, (a, b) in enumerate(regions) if _overlap(a, b, w.start, w.end) > 0)
    return found


def unheard_speech_s(regions: list[tuple[float, float]], spans: list[tuple[float, float]]) -> float:
    """Seconds of the speech ``regions`` that the aligned word ``spans`` (``(start, end)``
    seconds, in order, not overlapping) do not account for, in 10 ms steps: speech under no
    word, or under a word spanning more than ``MAX_WORD_SPEECH_S`` of speech (the measure behind
    :func:`unaccounted_regions`, for comparing two decodes of the same audio)."""
    held = [span for span in spans if not overlong(span, regions)]
    unheard = sum((b - a) - sum(_overlap(a, b, c, d) for c, d in held) for a, b in regions)
    return round(max(unheard, 0.0), 2)


def quiet_regions(levels: list[float], speaker_db: float) -> list[bool]:
    """For each speech region's level (dBFS), whether it is ``QUIET_REGION_DB`` or more under
    ``speaker_db``, the speaker's level (one-shot: the loudest region of the window; a stream:
    the loudest phrase heard lately)."""
    return [level <= speaker_db - QUIET_REGION_DB for level in levels]


def brief_quiet_regions(regions: list[tuple[float, float]], quiet: list[bool]) -> list[bool]:
    """For each of the speech ``regions`` (seconds, in order), whether it is quiet (``quiet``)
    and its passage -- it and the quiet regions next to it, joined across pauses up to
    ``QUIET_PHRASE_PAUSE_S`` -- spans less than ``MIN_QUIET_PASSAGE_S``."""
    brief = [False] * len(regions)
    i = 0
    while i < len(regions):
        if not quiet[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(regions) and quiet[j + 1] and regions[j + 1][0] - regions[j][1] <= QUIET_PHRASE_PAUSE_S:
            j += 1
        if regions[j][1] - regions[i][0] < MIN_QUIET_PASSAGE_S:
            brief[i : j + 1] = [True] * (j + 1 - i)
        i = j + 1
    return brief


def accounted_fraction(region_words: list[str], text_words: list[str], min_run: int = 1) -> float:
    """Fraction of the letters of ``region_words`` found, in order, in those of ``text_words``,
    counting only matched runs of at least ``min_run`` letters (difflib matching; 1.0 for no
    letters).  ``min_run=1`` on whole words is close to the fraction of words found."""
    from difflib import SequenceMatcher

    a, b = "".join(region_words), "".join(text_words)
    if not a:
        return 1.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks() if block.size >= min_run) / len(a)


def judge(result: "WindowResult", duration_s: float, *, speech_end_s: float | None,
          compression_threshold: float, log_prob_threshold: float,
          speech_s: float | None = None) -> str | None:
    """Why this adaptive-context decode should be redone with more context, or ``None``.

    ``speech_end_s``: where the voice-activity detector heard the speech end; ``speech_s``:
    seconds of speech it found in the window (None: unknown -- then any repeated phrase is
    judged a loop, as before speech time was measured).
    """
    if result.hit_budget:
        return "budget"
    repeated = False
    if result.text.strip():
        if compression_ratio(result.text) > compression_threshold:
            return "loop"
        if find_loop(result.text) is not None:
            if speech_s is None or beyond_speech_rate(result.text, speech_s):
                return "loop"
            repeated = True
    if any(seg.start > duration_s + PADDING_START_TOLERANCE_S for seg in result.segments):
        return "padding"
    if speech_end_s is not None and result.segments:
        if result.segments[-1].end < speech_end_s - UNCOVERED_SPEECH_TOLERANCE_S:
            return "uncovered"
    if result.avg_logprob < log_prob_threshold:
        return "low_logprob"
    return "repetition" if repeated else None
