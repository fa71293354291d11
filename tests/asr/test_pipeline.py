"""PipelinedTranscriber: order, back-pressure, errors, shutdown, threads (fake models)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import CancelledError
from dataclasses import dataclass

import numpy as np
import pytest

from voiceflow.config import Config
from voiceflow.asr.pipeline import PipelinedTranscriber, PipelineResult

WAIT = 10.0  # generous bound for anything that should happen "soon"


@dataclass(frozen=True)
class FakeTranscript:
    text: str


def clip(n: int, length: int = 160) -> np.ndarray:
    """A clip whose samples encode ``n`` (n / 1000), so the fake model can say which it got."""
    return np.full(length, n / 1000, dtype=np.float32)


def clip_number(audio: np.ndarray) -> int:
    return round(float(np.median(audio)) * 1000)  # median: resampling rings at the edges


class EchoModel:
    """Says which clip it got, after an optional random delay; records what it saw."""

    def __init__(self, max_delay: float = 0.0, config: Config | None = None) -> None:
        self.max_delay = max_delay
        self.config = config if config is not None else Config()
        self.seen: list[tuple[int, int, np.dtype, int]] = []
        self._random = random.Random(1234)

    def transcribe(self, audio: np.ndarray, sample_rate: int = 16000) -> FakeTranscript:
        if self.max_delay:
            time.sleep(self._random.uniform(0, self.max_delay))
        self.seen.append((clip_number(audio), audio.size, audio.dtype, sample_rate))
        return FakeTranscript(str(clip_number(audio)))


class GatedModel(EchoModel):
    """Blocks inside transcribe() until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)
        self.active = 0
        self.max_active = 0

    def transcribe(self, audio: np.ndarray, sample_rate: int = 16000) -> FakeTranscript:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.entered.release()
        assert self.gate.wait(WAIT), "test never opened the gate"
        self.active -= 1
        return super().transcribe(audio, sample_rate)


class FailingModel(EchoModel):
    def __init__(self, fail_on: set[int]) -> None:
        super().__init__()
        self.fail_on = fail_on

    def transcribe(self, audio: np.ndarray, sample_rate: int = 16000) -> FakeTranscript:
        if clip_number(audio) in self.fail_on:
            raise RuntimeError(f"model failed on clip {clip_number(audio)}")
        return super().transcribe(audio, sample_rate)


def pipeline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("voiceflow-")]


@pytest.fixture(autouse=True)
def no_leftover_threads():
    before = set(threading.enumerate())
    yield
    leftover = [t for t in pipeline_threads() if t not in before]
    assert leftover == [], f"threads still running after the test: {leftover}"


def test_results_come_out_in_submission_order_under_random_delays():
    model = EchoModel(max_delay=0.004)
    producer_done = threading.Event()
    with PipelinedTranscriber(model, max_pending=3) as pipe:
        futures = []

        def produce():
            for n in range(40):
                time.sleep(random.uniform(0, 0.002))
                futures.append(pipe.submit(clip(n), tag=f"clip-{n}"))
            producer_done.set()
            pipe.close()

        producer = threading.Thread(target=produce)
        producer.start()
        delivered = list(pipe.results())
        producer.join()
    assert producer_done.is_set()
    assert [r.index for r in delivered] == list(range(40))
    assert [r.tag for r in delivered] == [f"clip-{n}" for n in range(40)]
    assert [r.unwrap().text for r in delivered] == [str(n) for n in range(40)]
    assert [f.result().text for f in futures] == [str(n) for n in range(40)]
    assert [seen[0] for seen in model.seen] == list(range(40))
    assert all(r.latency > 0 for r in delivered)


def test_on_result_callback_gets_every_result_in_order_on_the_delivery_thread():
    delivered: list[tuple[int, str, str]] = []
    pipe = PipelinedTranscriber(
        EchoModel(max_delay=0.002),
        on_result=lambda r: delivered.append((r.index, r.unwrap().text, threading.current_thread().name)),
    )
    futures = [pipe.submit(clip(n)) for n in range(12)]
    pipe.close()
    assert [(i, text) for i, text, _ in delivered] == [(n, str(n)) for n in range(12)]
    assert {name for _, _, name in delivered} == {"voiceflow-deliver"}
    assert all(f.done() for f in futures)
    with pytest.raises(RuntimeError, match="on_result"):
        pipe.results()


