"""``Transcriber``: faster-whisper's model driven for low release-to-text latency.

One call, :meth:`Transcriber.transcribe`, takes an utterance (array at any rate, or a file path)
and returns a :class:`Transcript`.  What happens inside, in order:

1. **prepare** -- ``voiceflow.audio.file.to_model_rate`` (behind ``read_audio`` for a path) sets
   NaN/inf samples to 0, runs the audio guard (dtype, downmix, clipping or rejection) and
   resamples to 16 kHz;
2. **gate** -- if the voice-activity backend finds no speech the model is not run at all and the
   transcript is empty (no "Thank you." on silence);
3. **split** -- audio longer than ``max_chunk_s`` is cut at pauses into chunks, decoded in
   parallel (one per model replica, ``workers``);
4. **adaptive context** -- each chunk is encoded with only ``context_pad_s`` of silence after
   its speech and decoded with a token budget bounded by its duration; a decode that loops, runs away,
   puts text in the padding or is unlikely is redone with ``retry_pad_s`` of silence, and if
   that is judged wrong too, with Whisper's full 30 s window (``voiceflow.asr.context``);
5. **guards** -- windows judged silent (high no-speech probability and low log-probability)
   are dropped; repeated segments and looped phrases are collapsed.

Nothing is carried from one call to the next unless the caller passes ``prompt`` or
``hotwords``.  Threading: see :class:`Transcriber`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from voiceflow.asr import context as _asr_context
from voiceflow.asr.chunking import make_vad
from voiceflow.asr.decode import MAX_LENGTH, DecodeOptions, WindowDecoder, WindowResult, is_silent
from voiceflow.asr.features import silence_padded_log_mel
from voiceflow.asr.text import collapse_loops, words
from voiceflow.audio.file import read_audio, to_model_rate
from voiceflow.config import Config
from voiceflow.asr.models import DEFAULT_MODEL, resolve_model

SAMPLE_RATE = 16000

logger = logging.getLogger(__name__)

__all__ = ["Segment", "Timings", "Transcript", "Transcriber"]


@dataclass(frozen=True)
class Segment:
    """A piece of text with its time span in seconds from the start of the audio."""

    start: float
    end: float
    text: str
    no_speech_prob: float
    avg_logprob: float


@dataclass(frozen=True)
class Timings:
    """Where the time of one :meth:`Transcriber.transcribe` call went, in seconds.

    ``features``: log-mel extraction; ``encode`` / ``decode``: the model; ``total``: the whole
    call, including decoding/resampling the input and the voice-activity gate.  The first three
    are summed over the chunks of long audio, which are decoded in parallel (``workers``), so
    they can add up to more than ``total``.
    """

    features: float
    encode: float
    decode: float
    total: float


@dataclass(frozen=True)
class Transcript:
    """The result of one :meth:`Transcriber.transcribe` call."""

    text: str
    segments: tuple[Segment, ...]
    duration: float
    """Seconds of audio transcribed (after resampling to 16 kHz)."""
    timings: Timings
    mode: str

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict``/``list``/``float``/``str`` form (JSON-serialisable)."""
        data = asdict(self)
        data["segments"] = [dict(s) for s in data["segments"]]
        return data


