"""PipelinedTranscriber: prepare, transcribe and deliver utterances on three threads.

Stage 1 (``voiceflow-prepare``) runs the audio guard and resamples to 16 kHz with soxr (or
decodes a file path); stage 2 (``voiceflow-model``) runs the :class:`~voiceflow.Transcriber` --
or, for an utterance that was streamed while it was recorded, finishes its
:class:`~voiceflow.asr.stream.TranscriptStream` (most of the work is then done already);
stage 3 (``voiceflow-deliver``) resolves the job's ``Future`` and hands a
:class:`PipelineResult` to ``on_result`` or to the :meth:`~PipelinedTranscriber.results`
iterator. While the model works on one utterance the next one is already being prepared.

Back-pressure: at most ``max_pending`` jobs exist between :meth:`~PipelinedTranscriber.submit`
and delivery (the queues between stages are bounded by the same number). When they are all
taken, ``submit`` blocks (or raises ``TimeoutError`` after ``timeout`` seconds), so a slow model
slows the producer down instead of queueing audio without limit.

Order: every stage is one thread reading a FIFO queue, so results are delivered in submission
order, errors included. An error in stage 1 or 2 belongs to its job only: its ``Future`` raises
it, ``on_result`` / ``results()`` get a :class:`PipelineResult` carrying it, and the jobs after
it go on.

Threads: the three stage threads start in the constructor and end in :meth:`close`, which drains
(default) or cancels, then joins them. Nothing else is started.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

if TYPE_CHECKING:
    from voiceflow.asr.transcriber import Transcript

__all__ = ["PipelineResult", "PipelinedTranscriber"]

log = logging.getLogger("voiceflow.asr.pipeline")

MODEL_RATE = 16000
"""Sample rate (Hz) the model stage receives."""

_STOP = object()  # travels down the stages after the last job, ends each thread in turn


@dataclass(frozen=True)
class PipelineResult:
    """One delivered job, in submission order.

    Exactly one of ``transcript`` / ``error`` is set. ``index`` counts submissions from 0;
    ``tag`` is what the caller passed to ``submit``; ``latency`` is seconds from ``submit``
    returning to delivery (queueing + preparation + model).
    """

    index: int
    tag: Any
    transcript: Transcript | None
    error: BaseException | None
    latency: float

    def unwrap(self) -> Transcript:
        """The transcript, or raise the job's error."""
        if self.error is not None:
            raise self.error
        assert self.transcript is not None
        return self.transcript


STREAM_TOLERANCE_S = 0.002
"""A stream fed this much less audio than the utterance (seconds) missed some of it: one
callback block is longer, and the two lengths differ only by resampling's rounding otherwise."""


class _Job:
    __slots__ = ("index", "tag", "audio", "sample_rate", "stream", "future", "submitted", "transcript", "error")

    def __init__(self, index: int, tag: Any, audio: Any, sample_rate: int, stream: Any = None) -> None:
        self.index = index
        self.tag = tag
        self.audio = audio
        self.sample_rate = sample_rate
        self.stream = stream
        self.future: Future[Transcript] = Future()
        self.submitted = time.perf_counter()
        self.transcript: Transcript | None = None
        self.error: BaseException | None = None


