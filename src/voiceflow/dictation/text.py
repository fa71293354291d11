"""Dictation text: voice commands, user replacements, and joining consecutive utterances.

Pure functions and one small state machine, no I/O except :func:`load_replacements`.

Whisper transcribes every utterance as if it were a whole text: a capital first letter, closing
punctuation, no leading space.  Dictating into a document needs the utterances joined:

- ``"new line"`` / ``"new paragraph"`` (any case, with the punctuation Whisper puts around them)
  become ``"\\n"`` / ``"\\n\\n"``; the next word is capitalised;
- ``"scratch that"`` removes the text before it in the same utterance, or, when it opens the
  utterance, the whole previous utterance (typed text is erased with as many backspaces as it
  had characters);
- a replacements table (``{"voice flow": "voiceflow"}``) is applied first, to whole words,
  case-insensitively, longest phrase first -- so a replacement can also name a command in the
  user's own words (``"delete that" = "scratch that"``);
- between utterances: one space, unless the text so far ends a line; the first letter is
  capitalised after a sentence end (``.?!``) or a line break and lower-cased after a
  mid-sentence break -- except "I", "I'm", ... and all-caps words (acronyms).  The reason holds
  for any speaker: Whisper's capital on an utterance's first word says nothing about the word,
  only about where the audio began.  Proper nouns that open an utterance continuing a sentence
  are lower-cased; that is the known cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

__all__ = ["DictationText", "Edit", "ReplacementsError", "apply_replacements", "load_replacements"]

_PUNCT = ",.;:!?"
_LINE_BREAK = re.compile(
    r"[,;:]?\s*\b(?P<cmd>new[ -]?line|new[ -]?paragraph)\b[" + re.escape(_PUNCT) + r"]*\s*",
    re.IGNORECASE,
)
_SCRATCH = re.compile(r"\bscratch that\b[" + re.escape(_PUNCT) + r"]*\s*", re.IGNORECASE)
_SENTENCE_END = (".", "?", "!")


@dataclass(frozen=True)
class Edit:
    """What one utterance does to the text typed so far: erase ``erase`` characters (backspaces),
    then insert ``insert``.  ``text`` is the utterance's own text (no joining space), for line
    outputs such as stdout; ``scratched`` says the previous utterance was removed."""

    erase: int
    insert: str
    text: str
    scratched: bool = False


class ReplacementsError(ValueError):
    """A replacements file that cannot be read or is not a table of strings."""


def load_replacements(path: str | Path) -> dict[str, str]:
    """The ``{"spoken phrase": "written form"}`` table of a TOML file (top-level string keys and
    values).  Raises :class:`ReplacementsError` with a one-line reason."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except OSError as exc:
        raise ReplacementsError(f"cannot read replacements file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ReplacementsError(f"replacements file {path} is not valid TOML: {exc}") from exc
    bad = [k for k, v in table.items() if not isinstance(v, str) or not k.strip()]
    if bad:
        raise ReplacementsError(
            f'replacements file {path}: every entry must be "spoken phrase" = "text"; '
            f"not a string: {', '.join(map(repr, bad[:3]))}"
        )
    return {k.strip(): v for k, v in table.items()}


def apply_replacements(text: str, replacements: Mapping[str, str]) -> str:
    """``text`` with each phrase of ``replacements`` (whole words, any case, longest first)
    replaced by its value; a replaced phrase is not matched again."""
    if not replacements:
        return text
    by_lower = {k.lower(): v for k, v in replacements.items()}
    phrases = sorted(by_lower, key=len, reverse=True)
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(r"\s+".join(map(re.escape, p.split())) for p in phrases) + r")(?!\w)",
        re.IGNORECASE,
    )
    return pattern.sub(lambda m: by_lower[" ".join(m.group(1).lower().split())], text)


def _line_breaks(text: str) -> str:
    def sub(m: re.Match) -> str:
        return "\n\n" if "paragraph" in m.group("cmd").lower() else "\n"

    out = _LINE_BREAK.sub(sub, text)
    # Capitalise what follows a break; no spaces around breaks.
    out = re.sub(r"[ \t]*\n[ \t]*", "\n", out)
    return re.sub(r"\n([a-z])", lambda m: "\n" + m.group(1).upper(), out)


def _starts_sentence(before: str) -> bool:
    tail = before.rstrip(" ")
    return not tail or tail.endswith("\n") or tail.endswith(_SENTENCE_END)


def _keep_capital(word: str) -> bool:
    return word == "I" or word.startswith("I'") or (len(word) > 1 and word.isupper())


def _case_first(text: str, capital: bool) -> str:
    m = re.search(r"[^\W\d_][\w']*", text)
    if m is None:
        return text
    word = m.group(0)
    if capital:
        new = word[0].upper() + word[1:]
    elif _keep_capital(word):
        new = word
    else:
        new = word[0].lower() + word[1:]
    return text[: m.start()] + new + text[m.end():]


class DictationText:
    """The text dictated so far in one session; :meth:`feed` turns each transcript into an
    :class:`Edit`.  Not thread-safe (one caller)."""

    def __init__(self, replacements: Mapping[str, str] | None = None) -> None:
        self.replacements = dict(replacements or {})
        self._pieces: list[str] = []  # what each utterance inserted, joining space included

    def reset(self) -> None:
        """Start a new text (another window): the next utterance opens a sentence and
        ``scratch that`` cannot reach what came before."""
        self._pieces = []

    @property
    def text(self) -> str:
        """Everything inserted so far, as it stands after every edit."""
        return "".join(self._pieces)

    def feed(self, transcript: str) -> Edit:
        """The edit for the next utterance's raw transcript."""
        text = apply_replacements(transcript.strip(), self.replacements)
        erase = 0
        scratched = False
        matches = list(_SCRATCH.finditer(text))
        if matches:
            match = matches[-1]  # the last "scratch that" wins
            if not text[: match.start()].strip(" " + _PUNCT) and self._pieces:
                erase = len(self._pieces.pop())
                scratched = True
            text = text[match.end():]
        text = _line_breaks(text)
        if text.strip(" \t" + _PUNCT) == "" and "\n" not in text:
            text = ""
        before = self.text
        if text and not text.startswith("\n"):
            text = _case_first(text, _starts_sentence(before))
        sep = " " if before and not before.endswith((" ", "\n")) and text and not text.startswith("\n") else ""
        insert = sep + text
        if insert:
            self._pieces.append(insert)
        return Edit(erase=erase, insert=insert, text=text, scratched=scratched)
