"""Transcriber takes Python sequences of samples as the audio guard does."""

from __future__ import annotations

import numpy as np
import pytest

from voiceflow.audio.guard import audio_validation_guard


@pytest.fixture(scope="module")
def transcriber():
    from voiceflow.asr.transcriber import Transcriber

    with Transcriber(mode="speed") as asr:
        yield asr


@pytest.mark.parametrize("audio", [[0.0] * 16000, tuple([0.0] * 16000), [0] * 16000, memoryview(np.zeros(16000, np.float32))])
def test_sequences_of_numbers_are_samples(transcriber, audio):
    assert audio_validation_guard(audio).shape == (16000,)  # what the guard accepts ...
    result = transcriber.transcribe(audio)  # ... the transcriber accepts too
    assert result.text == "" and result.duration == pytest.approx(1.0)


def test_a_list_of_speech_samples_transcribes_like_the_array(transcriber):
    from voiceflow.audio.file import read_audio
    from voiceflow.cli.demo import sample_path

    samples = read_audio(sample_path())
    assert transcriber.transcribe(samples.tolist()).text == transcriber.transcribe(samples).text


@pytest.mark.parametrize("audio", [{"a": 1}, ["a", "b"], None, object()])
def test_other_objects_are_one_clear_value_error(transcriber, audio):
    with pytest.raises(ValueError, match=r"audio must be samples \(numpy array, list of numbers\) or a file path"):
        transcriber.transcribe(audio)
