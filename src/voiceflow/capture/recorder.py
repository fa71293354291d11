"""``Recorder``: one always-open input stream with pre-roll, for push-to-talk capture.

The stream is opened once (:meth:`Recorder.open`) and keeps running.  Its callback writes every
block through the compiled ``RingBuffer.write_sanitized`` path: convert, downmix, repair NaN/inf
and clip straight into a float32 ring -- no array allocation, no logging, no exception escapes.
:meth:`~Recorder.start` marks the beginning of an utterance ``preroll_used_seconds`` *before*
the call (the first word is already in the ring when the key goes down); :meth:`~Recorder.stop`
returns the utterance as 16 kHz mono float32.  A recording never contains audio from before the
previous ``stop()``.

Long utterances: while recording, a drain thread copies new samples from the ring into blocks
taken from a preallocated pool (:class:`BlockPool`) well before the ring wraps, so an utterance
can be longer than the ring.  At ``max_seconds`` the utterance ends by itself: the audio up to
the limit is kept for ``stop()``, ``stats.max_reached`` is set and a warning is logged.  If the
drain thread ever falls more than the ring's headroom behind, the samples it missed are counted
in ``stats.lost_samples`` and logged -- never dropped silently.

Live consumers: ``start(on_audio=...)`` hands every drained piece of the utterance (pre-roll
first) to a callable, e.g. a :class:`~voiceflow.asr.stream.TranscriptStream`'s ``feed``, from
the drain thread -- which then drains every :data:`LIVE_DRAIN_INTERVAL` -- never from the
PortAudio callback, which stays allocation- and logging-free.  ``stop()`` hands over the last
piece before it returns.

Rates: the stream runs at ``samplerate`` (16 kHz by default) or, when the device refuses it, at
the device's default rate; ``stop()`` then resamples with soxr (outside the callback).

Threads: PortAudio's callback thread (writer), the drain thread (started by ``open()``, asleep
unless recording, joined by ``close()``), and the caller's thread.  The public methods may be
called from any one thread at a time.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

import voiceflow_core
from voiceflow_core._results import CLEAN as _CLEAN  # the kernels' shared all-zero counts
from voiceflow.audio.file import TARGET_RATE, resample_to_model_rate
from voiceflow.capture.devices import DeviceError, InputDevice, open_input_stream

__all__ = ["BlockPool", "CaptureStats", "DeviceError", "Recorder", "OUTPUT_RATE"]

log = logging.getLogger("voiceflow.capture")


OUTPUT_RATE = TARGET_RATE
"""Rate (Hz) of the audio :meth:`Recorder.stop` returns."""

RING_HEADROOM_SECONDS = 8.0
"""Ring capacity beyond the pre-roll: how far the drain thread may fall behind without loss."""

SPILL_BLOCK_SAMPLES = 1 << 16
"""Samples per pooled spill block (about 4 s at 16 kHz); the pool preallocates 30 s of them."""

_DRAIN_INTERVAL = 0.25  # seconds between drains while recording
LIVE_DRAIN_INTERVAL = 0.05
"""Seconds between drains while an ``on_audio`` consumer is attached (its latency)."""
_TIMING_SLOTS = 1024  # recent callback durations kept for the median / p99
_LEVEL_SECONDS = 0.05  # window of the level meter
_FIRST_BLOCK_TIMEOUT = 1.0  # open() waits at most this long for the first callback

INPUT_LOST_SECONDS = 3.0
"""An open stream that delivered no block for this long counts as lost (:attr:`Recorder.input_lost`)."""


@dataclass(frozen=True)
class CaptureStats:
    """A snapshot of a :class:`Recorder`'s counters (see :attr:`Recorder.stats`)."""

    blocks: int
    """Callbacks run since ``open()``."""
    frames: int
    """Frames received since ``open()`` (at the stream rate)."""
    input_overflows: int
    """Callbacks PortAudio flagged with ``input_overflow`` (audio lost before it reached us)."""
    input_underflows: int
    """Callbacks flagged with ``input_underflow``."""
    callback_errors: int
    """Exceptions caught inside the callback (the block is then lost; should stay 0)."""
    repaired_samples: int
    """Samples the sanitizer changed (NaN, inf, or beyond the clip limit)."""
    lost_samples: int
    """Samples of an utterance the drain thread missed because the ring wrapped (should stay 0)."""
    callback_ns_median: float
    """Median wall time of the recent callbacks, nanoseconds (NaN before the first block)."""
    callback_ns_p99: float
    """99th percentile of the recent callback times, nanoseconds."""
    peak: float
    """Level meter: largest ``|x|`` over the last 50 ms."""
    rms: float
    """Level meter: RMS over the last 50 ms."""
    utterances: int
    """Utterances returned by ``stop()`` since ``open()``."""
    max_reached: bool
    """The current (or last) utterance was ended by ``max_seconds``."""