class Transcriber:
    """Speech to text with a Whisper model, tuned for the wait after a push-to-talk release.

    Args:
        model: ``"tiny.en"`` (bundled, offline), another Whisper name (downloaded once), or a
            model directory; see :func:`voiceflow.asr.models.resolve_model`.
        mode: ``"quality"``, ``"balanced"`` or ``"speed"`` (presets in ``voiceflow.config.MODES``).
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"`` or ``"cuda"``.
        compute_type: ``"auto"`` (``int8`` on CPU, ``float16`` on CUDA) or any CTranslate2 type.
        cpu_threads: threads per encode/decode; ``None`` = 1 with the adaptive context (its
            time is mostly the decoder, which one thread runs fastest, and it leaves cores for
            concurrent callers and the audio thread), 2 (at most the usable cores) with
            ``context="full"``/``"both"``, whose 30 s encoder is compute-bound and splits well.
        config: a full :class:`~voiceflow.config.Config`; replaces ``mode``'s preset.
        **overrides: any ``Config`` or ``AsrConfig`` field, applied on top.

    Construction loads the model and warms it up with a real decode, so the first
    :meth:`transcribe` is not cold.

    Threading: :meth:`transcribe` may be called from several threads at once; every result is
    complete and independent.  With ``workers > 1`` (default 2) CTranslate2 runs that many
    decodes in parallel and no lock is taken.  With ``workers=1`` and ``locking="auto"``
    (default) a single calling thread takes no lock; once a second thread calls, each whole
    transcription (encode and every decode step) runs under one lock, so utterances finish
    first-come-first-served instead of interleaving.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_MODEL,
        mode: str = "balanced",
        device: str = "auto",
        compute_type: str = "auto",
        cpu_threads: int | None = None,
        config: Config | None = None,
        **overrides: Any,
    ) -> None:
        if config is None:
            config = Config.for_mode(mode, **overrides)
        elif overrides:
            config = config.replace(**overrides)
        self.config: Config = config
        self.mode = mode
        asr = config.asr
        if asr.context not in ("adaptive", "full", "both"):
            raise ValueError(f"context must be 'adaptive', 'full' or 'both', not {asr.context!r}")
        if asr.locking not in ("auto", "always", "never"):
            raise ValueError(f"locking must be 'auto', 'always' or 'never', not {asr.locking!r}")
        if asr.beam_size < 1 or asr.workers < 1 or not asr.temperatures:
            raise ValueError("beam_size and workers must be >= 1 and temperatures non-empty")
        if not 1.0 <= asr.max_chunk_s <= 30.0:
            raise ValueError(f"max_chunk_s must be within [1, 30] (Whisper's window), not {asr.max_chunk_s}")

        from faster_whisper import WhisperModel

        self.model_path = resolve_model(model)
        self.device = _pick_device(device)
        self.compute_type = _pick_compute_type(compute_type, self.device)
        self.cpu_threads = _default_threads(asr.context) if cpu_threads is None else int(cpu_threads)
        self._whisper = WhisperModel(
            self.model_path,
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=self.cpu_threads,
            num_workers=asr.workers,
        )
        self._decoder = WindowDecoder(self._whisper)
        self._n_mels = self._whisper.model.n_mels
        self._vad = make_vad(asr.vad, margin_db=asr.speech_margin_db, floor_dbfs=asr.silence_floor_dbfs)
        self._lock = threading.Lock()
        self._first_thread: int | None = None
        self._shared = asr.locking == "always"
        self._closed = False
        self._warm_up()

    # --- public API -------------------------------------------------------------------------
    def transcribe(
        self,
        audio: Any,
        sample_rate: int = SAMPLE_RATE,
        *,
        prompt: str | None = None,
        hotwords: str | None = None,
    ) -> Transcript:
        """Transcribe one utterance.

        Args:
            audio: 1-D ``(frames,)`` or 2-D ``(frames, channels)`` array of any supported dtype
                (float32 in [-1, 1] or int16 PCM typically), or a path to an audio file.
            sample_rate: Hz of an array input (ignored for a path); resampled to 16 kHz.
            prompt: text preceding this utterance (style, spelling); not kept after the call.
            hotwords: words/phrases to favour; not kept after the call.

        Returns a :class:`Transcript`; empty text for silence, noise or empty input.
        Raises ``ValueError`` for a bad array/rate or an empty, truncated or undecodable file
        (:class:`voiceflow.audio.file.AudioFileError`), ``FileNotFoundError`` /
        ``IsADirectoryError`` for a missing path or a folder, ``RuntimeError`` after
        :meth:`close`.  Files are read as :func:`voiceflow.audio.file.read_audio` reads them
        (the same audio guard and policy as arrays).
        """
        started = time.perf_counter()
        if self._closed:
            raise RuntimeError("Transcriber is closed")
        samples = self._prepare(audio, sample_rate)
        with self._turn():
            return self._transcribe_samples(samples, started, prompt=prompt, hotwords=hotwords)

    def stream(self, sample_rate: int = SAMPLE_RATE, on_update: Any = None) -> "TranscriptStream":
        """A :class:`voiceflow.asr.stream.TranscriptStream` on this model: ``feed()`` audio while
        the user speaks, read the committed ``text``, ``finish()`` for the final
        :class:`Transcript` (see ``docs/stream.md``).  ``on_update(update)`` runs on the
        stream's worker thread whenever the text changes."""
        if self._closed:
            raise RuntimeError("Transcriber is closed")
        from voiceflow.asr.stream import TranscriptStream

        return TranscriptStream(self, sample_rate=sample_rate, on_update=on_update)

    def close(self) -> None:
        """Release the model.  Further :meth:`transcribe` calls raise ``RuntimeError``."""
        with self._lock:
            self._closed = True
            self._whisper = None
            self._decoder = None

    def __enter__(self) -> Transcriber:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Transcriber(model={self.model_path!r}, mode={self.mode!r}, device={self.device!r}, "
            f"compute_type={self.compute_type!r}, cpu_threads={self.cpu_threads})"
        )

    # --- input ------------------------------------------------------------------------------
    def _prepare(self, audio: Any, sample_rate: int) -> np.ndarray:
        """16 kHz mono float32 samples, repaired; raises ValueError / FileNotFoundError."""
        if isinstance(audio, (str, bytes, os.PathLike)):
            return read_audio(os.fsdecode(audio), cfg=self.config)
        if not isinstance(audio, np.ndarray):
            raise ValueError(f"audio must be a numpy array or a file path, not {type(audio).__name__}")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive integer (Hz), not {sample_rate!r}")
        if audio.ndim not in (1, 2):
            raise ValueError(f"audio must be 1-D (frames,) or 2-D (frames, channels), got shape {audio.shape}")
        if audio.size == 0:
            return np.zeros(0, dtype=np.float32)
        return to_model_rate(audio, int(sample_rate), "Transcriber.transcribe", cfg=self.config)

    # --- the model path ----------------------------------------------------------------------
    def _transcribe_samples(
        self,
        samples: np.ndarray,
        started: float,
        *,
        prompt: str | None = None,
        hotwords: str | None = None,
    ) -> Transcript:
        decoder = self._decoder
        if decoder is None:
            raise RuntimeError("Transcriber is closed")
        duration = len(samples) / SAMPLE_RATE
        clock = _Clock()
        segments: list[Segment] = []
        speech_end = self._vad.speech_end_s(samples) if len(samples) else None
        if speech_end is not None:
            prompt_tokens = decoder.prompt(prompt, hotwords, timestamps=self.config.asr.timestamps)
            max_samples = int(self.config.asr.max_chunk_s * SAMPLE_RATE)
            cuts = self._vad.cut_points(samples, max_samples)
            if cuts:  # each chunk's own speech end; chunks without speech are skipped
                bounds = [0, *cuts, len(samples)]
                ends = [(lo, hi, self._vad.speech_end_s(samples[lo:hi])) for lo, hi in zip(bounds, bounds[1:])]
                spans = [(lo, hi, end) for lo, hi, end in ends if end is not None]
            else:
                spans = [(0, len(samples), speech_end)]
            clocks = [_Clock() for _ in spans]

            def decode(i: int) -> WindowResult:
                lo, hi, end = spans[i]
                return self._decode_chunk(decoder, samples[lo:hi], end, prompt_tokens, clocks[i])

            parallel = min(self.config.asr.workers, len(spans))
            if parallel > 1:  # chunks are independent: one per CTranslate2 replica, longest first
                longest_first = sorted(range(len(spans)), key=lambda i: spans[i][0] - spans[i][1])
                with ThreadPoolExecutor(parallel, thread_name_prefix="voiceflow-chunk") as pool:
                    futures = {i: pool.submit(decode, i) for i in longest_first}
                    results = [futures[i].result() for i in range(len(spans))]
            else:
                results = [decode(i) for i in range(len(spans))]
            for (lo, hi, _), result, chunk_clock in zip(spans, results, clocks):
                clock.merge(chunk_clock)
                segments.extend(self._accept(result, offset=lo / SAMPLE_RATE, length=(hi - lo) / SAMPLE_RATE))
        segments = _dedupe(segments)
        text = " ".join(s.text for s in segments)
        total = time.perf_counter() - started
        return Transcript(
            text=text,
            segments=tuple(segments),
            duration=duration,
            timings=Timings(clock.features, clock.encode, clock.decode, total),
            mode=self.mode,
        )

    def _decode_chunk(self, decoder: WindowDecoder, chunk: np.ndarray, speech_end: float, prompt: list[int],
                      clock: "_Clock") -> WindowResult:
        """Adaptive context first, full window when the adaptive decode looks wrong.

        ``speech_end``: seconds into ``chunk`` where the VAD heard its speech end."""
        asr = self.config.asr
        duration = len(chunk) / SAMPLE_RATE
        full_frames = _asr_context.FULL_FRAMES

        def frames_with_pad(pad_s: float) -> int:
            """Window for the chunk plus ``pad_s`` of silence after its speech."""
            return _asr_context.window_frames(
                _asr_context.content_frames(len(chunk)),
                _asr_context.synthetic_pad_s(pad_s, duration, speech_end),
            )

        frames = frames_with_pad(asr.context_pad_s) if asr.context == "adaptive" else full_frames
        t0 = time.perf_counter()
        mel = silence_padded_log_mel(chunk, full_frames, self._n_mels)
        clock.features += time.perf_counter() - t0
        options = self._options(
            _asr_context.token_budget(duration, asr.max_tokens_per_s, asr.max_tokens_base, MAX_LENGTH // 2)
        )
        if frames < full_frames:
            first = decoder.decode_window(
                mel[:, :frames],
                prompt,
                _first_temperature(options),
                duration,
            )
            clock.add(first)
            reason = self._judge(first, duration, speech_end)
            if reason is None or not asr.fallback_to_full:
                return first
            tried = [(reason, first)]
            if asr.retry_pad_s is not None and asr.retry_pad_s > asr.context_pad_s:
                # cheaper rung first: most failures of a short window are cured by more silence
                retry_frames = frames_with_pad(asr.retry_pad_s)
                if frames < retry_frames < full_frames:
                    logger.debug("adaptive context (%d frames) rejected: %s; %d frames", frames, reason, retry_frames)
                    retry = decoder.decode_window(mel[:, :retry_frames], prompt, _first_temperature(options), duration)
                    clock.add(retry)
                    retry_reason = self._judge(retry, duration, speech_end)
                    if retry_reason is None:
                        return retry
                    tried.append((retry_reason, retry))
            logger.debug("adaptive context rejected: %s; full window", [r for r, _ in tried])
            full = decoder.decode_window(mel, prompt, options, duration)
            clock.add(full)
            # an adaptive decode rejected only as unlikely stays if the full window is no likelier
            unlikely = [r for reason, r in tried if reason == "low_logprob"]
            best = max(unlikely, key=lambda r: r.avg_logprob, default=None)
            if best is not None and best.avg_logprob >= full.avg_logprob:
                return best
            return full
        full = decoder.decode_window(mel, prompt, options, duration)
        clock.add(full)
        if asr.context == "both":  # the likelier of the two windows
            short_frames = frames_with_pad(asr.context_pad_s)
            if short_frames < full_frames:
                short = decoder.decode_window(mel[:, :short_frames], prompt, options, duration)
                clock.add(short)
                if short.avg_logprob > full.avg_logprob and self._judge(short, duration, speech_end) is None:
                    return short
        return full

    def _judge(self, result: WindowResult, duration: float, speech_end: float | None) -> str | None:
        asr = self.config.asr
        return _asr_context.judge(
            result, duration, speech_end_s=speech_end,
            compression_threshold=asr.compression_ratio_threshold,
            log_prob_threshold=asr.log_prob_threshold,
        )

    def _accept(self, result: WindowResult, *, offset: float, length: float) -> list[Segment]:
        """Public segments of one window: silent windows dropped, loops collapsed, times
        clamped to the chunk (Whisper often ends the last segment in the padding)."""
        if is_silent(result.no_speech_prob, result.avg_logprob, self.config.asr):
            return []
        out = []
        for raw in result.segments:
            text = collapse_loops(raw.text.strip())
            if text:
                end = min(raw.end, length)
                out.append(Segment(
                    start=round(offset + min(raw.start, end), 3),
                    end=round(offset + end, 3),
                    text=text,
                    no_speech_prob=result.no_speech_prob,
                    avg_logprob=result.avg_logprob,
                ))
        return out

    # --- warm-up and locking ----------------------------------------------------------------
    def _warm_up(self) -> None:
        """Encode and decode 1 s of synthetic voiced sound in the window a short utterance gets
        with adaptive context (CTranslate2 prepares its kernels and buffers on the first call;
        a short window does that without paying for a 30 s encode, also in ``context="full"``)."""
        t = np.arange(SAMPLE_RATE, dtype=np.float64) / SAMPLE_RATE
        voice = sum(np.sin(2 * np.pi * 140.0 * k * t) / k for k in range(1, 8))
        envelope = 0.5 * (1.0 - np.cos(2 * np.pi * 3.0 * t))  # three syllable-like bursts
        samples = (0.1 * voice * envelope).astype(np.float32)
        frames = _asr_context.window_frames(_asr_context.content_frames(len(samples)), self.config.asr.context_pad_s)
        self._decoder.decode_window(
            silence_padded_log_mel(samples, frames, self._n_mels),
            self._decoder.prompt(timestamps=self.config.asr.timestamps),
            _first_temperature(self._options(budget=8)),
            1.0,
        )

    def _options(self, budget: int) -> DecodeOptions:
        """This transcriber's decoding settings for a window allowed ``budget`` new tokens."""
        asr = self.config.asr
        return DecodeOptions(
            beam_size=asr.beam_size,
            temperatures=asr.temperatures,
            best_of=asr.best_of,
            budget=budget,
            log_prob_threshold=asr.log_prob_threshold,
            no_speech_threshold=asr.no_speech_threshold,
            compression_ratio_threshold=asr.compression_ratio_threshold,
            beam_below_logprob=asr.beam_below_logprob,
        )

    def _turn(self):
        """The lock for this call, or a no-op (see the class docstring)."""
        asr = self.config.asr
        if asr.locking == "never" or (asr.locking == "auto" and asr.workers > 1):
            return contextlib.nullcontext()
        if not self._shared:
            me = threading.get_ident()
            if self._first_thread is None:
                self._first_thread = me
            if self._first_thread == me:
                return contextlib.nullcontext()
            self._shared = True  # a second thread: serialise from now on
        return self._lock


class _Clock:
    __slots__ = ("features", "encode", "decode")

    def __init__(self) -> None:
        self.features = self.encode = self.decode = 0.0

    def add(self, result: WindowResult) -> None:
        self.encode += result.encode_s
        self.decode += result.decode_s

    def merge(self, other: "_Clock") -> None:
        self.features += other.features
        self.encode += other.encode
        self.decode += other.decode


def _first_temperature(options: DecodeOptions) -> DecodeOptions:
    return replace(options, temperatures=options.temperatures[:1])


def _dedupe(segments: list[Segment]) -> list[Segment]:
    """Drop a segment whose words repeat the previous segment's (a decoder loop)."""
    out: list[Segment] = []
    for seg in segments:
        if out and words(seg.text) and words(seg.text) == words(out[-1].text):
            continue
        out.append(seg)
    return out


def _default_threads(context: str) -> int:
    """1 for the adaptive context; 2 (at most the usable cores) when every call encodes 30 s."""
    if context == "adaptive":
        return 1
    try:
        cores = len(os.sched_getaffinity(0))  # what this process may run on, not the machine
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return min(2, cores)


def _pick_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', not {device!r}")
    if device != "auto":
        return device
    import ctranslate2

    try:
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:
        return "cpu"


def _pick_compute_type(compute_type: str, device: str) -> str:
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"