def test_a_raising_callback_is_logged_and_the_pipeline_goes_on(caplog):
    calls = []

    def flaky(result: PipelineResult) -> None:
        calls.append(result.index)
        if result.index == 1:
            raise KeyError("callback bug")

    with PipelinedTranscriber(EchoModel(), on_result=flaky) as pipe:
        futures = [pipe.submit(clip(n)) for n in range(4)]
    assert calls == [0, 1, 2, 3]
    assert [f.result().text for f in futures] == ["0", "1", "2", "3"]
    assert "on_result raised for job 1" in caplog.text


def test_submit_blocks_when_max_pending_jobs_are_in_flight():
    model = GatedModel()
    pipe = PipelinedTranscriber(model, max_pending=3)
    try:
        futures = [pipe.submit(clip(n), timeout=WAIT) for n in range(3)]
        assert pipe.pending == 3
        with pytest.raises(TimeoutError):
            pipe.submit(clip(3), timeout=0.2)
        assert pipe.pending == 3

        blocked = threading.Thread(target=lambda: futures.append(pipe.submit(clip(4))))
        blocked.start()
        blocked.join(0.3)
        assert blocked.is_alive(), "submit() returned although no slot was free"

        model.gate.set()
        blocked.join(WAIT)
        assert not blocked.is_alive()
    finally:
        model.gate.set()
        pipe.close()
    assert [f.result().text for f in futures] == ["0", "1", "2", "4"]
    assert pipe.pending == 0
    assert model.max_active == 1


def test_pending_never_exceeds_max_pending_with_a_slow_model():
    model = EchoModel(max_delay=0.01)
    high_water = 0
    with PipelinedTranscriber(model, max_pending=2) as pipe:
        for n in range(15):
            pipe.submit(clip(n))
            high_water = max(high_water, pipe.pending)
    assert 1 <= high_water <= 2
    assert len(model.seen) == 15


def test_a_model_error_belongs_to_its_job_only():
    with PipelinedTranscriber(FailingModel(fail_on={2, 5})) as pipe:
        futures = [pipe.submit(clip(n), tag=n) for n in range(7)]
        pipe.close()
        results = list(pipe.results())
    for n, future in enumerate(futures):
        if n in (2, 5):
            with pytest.raises(RuntimeError, match=f"failed on clip {n}"):
                future.result()
        else:
            assert future.result().text == str(n)
    assert [r.tag for r in results] == list(range(7))
    assert [r.error is not None for r in results] == [n in (2, 5) for n in range(7)]
    with pytest.raises(RuntimeError, match="failed on clip 5"):
        results[5].unwrap()
    assert results[5].transcript is None


def test_bad_audio_fails_in_stage_one_and_never_reaches_the_model():
    model = EchoModel(config=Config(audio_guard_policy="reject"))
    bad = clip(1)
    bad[10] = np.nan
    with PipelinedTranscriber(model) as pipe:
        good_before = pipe.submit(clip(0))
        rejected = pipe.submit(bad)
        empty = pipe.submit(np.zeros(0, np.float32))
        good_after = pipe.submit(clip(3))
    assert good_before.result().text == "0" and good_after.result().text == "3"
    with pytest.raises(ValueError, match=r"\[AudioGuard\].*NaN"):
        rejected.result()
    with pytest.raises(ValueError, match=r"\[AudioGuard\]"):
        empty.result()
    assert [seen[0] for seen in model.seen] == [0, 3]


def test_a_missing_file_is_the_futures_error(tmp_path):
    with PipelinedTranscriber(EchoModel()) as pipe:
        missing = pipe.submit(tmp_path / "nope.wav")
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        missing.result()