class BlockPool:
    """Fixed-size float32 blocks, preallocated and reused (the spill store of long utterances).

    ``take()`` hands out a free block (allocating one only when the pool is empty); ``give()``
    returns it.  At most ``keep`` free blocks are retained, the rest are released to the
    allocator.  Not thread-safe: the recorder serialises access with its own lock.
    """

    def __init__(self, block_samples: int, preallocate: int, keep: int | None = None) -> None:
        if block_samples < 1 or preallocate < 0:
            raise ValueError("block_samples must be >= 1 and preallocate >= 0")
        self.block_samples = int(block_samples)
        self.keep = max(int(preallocate), 1) if keep is None else int(keep)
        self._free = [np.empty(self.block_samples, np.float32) for _ in range(preallocate)]
        self.allocated = preallocate
        """Blocks ever created by this pool."""

    def take(self) -> np.ndarray:
        if self._free:
            return self._free.pop()
        self.allocated += 1
        return np.empty(self.block_samples, np.float32)

    def give(self, block: np.ndarray) -> None:
        if len(self._free) < self.keep:
            self._free.append(block)

    @property
    def free(self) -> int:
        return len(self._free)


class _Spill:
    """The samples of one utterance, appended into pooled blocks."""

    def __init__(self, pool: BlockPool) -> None:
        self._pool = pool
        self._blocks: list[np.ndarray] = []
        self._fill = pool.block_samples  # samples used in the last block
        self.length = 0

    def extend(self, data: np.ndarray) -> None:
        size = self._pool.block_samples
        done = 0
        while done < data.shape[0]:
            if self._fill == size:
                self._blocks.append(self._pool.take())
                self._fill = 0
            n = min(size - self._fill, data.shape[0] - done)
            self._blocks[-1][self._fill : self._fill + n] = data[done : done + n]
            self._fill += n
            done += n
        self.length += done

    def collect(self) -> np.ndarray:
        """All samples as one new array; the blocks go back to the pool."""
        out = np.empty(self.length, np.float32)
        pos = 0
        for block in self._blocks:
            n = min(block.shape[0], self.length - pos)
            out[pos : pos + n] = block[:n]
            pos += n
        self.release()
        return out

    def release(self) -> None:
        for block in self._blocks:
            self._pool.give(block)
        self._blocks = []
        self._fill = self._pool.block_samples
        self.length = 0


