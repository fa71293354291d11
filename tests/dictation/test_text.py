"""Voice commands, replacements and joining of consecutive utterances."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from voiceflow.dictation.text import (
    DictationText,
    Edit,
    ReplacementsError,
    apply_replacements,
    load_replacements,
)


def feed_all(*transcripts, replacements=None):
    d = DictationText(replacements)
    edits = [d.feed(t) for t in transcripts]
    return d, edits


def test_consecutive_utterances_are_joined_with_one_space_and_sentence_case():
    d, edits = feed_all("Hello world.", "How are you?", "I think", "That it works.")
    assert d.text == "Hello world. How are you? I think that it works."
    assert edits[0] == Edit(0, "Hello world.", "Hello world.")
    assert edits[1].insert == " How are you?"
    assert edits[3].text == "that it works."


def test_acronyms_and_I_keep_their_capital_mid_sentence():
    d, _ = feed_all("We use", "NASA data and", "I'm happy")
    assert d.text == "We use NASA data and I'm happy"


def test_new_line_and_new_paragraph():
    d, edits = feed_all("Dear John, new line. Thanks for the letter.", "New paragraph.", "best wishes")
    assert d.text == "Dear John\nThanks for the letter.\n\nBest wishes"
    assert edits[1].insert == "\n\n"
    assert edits[2].insert == "Best wishes"  # no space after a line break


def test_newline_variants():
    assert DictationText().feed("one Newline two").insert == "One\nTwo"
    assert DictationText().feed("one. New-line. two").insert == "One.\nTwo"


def test_scratch_that_removes_the_previous_utterance():
    d, edits = feed_all("Hello world.", "This is wrong.", "Scratch that.", "This is right.")
    assert edits[2] == Edit(erase=len(" This is wrong."), insert="", text="", scratched=True)
    assert d.text == "Hello world. This is right."


def test_scratch_that_mid_utterance_removes_only_what_precedes_it():
    d, edits = feed_all("First.", "Oh no, scratch that. Second.")
    assert edits[1].erase == 0 and not edits[1].scratched
    assert d.text == "First. Second."


def test_scratch_that_with_nothing_before_erases_nothing():
    d, edits = feed_all("Scratch that.")
    assert edits[0].erase == 0 and d.text == ""


def test_punctuation_only_is_dropped():
    d, edits = feed_all("Hi.", "...")
    assert edits[1].insert == "" and d.text == "Hi."


def test_replacements_whole_words_any_case_longest_first():
    table = {"voice flow": "voiceflow", "voice": "VOICE", "e mail": "email"}
    assert apply_replacements("Voice flow and voice, e   mail; voicemail", table) == \
        "voiceflow and VOICE, email; voicemail"
    d, _ = feed_all("I use voice flow.", replacements={"voice flow": "voiceflow"})
    assert d.text == "I use voiceflow."


def test_a_replacement_can_name_a_command():
    d, edits = feed_all("Keep this.", "Drop this.", "Delete that.", replacements={"delete that": "scratch that"})
    assert edits[2].scratched and d.text == "Keep this."


def test_load_replacements(tmp_path):
    good = tmp_path / "r.toml"
    good.write_text('"voice flow" = "voiceflow"\n"new york" = "New York"\n')
    assert load_replacements(good) == {"voice flow": "voiceflow", "new york": "New York"}
    bad = tmp_path / "bad.toml"
    bad.write_text('"x" = 3\n')
    with pytest.raises(ReplacementsError, match="must be"):
        load_replacements(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("= =\n")
    with pytest.raises(ReplacementsError, match="not valid TOML"):
        load_replacements(broken)
    with pytest.raises(ReplacementsError, match="cannot read"):
        load_replacements(tmp_path / "missing.toml")


@given(st.lists(st.text(alphabet=st.sampled_from("ab .,?\nIN"), max_size=20), max_size=8))
def test_erase_counts_always_match_what_was_inserted(transcripts):
    """Replaying the edits on a buffer (backspaces then insert) always gives ``text``."""
    d = DictationText()
    buffer = ""
    for t in transcripts + ["scratch that"] * 2:
        e = d.feed(t)
        assert e.erase <= len(buffer)
        buffer = buffer[: len(buffer) - e.erase] + e.insert
        assert buffer == d.text
