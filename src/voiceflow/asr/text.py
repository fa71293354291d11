"""Text-level hallucination guards: repetition loops and their collapse.

Whisper's decoder, given too little acoustic context or non-speech, tends to loop: it repeats
the utterance ("go forward ten meters. Go forward ten meters. ..."), a phrase, or punctuation
("... ... ..."). These helpers work on words (lower-cased, punctuation stripped) so that a
repeat differing only in case or punctuation still counts.

* :func:`find_loop` reports a back-to-back repeat of a word n-gram that real dictation
  practically never contains: a phrase of ``>= 3`` words said twice in a row, a 2-word phrase
  three times, a single word four times.
* :func:`near_repeat` reports a phrase of ``>= 4`` words said again right after itself with one
  word added, dropped or changed ("the Netherlands by a similar process. The Netherlands lens
  by a similar process."): the same restart of the utterance as a loop, heard a little
  differently the second time; real speech rarely does it, so it needs evidence beyond the
  text (the caller's).
* :func:`compression_ratio` is Whisper's own gzip test (looping text compresses too well).
* :func:`collapse_loops` keeps one copy of every looped phrase (applied to final text).
* :func:`respell_hotwords` writes the caller's hotwords as the caller spells them.
* :func:`ends_mid_sentence` tells a text that stops before its sentence ends.
"""

from __future__ import annotations

import re
import zlib
from typing import NamedTuple

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)

MIN_REPEATS_BY_PERIOD = {1: 4, 2: 3}
"""Back-to-back copies that make a loop, by phrase length in words; longer phrases: 2."""
LONG_PHRASE_REPEATS = 2
MAX_PERIOD = 16


class Loop(NamedTuple):
    """``repeats`` back-to-back copies of the ``period``-word phrase starting at word ``start``."""

    start: int
    period: int
    repeats: int


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (punctuation dropped; apostrophes kept inside words)."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


SENTENCE_END = ".?!\u2026"
"""Whisper's English transcripts close every sentence with one of these (quotes and brackets
after it aside)."""


def ends_mid_sentence(text: str) -> bool:
    """True when ``text`` has words and does not end a sentence (no ``SENTENCE_END`` after its
    last word): Whisper, trained on punctuated transcripts, closes the text of a complete
    utterance, so a decode that stops without doing so may have stopped before the speech did
    ("... lag behind by 25-30" for "... by 25 to 30 years.")."""
    if not words(text):
        return False
    tail = text.rstrip().rstrip("\"'\u201d\u2019)]")
    return not tail.endswith(tuple(SENTENCE_END))


def _min_repeats(period: int) -> int:
    return MIN_REPEATS_BY_PERIOD.get(period, LONG_PHRASE_REPEATS)