class PipelinedTranscriber:
    """Run a transcriber behind bounded queues; see the module docstring for the contract.

    Args:
        transcriber: anything with ``transcribe(audio, sample_rate) -> Transcript`` (normally a
            :class:`voiceflow.Transcriber`); its ``config`` (if any) sets the audio-guard policy.
            It is not closed by :meth:`close`: the caller owns it.
        max_pending: jobs allowed between ``submit`` and delivery (>= 1).
        on_result: called on the delivery thread with each :class:`PipelineResult`; an exception
            it raises is logged and does not stop the pipeline. Without it, results are kept
            for :meth:`results` until read (a ``Transcript`` is small, the audio is not kept).
    """

    def __init__(
        self,
        transcriber: Any,
        *,
        max_pending: int = 4,
        on_result: Callable[[PipelineResult], None] | None = None,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self._transcriber = transcriber
        self._guard_cfg = getattr(transcriber, "config", None)
        self._max_pending = max_pending
        self._on_result = on_result
        self._slots = threading.BoundedSemaphore(max_pending)
        self._lock = threading.Lock()  # orders index assignment with queue insertion and close
        self._next_index = 0
        self._pending = 0
        self._closing = False
        self._cancel = threading.Event()
        # +1: room for the stop marker behind max_pending jobs, so no put() ever blocks.
        self._to_prepare: queue.Queue[Any] = queue.Queue(max_pending + 1)
        self._to_model: queue.Queue[Any] = queue.Queue(max_pending + 1)
        self._to_deliver: queue.Queue[Any] = queue.Queue(max_pending + 1)
        self._delivered: queue.Queue[Any] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run_stage, args=(work, inbox, outbox), name=name, daemon=True)
            for name, work, inbox, outbox in (
                ("voiceflow-prepare", self._prepare, self._to_prepare, self._to_model),
                ("voiceflow-model", self._transcribe, self._to_model, self._to_deliver),
                ("voiceflow-deliver", self._deliver, self._to_deliver, None),
            )
        ]
        for thread in self._threads:
            thread.start()

    # --- caller side --------------------------------------------------------------------
    @property
    def max_pending(self) -> int:
        """The bound on jobs between ``submit`` and delivery."""
        return self._max_pending

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet delivered (or cancelled)."""
        with self._lock:
            return self._pending

    def submit(
        self,
        audio: Any,
        sample_rate: int = MODEL_RATE,
        tag: Any = None,
        *,
        timeout: float | None = None,
        stream: Any = None,
    ) -> Future[Transcript]:
        """Queue one utterance; returns a ``Future`` resolved with its ``Transcript``.

        ``audio``: an array the audio guard accepts (1-D samples or ``(frames, channels)``, float
        or integer PCM) at ``sample_rate`` Hz, copied here so the caller may reuse its buffer;
        or a path to an audio file (decoded on stage 1; ``sample_rate`` is then ignored).
        Blocks while ``max_pending`` jobs are in flight; with ``timeout`` (seconds) raises
        ``TimeoutError`` instead of waiting longer. Raises ``RuntimeError`` after :meth:`close`.
        Problems with the audio itself (rejected by the guard, unreadable file) do not raise
        here: they are the ``Future``'s exception.

        ``stream``: the :class:`~voiceflow.asr.stream.TranscriptStream` that was fed this same
        utterance while it was recorded (not finished; the pipeline owns it now).  The model
        stage returns its ``finish()`` instead of transcribing ``audio`` -- unless the stream
        holds less audio than ``audio`` (it lost or rejected some) or ``finish()`` fails: then
        ``audio`` is transcribed, so nothing recorded is lost (logged).  A cancelled job cancels it.
        """
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if not isinstance(audio, (str, os.PathLike)):
            audio = np.array(audio, copy=True)
        self._check_open()
        if not self._slots.acquire(timeout=timeout):
            raise TimeoutError(f"no free slot in {timeout} s ({self._max_pending} jobs pending)")
        with self._lock:
            if self._closing:
                self._slots.release()
                raise RuntimeError("PipelinedTranscriber is closed")
            job = _Job(self._next_index, tag, audio, int(sample_rate), stream)
            self._next_index += 1
            self._pending += 1
            self._to_prepare.put_nowait(job)
        return job.future

    def results(self) -> Iterator[PipelineResult]:
        """Delivered results in submission order; blocks for the next one; ends after
        :meth:`close` once every job is delivered. One reader at a time.

        Raises ``RuntimeError`` when the pipeline was built with ``on_result`` (results then
        go to the callback only). Cancelled jobs are not yielded.
        """
        if self._on_result is not None:
            raise RuntimeError("results are delivered to on_result; results() has nothing to read")
        return self._iter_delivered()

    def close(self, cancel: bool = False) -> None:
        """Stop accepting jobs, finish them (or with ``cancel=True`` cancel every job the model
        has not started), and join the stage threads. Idempotent. A job already inside the
        model finishes and is delivered either way."""
        with self._lock:
            first = not self._closing
            self._closing = True
            if cancel:
                self._cancel.set()
            if first:
                self._to_prepare.put_nowait(_STOP)
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join()

    def __enter__(self) -> PipelinedTranscriber:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Drain on a normal exit; cancel when the block raised."""
        self.close(cancel=exc_type is not None)

    # --- stages -------------------------------------------------------------------------
    def _run_stage(self, work: Callable[[_Job], None], inbox: queue.Queue[Any], outbox: Any) -> None:
        while True:
            job = inbox.get()
            if job is not _STOP:
                try:
                    work(job)
                except BaseException:  # a bug here must not stop the thread and hang close()
                    log.exception("%s failed on job %d", threading.current_thread().name, job.index)
            if outbox is not None:
                outbox.put_nowait(job)
            elif job is _STOP:
                self._delivered.put(_STOP)
            if job is _STOP:
                return

    def _prepare(self, job: _Job) -> None:
        if self._cancel.is_set():
            job.future.cancel()
        if job.future.cancelled():
            job.audio = None
            return
        try:
            from voiceflow.audio.file import load_audio, to_model_rate

            if isinstance(job.audio, (str, os.PathLike)):  # the transcript says if it was cut short
                job.audio = load_audio(job.audio, cfg=self._guard_cfg)
            else:
                job.audio = to_model_rate(job.audio, job.sample_rate, "PipelinedTranscriber", cfg=self._guard_cfg)
        except BaseException as error:  # noqa: BLE001 - belongs to this job, delivered in order
            job.error = error
            job.audio = None

    def _transcribe(self, job: _Job) -> None:
        if self._cancel.is_set():
            job.future.cancel()
        stream, job.stream = job.stream, None
        if not job.future.set_running_or_notify_cancel():
            job.audio = None
            if stream is not None:
                stream.cancel()
            return
        if job.error is None:
            try:
                job.transcript = _finished(stream, job.audio, job.index) if stream is not None else None
                if job.transcript is None:
                    job.transcript = self._transcriber.transcribe(job.audio, MODEL_RATE)
            except BaseException as error:  # noqa: BLE001
                job.error = error
        elif stream is not None:
            stream.cancel()
        job.audio = None

    def _deliver(self, job: _Job) -> None:
        try:
            if job.future.cancelled():
                return
            if job.error is not None:
                job.future.set_exception(job.error)
            else:
                job.future.set_result(job.transcript)  # type: ignore[arg-type]
            result = PipelineResult(
                job.index, job.tag, job.transcript, job.error, time.perf_counter() - job.submitted
            )
            if self._on_result is None:
                self._delivered.put(result)
                return
            try:
                self._on_result(result)
            except Exception:
                log.exception("on_result raised for job %d (tag %r); pipeline continues", job.index, job.tag)
        finally:
            with self._lock:
                self._pending -= 1
            self._slots.release()

    # --- helpers ------------------------------------------------------------------------
    def _iter_delivered(self) -> Iterator[PipelineResult]:
        while True:
            item = self._delivered.get()
            if item is _STOP:
                self._delivered.put(_STOP)  # a later results() call ends at once too
                return
            yield item

    def _check_open(self) -> None:
        if self._closing:
            raise RuntimeError("PipelinedTranscriber is closed")


def _finished(stream: Any, audio: np.ndarray, index: int) -> Transcript | None:
    """``stream.finish()`` when the stream was fed all of ``audio`` (16 kHz) and wrote some text;
    else None and the caller transcribes ``audio``: when the stream missed some of it (the
    stream cancelled, the reason logged), its ``finish()`` failed (logged), or its text is empty
    (the one-shot path hears speech the stream may not: it lifts a quiet microphone's recording
    to speech level first; without speech it costs only its gate)."""
    missing_s = len(audio) / MODEL_RATE - stream.seconds
    if stream.lost_samples or stream.rejected_blocks or missing_s > STREAM_TOLERANCE_S:
        stream.cancel()
        log.warning("job %d: the live stream missed %.3f s of the utterance (%d samples lost, %d blocks "
                    "rejected); transcribing the recording instead", index, max(missing_s, 0.0),
                    stream.lost_samples, stream.rejected_blocks)
        return None
    try:
        transcript = stream.finish()
    except Exception as exc:  # noqa: BLE001 - the recording is still here: transcribe it
        log.warning("job %d: finishing the live stream failed (%s); transcribing the recording instead", index, exc)
        return None
    return transcript if transcript.text.strip() else None
