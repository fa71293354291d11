"""The cases of issue 10 ("no word lost") on the real model, in every mode: custom vocabulary,
spoken repetitions, quiet passages inside a chunk, speech a text-only decode leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceflow.asr.transcriber import Transcriber
from voiceflow.audio.file import read_audio

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[1] / "data"
MODES = ("quality", "balanced", "speed")


@pytest.fixture(scope="module")
def transcribers():
    made = {mode: Transcriber(mode=mode) for mode in MODES}
    yield made
    for transcriber in made.values():
        transcriber.close()


# --- case 5: custom vocabulary ----------------------------------------------------------------
def test_the_decoder_prompt_is_faster_whispers(transcribers):
    """Hotwords and prompt reach the decoder exactly as faster-whisper's ``get_prompt`` puts them
    (hotwords in the previous-context section, before the previous text), in every mode."""
    for transcriber in transcribers.values():
        decoder, model = transcriber._decoder, transcriber._whisper
        previous = decoder.tokenizer.encode(" Earlier text.")
        for timestamps in (True, False):
            assert decoder.prompt("Earlier text.", "ComfyUI", timestamps=timestamps) == model.get_prompt(
                decoder.tokenizer, previous, without_timestamps=not timestamps, hotwords="ComfyUI"
            )
            assert decoder.prompt(None, "ComfyUI", timestamps=timestamps) == model.get_prompt(
                decoder.tokenizer, [], without_timestamps=not timestamps, hotwords="ComfyUI"
            )


@pytest.mark.parametrize("mode", MODES)
def test_hotwords_spell_the_word_in_every_mode(transcribers, mode):
    """faster-whisper's own clip and expectation (tests/test_transcribe.py::test_hotwords)."""
    audio = read_audio(DATA / "hotwords.mp3")
    plain = transcribers[mode].transcribe(audio)
    assert "comfyui" not in plain.text.lower().replace(" ", "")  # the hotword is what changes it
    with_hotword = transcribers[mode].transcribe(audio, hotwords="ComfyUI")
    assert "ComfyUI" in with_hotword.text, with_hotword.text
    assert "ComfyUI" in with_hotword.segments[0].text