def _runs(seq: list[str]) -> list[Loop]:
    """Every maximal back-to-back repeat that qualifies as a loop, leftmost first."""
    found: list[Loop] = []
    n = len(seq)
    for period in range(1, min(MAX_PERIOD, n // 2) + 1):
        need = _min_repeats(period)
        start = 0
        while start + period * need <= n:
            repeats = 1
            while (
                start + (repeats + 1) * period <= n
                and seq[start + repeats * period : start + (repeats + 1) * period]
                == seq[start : start + period]
            ):
                repeats += 1
            if repeats >= need:
                found.append(Loop(start, period, repeats))
                start += repeats * period
            else:
                start += 1
    found.sort(key=lambda loop: (loop.start, -loop.period * loop.repeats))
    return found


def find_loop(text_or_words: str | list[str]) -> Loop | None:
    """The first repetition loop in ``text_or_words``, or ``None``."""
    seq = words(text_or_words) if isinstance(text_or_words, str) else list(text_or_words)
    runs = _runs(seq)
    return runs[0] if runs else None


NEAR_REPEAT_WORDS = 4
"""Shortest phrase :func:`near_repeat` compares: a 3-word phrase with one word changed is
common speech ("one by one", "day after day, night after night")."""


def near_repeat(seq: list[str], ending_after: int = 0, shortest: int = NEAR_REPEAT_WORDS
                ) -> tuple[int, int, int] | None:
    """The last back-to-back pair of phrases in ``seq`` (words as :func:`words` gives them)
    ending after word ``ending_after``, the second the first with at most one word added,
    dropped or changed, the first at least ``shortest`` words long: ``(start, first length,
    second length)``; ``None`` when none.  Exact repeats count too (:func:`find_loop` finds
    those on its own)."""
    n = len(seq)
    for end in range(n, max(2 * shortest - 2, ending_after), -1):  # the pair ending latest
        for second in range(shortest - 1, min(MAX_PERIOD + 1, end - shortest + 1) + 1):
            b = seq[end - second:end]
            for first in (second - 1, second, second + 1):
                start = end - second - first
                if first < shortest or start < 0:
                    continue
                if _within_one_edit(seq[start:end - second], b):
                    return start, first, second
    return None


def _within_one_edit(a: list[str], b: list[str]) -> bool:
    """Whether ``b`` is ``a`` with at most one word added, dropped or changed."""
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:]
    return a[i + 1:] == b[i:] if len(a) > len(b) else a[i:] == b[i + 1:]


def repetitions_reproduced(text: str, other: str) -> bool:
    """True when every looped phrase of ``text`` is repeated back-to-back in ``other`` too, at
    least as often as it takes to count as a loop: a second decode of the same audio heard the
    same repetition (a spoken "no no no no"), rather than the first decoder looping alone."""
    runs = _runs(words(text))
    if not runs:
        return False
    seq = words(text)
    found = {(tuple(seq[r.start : r.start + r.period])) for r in _runs(words(other))}
    return all(tuple(seq[r.start : r.start + r.period]) in found for r in runs)


def compression_ratio(text: str) -> float:
    """Whisper's repetitiveness measure: UTF-8 length / zlib-compressed length."""
    data = text.encode("utf-8")
    if not data:
        return 0.0
    return len(data) / len(zlib.compress(data))


def collapse_loops(text: str) -> str:
    """``text`` with each looped phrase kept once (case and punctuation of the first copy).

    Text without a loop is returned unchanged.
    """
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    seq = [text[a:b].lower().replace("’", "'") for a, b in spans]
    runs = _runs(seq)
    if not runs:
        return text
    keep_until = 0
    pieces: list[str] = []
    cursor = 0
    for loop in runs:
        if loop.start < keep_until:
            continue  # overlaps a loop already collapsed
        first_copy_end = loop.start + loop.period  # word index after the copy we keep
        last_word = loop.start + loop.period * loop.repeats - 1
        cut_from = spans[first_copy_end - 1][1]
        cut_to = spans[last_word][1]
        pieces.append(text[cursor:cut_from])
        cursor = cut_to
        keep_until = last_word + 1
    pieces.append(text[cursor:])
    collapsed = "".join(pieces)
    return re.sub(r"\s+([,.;:!?])", r"\1", collapsed)


_TERM_SPLIT = re.compile(r"[,;\s]+")
MAX_RESPELL_WORDS = 4


def hotword_terms(hotwords: str | None) -> list[str]:
    """The terms of a ``hotwords`` string (split at commas, semicolons and spaces)."""
    return [t for t in _TERM_SPLIT.split(hotwords or "") if _WORD.fullmatch(t)]


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower().replace("’", "'") if ch.isalnum() or ch == "'")


def respell_hotwords(text: str, hotwords: str | None) -> str:
    """``text`` with each hotword written as in ``hotwords`` where the decoder produced the
    same letters spelled otherwise: split into 2-4 words ("comfy UI" for ``ComfyUI``), or, for
    a term cased on purpose (a capital after its first letter: ``ComfyUI``, ``iPhone``), one
    word cased otherwise ("comfyUI").

    Why this is safe for any speaker: the letters the decoder recognised are never changed,
    only spaces and case, and only to the spelling the caller asked for.  Whisper's hotwords
    are a prompt bias whose pull on a word's spelling depends on the search (beam or greedy)
    and the encoder window; this makes the spelling the same in every mode.  A plain term
    ("Will") never recases a single word ("will")."""
    terms = hotword_terms(hotwords)
    if not terms or not text:
        return text
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    wanted = {}
    for term in terms:
        wanted.setdefault(_letters(term), term)
    pieces: list[str] = []
    cursor = 0
    i = 0
    while i < len(spans):
        match = None
        for n in range(min(MAX_RESPELL_WORDS, len(spans) - i), 0, -1):
            a, b = spans[i][0], spans[i + n - 1][1]
            if n > 1 and not all(text[spans[k][1]:spans[k + 1][0]] in (" ", "-") for k in range(i, i + n - 1)):
                continue  # only words joined by one space or a hyphen, never across punctuation
            term = wanted.get(_letters(text[a:b]))
            if term is None or text[a:b] == term:
                continue
            if n == 1 and not any(ch.isupper() for ch in term[1:]):
                continue
            match = (a, b, term, n)
            break
        if match is None:
            i += 1
            continue
        a, b, term, n = match
        pieces.append(text[cursor:a])
        pieces.append(term)
        cursor = b
        i += n
    pieces.append(text[cursor:])
    return "".join(pieces)