class Recorder:
    """One always-open microphone stream with pre-roll; ``start()`` / ``stop()`` cut utterances.

    Args:
        device: input device index or name (any unique substring); ``None`` = the default input.
            ``voiceflow devices`` lists them.
        samplerate: rate (Hz) to open the stream at; ``None`` = the device's default rate.  If the
            device refuses it (PortAudio -9997) the stream opens at the device's default rate.
            :meth:`stop` always returns 16 kHz audio (soxr resampling when the rates differ).
        channels: channels to capture; ``None`` = mono, or the device's channels if it refuses
            mono (-9998).  Several channels are averaged into one inside the callback.
        blocksize: frames per callback; ``None`` = about 32 ms (512 frames at 16 kHz).
        preroll_seconds: audio kept from before ``start()`` (the ring holds this much plus
            :data:`RING_HEADROOM_SECONDS`).
        preroll_used_seconds: how much of it ``start()`` puts in front of the utterance by
            default (never reaching back before the previous ``stop()`` or ``open()``).
        max_seconds: an utterance that reaches this length ends by itself (see module docs).
        latency: PortAudio input latency: ``"low"``, ``"high"`` (default) or seconds.
        clip_limit: sanitizer clip limit (default ``Config().audio_clip_limit``, 100.0).

    Use as a context manager (``with Recorder() as rec:``) or call :meth:`open` / :meth:`close`.
    """

    def __init__(
        self,
        device: int | str | None = None,
        samplerate: int | None = 16000,
        channels: int | None = None,
        blocksize: int | None = None,
        preroll_seconds: float = 1.5,
        preroll_used_seconds: float = 0.8,
        max_seconds: float = 600.0,
        *,
        latency: str | float = "high",
        clip_limit: float | None = None,
    ) -> None:
        if not preroll_seconds >= 0 or not 0 <= preroll_used_seconds <= preroll_seconds:
            raise ValueError(
                "need preroll_seconds >= 0 and 0 <= preroll_used_seconds <= preroll_seconds, got "
                f"{preroll_seconds!r} and {preroll_used_seconds!r}"
            )
        if not max_seconds > 0:
            raise ValueError(f"max_seconds must be positive, got {max_seconds!r}")
        if blocksize is not None and blocksize < 1:
            raise ValueError(f"blocksize must be >= 1 or None, got {blocksize!r}")
        if clip_limit is None:
            from voiceflow.config import Config

            clip_limit = Config().audio_clip_limit
        if not clip_limit > 0:
            raise ValueError(f"clip_limit must be positive, got {clip_limit!r}")
        self._device_request = device
        self._samplerate_request = samplerate
        self._channels_request = channels
        self._blocksize_request = blocksize
        self.preroll_seconds = float(preroll_seconds)
        self.preroll_used_seconds = float(preroll_used_seconds)
        self.max_seconds = float(max_seconds)
        self._latency_request = latency
        self._clip_limit = float(clip_limit)

        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stream: Any = None
        self._ring: Any = None
        self._device: InputDevice | None = None
        self._rate = 0
        self._channels = 0
        self._drainer: threading.Thread | None = None
        self._closing = False
        self._reset_counters()

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> "Recorder":
        """A recorder with the settings of ``config.capture`` (a :class:`voiceflow.config.CaptureConfig`)
        and the config's clip limit; keyword ``overrides`` win."""
        section = config.capture
        settings = {
            "device": section.input_device,
            "samplerate": section.samplerate,
            "channels": section.channels,
            "blocksize": section.blocksize,
            "preroll_seconds": section.preroll_seconds,
            "preroll_used_seconds": section.preroll_used_seconds,
            "max_seconds": section.max_seconds,
            "latency": section.latency,
            "clip_limit": config.audio_clip_limit,
        }
        settings.update(overrides)
        return cls(**settings)

    def _reset_counters(self) -> None:
        self._blocks = 0
        self._frames = 0
        self._overflows = 0
        self._underflows = 0
        self._errors = 0
        self._repaired = 0
        self._durations = np.zeros(_TIMING_SLOTS, np.int64)
        self._lost = 0
        self._utterances = 0
        self._recording = False
        self._max_reached = False
        self._read_pos = 0  # ring position drained up to; between utterances, the pre-roll floor
        self._span = (0, 0)
        self._spill: _Spill | None = None
        self._max_samples = 0
        self._pool: BlockPool | None = None
        self._last_block_ns = time.perf_counter_ns()
        self._on_audio: Any = None
        self._on_audio_errors = 0

    # --- lifecycle ---------------------------------------------------------------------------
    def open(self) -> "Recorder":
        """Open and start the input stream (with the rate/channel fallbacks); returns ``self``
        once the first block has arrived (or after 1 s).

        Raises :class:`voiceflow.capture.devices.DeviceError` naming the device, the settings tried and
        the fix when the device cannot be opened.
        """
        if self._stream is not None:
            return self
        self._reset_counters()
        self._closing = False
        blocksize = self._blocksize_request
        opened = open_input_stream(
            self._device_request,
            self._samplerate_request,
            self._channels_request,
            callback=self._callback,
            blocksize=(lambda rate: blocksize or _default_blocksize(rate)),
            latency=self._latency_request,
        )
        self._device, self._rate, self._channels = opened.device, opened.samplerate, opened.channels
        if len(opened.attempts) > 1:
            log.info("input %s: %s", opened.device.describe(), "; ".join(opened.attempts))
        capacity = int(math.ceil((self.preroll_seconds + RING_HEADROOM_SECONDS) * self._rate))
        self._ring = voiceflow_core.RingBuffer(capacity)
        self._write = self._ring.write_sanitized
        self._scratch = np.empty(capacity, np.float32)
        self._level_scratch = np.empty(max(1, int(_LEVEL_SECONDS * self._rate)), np.float32)
        block = SPILL_BLOCK_SAMPLES
        self._pool = BlockPool(block, preallocate=max(1, int(math.ceil(30 * self._rate / block))))
        self._max_samples = int(round(self.max_seconds * self._rate))
        self._stream = opened.stream
        try:
            self._stream.start()
        except Exception as exc:  # sounddevice.PortAudioError
            stream, self._stream = self._stream, None
            stream.close()
            raise DeviceError(
                f"opened input device {opened.device.describe()} at {self._rate} Hz, "
                f"{self._channels} ch but could not start it: {exc}. Fix: check that no other "
                "program holds the device exclusively, or pick another with --device"
            ) from exc
        self._drainer = threading.Thread(target=self._drain_loop, name="voiceflow-capture-drain", daemon=True)
        self._drainer.start()
        deadline = time.monotonic() + _FIRST_BLOCK_TIMEOUT
        while self._blocks == 0 and time.monotonic() < deadline:
            time.sleep(0.005)  # return once audio flows, so that start() right away is well defined
        return self

    def close(self) -> None:
        """Stop and close the stream, end the drain thread; an unfinished utterance is discarded.
        Idempotent."""
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
            finally:
                stream.close()
        with self._lock:
            self._closing = True
            self._recording = False
            if self._spill is not None:
                self._spill.release()
                self._spill = None
            self._wake.notify_all()
        if self._drainer is not None:
            self._drainer.join()
            self._drainer = None

    def __enter__(self) -> "Recorder":
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the audio callback (PortAudio's thread) -----------------------------------------------
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        began = time.perf_counter_ns()
        try:
            if status:
                if status.input_overflow:
                    self._overflows += 1
                if status.input_underflow:
                    self._underflows += 1
            counts = self._write(indata, self._clip_limit)
            if counts is not _CLEAN:
                self._repaired += counts.total
            self._frames += frames
        except BaseException:  # noqa: BLE001 - the callback must never raise
            self._errors += 1
        self._durations[self._blocks % _TIMING_SLOTS] = time.perf_counter_ns() - began
        self._last_block_ns = began
        self._blocks += 1

    # --- utterances ----------------------------------------------------------------------------
    def start(self, preroll_seconds: float | None = None, *, on_audio: Any = None) -> None:
        """Begin an utterance, including up to ``preroll_seconds`` (default
        ``preroll_used_seconds``, at most ``preroll_seconds`` of the constructor) of audio from
        before this call -- but nothing from before the previous ``stop()`` or ``open()``.

        ``on_audio(block)``: called on the drain thread with each new piece of the utterance,
        1-D float32 at :attr:`stream_samplerate` (a view valid only during the call: copy it,
        as ``TranscriptStream.feed`` does), until ``stop()``/``cancel()``.  It should return
        quickly (it holds the recorder's lock); an exception it raises is logged and the piece
        is still kept for ``stop()``.

        Raises ``RuntimeError`` when the recorder is not open or already recording.
        """
        used = self.preroll_used_seconds if preroll_seconds is None else float(preroll_seconds)
        if not 0 <= used <= self.preroll_seconds:
            raise ValueError(f"preroll_seconds must be within [0, {self.preroll_seconds}], got {used!r}")
        with self._lock:
            self._check_open()
            if self._recording or self._spill is not None:
                raise RuntimeError("already recording: call stop() first")
            now = self._ring.total
            held_from = now - self._ring.size
            begin = max(now - int(round(used * self._rate)), self._read_pos, held_from)
            self._read_pos = begin
            self._span = (begin, begin)
            self._spill = _Spill(self._pool)
            self._max_reached = False
            self._on_audio = on_audio
            self._recording = True
            self._wake.notify_all()

    def stop(self) -> np.ndarray:
        """End the utterance and return it: 1-D float32 at 16 kHz, mono.

        Includes everything the stream delivered up to this call (the device's input latency,
        :attr:`latency`, is still in flight and belongs to the next recording's pre-roll floor).
        After ``max_seconds`` the utterance had already ended: this returns the audio up to the
        limit.  Raises ``RuntimeError`` when no utterance was started.
        """
        with self._lock:
            self._check_open()
            if self._spill is None:
                raise RuntimeError("not recording: call start() first")
            if self._recording:
                self._drain_locked()
                self._recording = False
            self._on_audio = None
            spill, self._spill = self._spill, None
            self._span = (self._span[0], self._read_pos)
            self._utterances += 1
            audio = spill.collect()
        return resample_to_model_rate(audio, self._rate)

    def cancel(self) -> None:
        """Discard the current utterance (if any) without returning it."""
        with self._lock:
            if self._spill is not None:
                self._drain_locked()
                self._recording = False
                self._on_audio = None
                self._spill.release()
                self._spill = None

    # --- drain thread --------------------------------------------------------------------------
    def _drain_loop(self) -> None:
        with self._lock:
            while not self._closing:
                if self._recording:
                    self._drain_locked()
                    self._wake.wait(_DRAIN_INTERVAL if self._on_audio is None else LIVE_DRAIN_INTERVAL)
                else:
                    self._wake.wait()

    def _drain_locked(self) -> None:
        """Move the samples written since ``_read_pos`` into the utterance (lock held)."""
        if not self._recording:
            return
        data, total = self._ring.since(self._read_pos, out=self._scratch)
        missed = (total - self._read_pos) - data.shape[0]
        if missed > 0:
            self._lost += missed
            log.warning(
                "capture fell %.2f s behind; %d samples of the utterance were overwritten "
                "before they could be saved (stats.lost_samples)", missed / self._rate, missed,
            )
        room = self._max_samples - self._spill.length
        if data.shape[0] >= room:
            self._spill.extend(data[:room])
            self._hand_over(data[:room])
            self._read_pos = total - (data.shape[0] - room)
            self._span = (self._span[0], self._read_pos)
            self._recording = False
            self._max_reached = True
            log.warning(
                "utterance reached max_seconds=%g s and was ended; stop() returns the audio up "
                "to the limit", self.max_seconds,
            )
            return
        self._spill.extend(data)
        self._hand_over(data)
        self._read_pos = total

    def _hand_over(self, data: np.ndarray) -> None:
        """Give ``data`` to the ``on_audio`` consumer (drain thread, lock held)."""
        if self._on_audio is None or not data.shape[0]:
            return
        try:
            self._on_audio(data)
        except Exception as exc:  # the recording goes on; stop() still returns everything
            self._on_audio_errors += 1
            if self._on_audio_errors == 1:
                log.warning("on_audio consumer failed (%s); the recording continues", exc)

    # --- state -----------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._stream is None:
            raise RuntimeError("Recorder is not open: call open() or use it as a context manager")

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    @property
    def input_lost(self) -> bool:
        """The open stream stopped delivering audio: PortAudio ended it (device unplugged,
        sound server gone) or no block arrived for :data:`INPUT_LOST_SECONDS`.  ``stop()``
        still returns what was captured; ``close()`` + ``open()`` reopens the device."""
        stream = self._stream
        if stream is None:
            return False
        if not stream.active:
            return True
        return time.perf_counter_ns() - self._last_block_ns > INPUT_LOST_SECONDS * 1e9

    @property
    def is_recording(self) -> bool:
        """An utterance is being recorded (False again once ``max_seconds`` ended it)."""
        return self._recording

    @property
    def utterance_seconds(self) -> float:
        """Length of the current utterance so far (0.0 when none), seconds."""
        with self._lock:
            if self._spill is None:
                return 0.0
            end = self._ring.total if self._recording else self._read_pos
            return (self._spill.length + max(0, end - self._read_pos)) / self._rate

    @property
    def device(self) -> InputDevice | None:
        """The device the open stream uses."""
        return self._device

    @property
    def samplerate(self) -> int:
        """Rate of the audio :meth:`stop` returns: always 16000."""
        return OUTPUT_RATE

    @property
    def stream_samplerate(self) -> int:
        """Rate the stream (and the ring) runs at; 0 before ``open()``."""
        return self._rate

    @property
    def channels(self) -> int:
        """Channels the stream delivers (downmixed in the callback); 0 before ``open()``."""
        return self._channels

    @property
    def latency(self) -> float:
        """The stream's input latency in seconds (0.0 before ``open()``)."""
        return float(self._stream.latency) if self._stream is not None else 0.0

    @property
    def last_span(self) -> tuple[int, int]:
        """``(first, end)`` stream-sample positions (since ``open()``) of the last utterance."""
        return self._span

    def recent(self, seconds: float, out: np.ndarray | None = None) -> np.ndarray:
        """The newest ``seconds`` of captured audio at the stream rate (a copy; for meters/VAD)."""
        self._check_open()
        return self._ring.latest(int(round(seconds * self._rate)), out=out)

    @property
    def stats(self) -> CaptureStats:
        """Counters since ``open()``, callback timing and the current level."""
        blocks = self._blocks
        recent = self._durations[: min(blocks, _TIMING_SLOTS)]
        if recent.size:
            median, p99 = (float(v) for v in np.percentile(recent, [50, 99]))
        else:
            median = p99 = math.nan
        peak = rms = 0.0
        if self._ring is not None:
            window = self._ring.latest(self._level_scratch.shape[0], out=self._level_scratch)
            if window.size:
                peak = voiceflow_core.scan(window, math.inf).peak
                rms = float(voiceflow_core.frame_energy(window, window.size, window.size)[0])
        return CaptureStats(
            blocks=blocks, frames=self._frames, input_overflows=self._overflows,
            input_underflows=self._underflows, callback_errors=self._errors,
            repaired_samples=self._repaired, lost_samples=self._lost,
            callback_ns_median=median, callback_ns_p99=p99, peak=peak, rms=rms,
            utterances=self._utterances, max_reached=self._max_reached,
        )

    def __repr__(self) -> str:
        state = "closed" if self._stream is None else ("recording" if self._recording else "open")
        where = self._device.describe() if self._device else repr(self._device_request)
        return f"Recorder({where}, {self._rate or self._samplerate_request} Hz, {state})"


def _default_blocksize(rate: int) -> int:
    """About 32 ms: 512 frames at 16 kHz."""
    return max(64, int(round(rate * 0.032)))