def test_stage_one_downmixes_scales_and_resamples_to_16k():
    model = EchoModel()
    stereo_48k = np.zeros((48000, 2), np.int16)
    stereo_48k[:, 0] = stereo_48k[:, 1] = 8192  # 0.25 after int16 scaling
    with PipelinedTranscriber(model) as pipe:
        pipe.submit(stereo_48k, sample_rate=48000)
        pipe.submit(np.full(8000, 0.5, np.float64), sample_rate=8000)
    (n0, size0, dtype0, rate0), (_, size1, dtype1, _) = model.seen
    assert (n0, size0, dtype0, rate0) == (250, 16000, np.float32, 16000)
    assert (size1, dtype1) == (16000, np.float32)


def test_submit_copies_the_callers_buffer():
    model = GatedModel()
    buffer = clip(7)
    with PipelinedTranscriber(model) as pipe:
        future = pipe.submit(buffer)
        buffer[:] = 0  # the caller reuses its buffer at once
        model.gate.set()
    assert future.result().text == "7"


def test_close_drains_every_submitted_job():
    model = EchoModel(max_delay=0.005)
    pipe = PipelinedTranscriber(model, max_pending=4)
    futures = [pipe.submit(clip(n)) for n in range(10)]
    pipe.close()
    assert pipe_threads_alive(pipe) == []
    assert [f.result(timeout=0).text for f in futures] == [str(n) for n in range(10)]
    pipe.close()  # idempotent


def pipe_threads_alive(pipe: PipelinedTranscriber) -> list[threading.Thread]:
    return [t for t in pipeline_threads() if t.is_alive()]


def test_close_cancel_cancels_jobs_the_model_has_not_started():
    model = GatedModel()
    pipe = PipelinedTranscriber(model, max_pending=4)
    futures = [pipe.submit(clip(n)) for n in range(4)]
    assert model.entered.acquire(timeout=WAIT)  # job 0 is inside the model
    closer = threading.Thread(target=pipe.close, kwargs={"cancel": True})
    closer.start()
    time.sleep(0.05)
    model.gate.set()
    closer.join(WAIT)
    assert not closer.is_alive()
    assert futures[0].result(timeout=0).text == "0"
    assert all(f.cancelled() for f in futures[1:])
    for f in futures[1:]:
        with pytest.raises(CancelledError):
            f.result(timeout=0)
    assert [seen[0] for seen in model.seen] == [0]
    assert pipe.pending == 0


def test_a_caller_cancelled_future_is_skipped():
    model = GatedModel()
    with PipelinedTranscriber(model) as pipe:
        first = pipe.submit(clip(0))
        assert model.entered.acquire(timeout=WAIT)
        second, third = pipe.submit(clip(1)), pipe.submit(clip(2))
        assert second.cancel()
        model.gate.set()
        pipe.close()
        results = list(pipe.results())
    assert [r.index for r in results] == [0, 2]
    assert first.result().text == "0" and third.result().text == "2"
    assert [seen[0] for seen in model.seen] == [0, 2]


class FakeStream:
    """A streamed utterance: ``seconds`` of it fed, ``finish()`` says so (or raises ``fails``)."""

    def __init__(self, seconds: float, lost: int = 0, rejected: int = 0, fails: bool = False,
                 text: str = "streamed") -> None:
        self.seconds, self.lost_samples, self.rejected_blocks, self.fails = seconds, lost, rejected, fails
        self.state, self.text = "open", text

    def finish(self) -> FakeTranscript:
        self.state = "finished"
        if self.fails:
            raise RuntimeError("the stream's tail decode failed")
        return FakeTranscript(self.text)

    def cancel(self) -> None:
        if self.state == "open":
            self.state = "cancelled"


