"""Word error rate without optional packages (what ``voiceflow demo`` prints).

Normaliser (:func:`normalize`): :func:`voiceflow.asr.text.words` -- lower case, punctuation
dropped, apostrophes kept inside words ("culprit's" stays one word); nothing else.  Unlike
Whisper's English normaliser (what ``voiceflow bench asr`` scores with, through ``jiwer``) it
does not spell numbers ("ten" vs "10" is an error here) nor unify British/American spellings,
so on such text it can only be higher.  WER is the word-level Levenshtein distance
(substitutions + deletions + insertions) summed over all pairs, divided by the number of
reference words: the corpus-level WER ``jiwer.wer`` computes on lists.
"""

from __future__ import annotations

from typing import Sequence

from voiceflow.asr.text import words as normalize

__all__ = ["edit_distance", "normalize", "word_error_rate"]


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Fewest substitutions, deletions and insertions turning ``reference`` into ``hypothesis``
    (O(len(reference) * len(hypothesis)) time, O(len(hypothesis)) memory)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, 1):
            current.append(min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (ref_word != hyp_word),  # substitution or match
            ))  # fmt: skip
        previous = current
    return previous[-1]


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus-level WER (a fraction; may exceed 1) of ``hypotheses`` against ``references``.

    Pairs whose reference normalises to no words are skipped (as ``voiceflow bench asr``
    does); raises ``ValueError`` when the lists differ in length or no reference has words.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    errors = total = 0
    for reference, hypothesis in zip(references, hypotheses):
        ref_words = normalize(reference)
        if ref_words:
            errors += edit_distance(ref_words, normalize(hypothesis))
            total += len(ref_words)
    if not total:
        raise ValueError("no reference words to score against")
    return errors / total