def test_a_streamed_utterance_is_finished_not_transcribed_unless_the_stream_missed_audio(caplog):
    """The stream that was fed the utterance gives its text; one that holds less of it (lost,
    rejected, or shorter than the recording) or fails is cancelled and the recording is
    transcribed: nothing recorded is lost.  A stream that wrote nothing is checked the same way
    (the one-shot path hears a quiet microphone's speech that the stream's detector may not)."""
    model = EchoModel()
    streams = [FakeStream(0.1), FakeStream(0.1, lost=480), FakeStream(0.1, rejected=1), FakeStream(0.09),
               FakeStream(0.1, fails=True), FakeStream(0.1 - 0.001), FakeStream(0.1, text=" ")]
    with PipelinedTranscriber(model) as pipe:
        futures = [pipe.submit(clip(n, 1600), stream=st) for n, st in enumerate(streams)]
        texts = [f.result(timeout=WAIT).text for f in futures]
    assert texts == ["streamed", "1", "2", "3", "4", "streamed", "6"]  # 1 ms short: resampling's rounding
    assert [st.state for st in streams] == ["finished", "cancelled", "cancelled", "cancelled", "finished", "finished",
                                            "finished"]
    assert [seen[0] for seen in model.seen] == [1, 2, 3, 4, 6]
    assert sum("transcribing the recording instead" in r.getMessage() for r in caplog.records) == 4


def test_a_cancelled_or_refused_job_cancels_its_stream():
    model = GatedModel()
    pipe = PipelinedTranscriber(model, max_pending=4)
    first = pipe.submit(clip(0))
    assert model.entered.acquire(timeout=WAIT)
    waiting = FakeStream(0.01)
    pipe.submit(clip(1), stream=waiting)
    closer = threading.Thread(target=pipe.close, kwargs={"cancel": True})
    closer.start()
    time.sleep(0.05)
    model.gate.set()
    closer.join(WAIT)
    assert first.result(timeout=0).text == "0" and waiting.state == "cancelled"

    refused = FakeStream(0.01)
    with PipelinedTranscriber(EchoModel(config=Config(audio_guard_policy="reject"))) as pipe:
        future = pipe.submit(np.full(160, np.nan, np.float32), stream=refused)
    with pytest.raises(ValueError, match=r"\[AudioGuard\]"):
        future.result()
    assert refused.state == "cancelled"


def test_submit_after_close_raises_and_a_blocked_submit_is_released_by_close():
    model = GatedModel()
    pipe = PipelinedTranscriber(model, max_pending=1)
    pipe.submit(clip(0))
    errors: list[BaseException] = []

    def late_submit():
        try:
            pipe.submit(clip(1))
        except RuntimeError as error:
            errors.append(error)

    blocked = threading.Thread(target=late_submit)
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive()
    closer = threading.Thread(target=pipe.close)
    closer.start()
    time.sleep(0.05)
    model.gate.set()
    closer.join(WAIT)
    blocked.join(WAIT)
    assert not blocked.is_alive() and not closer.is_alive()
    assert len(errors) == 1 and "closed" in str(errors[0])
    with pytest.raises(RuntimeError, match="closed"):
        pipe.submit(clip(2))


def test_an_exception_in_the_with_block_cancels_and_leaves_no_thread():
    model = GatedModel()
    futures = []
    with pytest.raises(KeyError):
        with PipelinedTranscriber(model) as pipe:
            futures = [pipe.submit(clip(n)) for n in range(3)]
            assert model.entered.acquire(timeout=WAIT)
            threading.Timer(0.05, model.gate.set).start()
            raise KeyError("caller bug")
    assert futures[0].result(timeout=0).text == "0"
    assert all(f.cancelled() for f in futures[1:])


def test_results_iterator_ends_after_close_and_can_be_reopened_empty():
    with PipelinedTranscriber(EchoModel()) as pipe:
        pipe.submit(clip(0))
        pipe.close()
        assert [r.unwrap().text for r in pipe.results()] == ["0"]
        assert list(pipe.results()) == []


def test_constructor_rejects_a_useless_bound():
    with pytest.raises(ValueError, match="max_pending"):
        PipelinedTranscriber(EchoModel(), max_pending=0)
    with PipelinedTranscriber(EchoModel()) as pipe, pytest.raises(ValueError, match="sample_rate"):
        pipe.submit(clip(0), sample_rate=0)
