"""``Transcriber``: faster-whisper's model driven for low release-to-text latency.

One call, :meth:`Transcriber.transcribe`, takes an utterance (array at any rate, or a file path)
and returns a :class:`Transcript`.  What happens inside, in order:

1. **prepare** -- ``voiceflow.audio.file.to_model_rate`` (behind ``read_audio`` for a path) sets
   NaN/inf samples to 0, runs the audio guard (dtype, downmix, clipping or rejection) and
   resamples to 16 kHz;
2. **gate** -- a recording quieter than speech at a usual gain (a quiet microphone) is first
   lifted to speech level (``voiceflow.asr.chunking.at_speech_level``; Whisper hears it alike);
   if the voice-activity backend finds no speech the model is not run at all and the
   transcript is empty (no "Thank you." on silence); where it finds speech only once lifted,
   only sure decodes are kept (a quiet room's breath is not a quiet talker);
3. **split** -- audio longer than ``max_chunk_s`` is cut at pauses into chunks, decoded in
   parallel (one per model replica, ``workers``);
4. **adaptive context** -- each chunk is encoded with only ``context_pad_s`` of silence after
   its speech and decoded with a token budget bounded by its duration; a decode that loops, runs away,
   puts text in the padding or is unlikely is redone with ``retry_pad_s`` of silence, and if
   that is judged wrong too, with Whisper's full 30 s window (``voiceflow.asr.context``);
5. **guards** -- windows judged silent (high no-speech probability and low log-probability)
   are dropped; repeated segments and looped phrases are collapsed;
6. **hotwords** -- passed to the decoder as faster-whisper does (the previous-context section),
   then written as the caller spells them (``voiceflow.asr.text.respell_hotwords``).

Nothing is carried from one call to the next unless the caller passes ``prompt`` or
``hotwords``.  Threading: see :class:`Transcriber`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from voiceflow.asr import context as _asr_context
from voiceflow.asr.chunking import FRAME, HOP, EnergyVad, at_speech_level, level_db, make_vad, speech_seconds
from voiceflow.asr.decode import MAX_LENGTH, DecodeOptions, WindowDecoder, WindowResult, is_confident, is_silent
from voiceflow.asr.features import silence_padded_log_mel
from voiceflow.asr.text import collapse_loops, repetitions_reproduced, respell_hotwords, words
from voiceflow.audio.file import LoadedAudio, TruncatedAudioWarning, load_audio, to_model_rate
from voiceflow.config import Config
from voiceflow.asr.models import DEFAULT_MODEL, resolve_model

if TYPE_CHECKING:
    from voiceflow.asr.stream import TranscriptStream

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
    truncated: bool = False
    """The file was cut short or damaged: this is the transcript of the part that could be
    decoded (see :func:`voiceflow.audio.file.load_audio`)."""

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
        self._streams: weakref.WeakSet = weakref.WeakSet()  # streams made by stream(), settled by close()
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
                (float32 in [-1, 1] or int16 PCM typically), a path to an audio file, or what
                :func:`voiceflow.audio.file.load_audio` returned (16 kHz; ``sample_rate``
                ignored).
            sample_rate: Hz of an array input (ignored for a path); resampled to 16 kHz.
            prompt: text preceding this utterance (style, spelling); not kept after the call.
            hotwords: words/phrases to favour; not kept after the call.

        Returns a :class:`Transcript`; empty text for silence, noise or empty input.  A file cut
        short or damaged part-way gives the transcript of what could be decoded, with
        ``truncated=True`` (and, for a path, a :class:`~voiceflow.audio.file.TruncatedAudioWarning`).
        Raises ``ValueError`` for a bad array/rate or an empty or undecodable file
        (:class:`voiceflow.audio.file.AudioFileError`), ``FileNotFoundError`` /
        ``IsADirectoryError`` for a missing path or a folder, ``RuntimeError`` after
        :meth:`close`.  Files are read as :func:`voiceflow.audio.file.read_audio` reads them
        (the same audio guard and policy as arrays).
        """
        started = time.perf_counter()
        if self._closed:
            raise RuntimeError("Transcriber is closed")
        samples, truncated = self._prepare(audio, sample_rate)
        with self._turn():
            transcript = self._transcribe_samples(samples, started, prompt=prompt, hotwords=hotwords)
        return replace(transcript, truncated=True) if truncated else transcript

    def stream(self, sample_rate: int = SAMPLE_RATE, on_update: Any = None, *, prompt: str | None = None,
               hotwords: str | None = None) -> "TranscriptStream":
        """A :class:`voiceflow.asr.stream.TranscriptStream` on this model: ``feed()`` audio while
        the user speaks, read the committed ``text``, ``finish()`` for the final
        :class:`Transcript` (see ``docs/stream.md``).  ``on_update(update)`` runs on the
        stream's worker thread whenever the text changes; ``prompt`` and ``hotwords`` as for
        :meth:`transcribe`."""
        if self._closed:
            raise RuntimeError("Transcriber is closed")
        from voiceflow.asr.stream import TranscriptStream

        stream = TranscriptStream(self, sample_rate=sample_rate, on_update=on_update, prompt=prompt, hotwords=hotwords)
        self._streams.add(stream)
        return stream

    def close(self) -> None:
        """Release the model.  Further :meth:`transcribe` calls raise ``RuntimeError``.  Open
        streams are cancelled, and the decodes their threads still run (a finished stream's
        worker or a tail decode that lost the race) are waited for: the model is not released
        under a running decode."""
        for stream in list(self._streams):
            stream._settle()
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
    def _prepare(self, audio: Any, sample_rate: int) -> tuple[np.ndarray, bool]:
        """16 kHz mono float32 samples, repaired, and whether the file they came from was cut
        short; raises ValueError / FileNotFoundError."""
        if isinstance(audio, LoadedAudio):
            return audio.samples, audio.truncated is not None
        if isinstance(audio, (str, bytes, os.PathLike)):
            loaded = load_audio(os.fsdecode(audio), cfg=self.config)
            if loaded.truncated is not None:
                warnings.warn(loaded.truncated, TruncatedAudioWarning, stacklevel=3)
            return loaded.samples, loaded.truncated is not None
        given = type(audio).__name__
        if isinstance(audio, (list, tuple, memoryview)):  # sequences of numbers, as the audio guard takes them
            audio = np.asarray(audio)
            if audio.dtype.kind not in "iuf":
                audio = None
        if not isinstance(audio, np.ndarray):
            raise ValueError(f"audio must be samples (numpy array, list of numbers) or a file path, not {given}")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive integer (Hz), not {sample_rate!r}")
        if audio.ndim not in (1, 2):
            raise ValueError(f"audio must be 1-D (frames,) or 2-D (frames, channels), got shape {audio.shape}")
        if audio.size == 0:
            return np.zeros(0, dtype=np.float32), False
        return to_model_rate(audio, int(sample_rate), "Transcriber.transcribe", cfg=self.config), False

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
        lifted = at_speech_level(samples)  # a quiet microphone's speech is speech
        if len(samples) and self._vad.speech_end_s(lifted) is not None:
            # speech heard only once lifted may be a quiet room's breath or rustle, not a quiet
            # talker: only what the model is sure of is kept, as for a region decoded alone
            only_lifted = lifted is not samples and self._vad.speech_end_s(samples) is None
            samples = lifted
            prompt_tokens = decoder.prompt(prompt, hotwords, timestamps=self.config.asr.timestamps)
            max_samples = int(self.config.asr.max_chunk_s * SAMPLE_RATE)
            bounds = [0, *self._vad.cut_points(samples, max_samples), len(samples)]
            spans = list(zip(bounds, bounds[1:]))
            clocks = [_Clock() for _ in spans]

            def transcribe_chunk(i: int) -> list[Segment]:
                lo, hi = spans[i]
                return self._transcribe_chunk(decoder, samples[lo:hi], prompt_tokens, clocks[i],
                                              ends_utterance=i == len(spans) - 1)

            parallel = min(self.config.asr.workers, len(spans))
            if parallel > 1:  # chunks are independent: one per CTranslate2 replica, longest first
                longest_first = sorted(range(len(spans)), key=lambda i: spans[i][0] - spans[i][1])
                with ThreadPoolExecutor(parallel, thread_name_prefix="voiceflow-chunk") as pool:
                    futures = {i: pool.submit(transcribe_chunk, i) for i in longest_first}
                    results = [futures[i].result() for i in range(len(spans))]
            else:
                results = [transcribe_chunk(i) for i in range(len(spans))]
            for (lo, _), chunk_segments, chunk_clock in zip(spans, results, clocks):
                clock.merge(chunk_clock)
                offset = lo / SAMPLE_RATE
                segments.extend(
                    replace(seg, start=round(seg.start + offset, 3), end=round(seg.end + offset, 3))
                    for seg in chunk_segments
                    if not only_lifted or is_confident(seg.no_speech_prob, seg.avg_logprob, self.config.asr)
                )
        if hotwords:
            segments = [replace(s, text=respell_hotwords(s.text, hotwords)) for s in segments]
        text = " ".join(s.text for s in segments)
        total = time.perf_counter() - started
        return Transcript(
            text=text,
            segments=tuple(segments),
            duration=duration,
            timings=Timings(clock.features, clock.encode, clock.decode, total),
            mode=self.mode,
        )

    def _transcribe_chunk(self, decoder: WindowDecoder, chunk: np.ndarray, prompt: list[int],
                          clock: "_Clock", *, ends_utterance: bool = True) -> list[Segment]:
        """Segments of one chunk (times from the chunk start); [] when the VAD finds no speech.

        The chunk is decoded whole (:meth:`_decode_chunk`), then every speech region the text
        does not account for is decoded on its own and merged in time order
        (:meth:`_account_for_speech`).  ``ends_utterance``: the chunk ends where the speaker
        stopped (the last chunk of the audio; False for a chunk cut at a pause)."""
        regions = self._vad.speech_regions(chunk)
        if not regions:
            return []
        speech_s = speech_seconds(regions)
        length = len(chunk) / SAMPLE_RATE
        align = len(regions) > 1 and length >= _asr_context.ALIGN_MIN_S
        result = self._decode_chunk(decoder, chunk, regions[-1][1], prompt, clock, speech_s, align=align,
                                    ends_utterance=ends_utterance, regions=regions)
        segments = self._accept(result, offset=0.0, length=length, speech_s=speech_s)
        return self._account_for_speech(decoder, chunk, regions, segments, prompt, clock, result.words)

    def _account_for_speech(self, decoder: WindowDecoder, chunk: np.ndarray, regions: list[tuple[float, float]],
                            segments: list[Segment], prompt: list[int], clock: "_Clock",
                            aligned: tuple | None = None, reference_db: float = -np.inf) -> list[Segment]:
        """``segments`` plus the speech they leave out (the coverage rule; the same with and
        without timestamps).

        A speech region (``regions``: seconds in ``chunk``) is suspect when the text's aligned
        words (``aligned``, when the chunk was long enough to align) do not account for it
        (``unaccounted_regions``), when it is a quiet passage (``QUIET_REGION_DB`` under the
        loudest region, or under ``reference_db``: the speaker's level measured before the chunk,
        as a stream's tail is judged), when more than ``UNCOVERED_SPEECH_S`` of it lies under no segment
        (the decoder stopped early even after the ladder), or when the text over it (the whole
        chunk's, without timestamps) has far fewer words than its speech holds
        (``under_accounts``) -- unless it is quiet and its quiet passage is shorter than
        ``MIN_QUIET_PASSAGE_S`` (``brief_quiet_regions``).  Each suspect region is decoded on its
        own -- Whisper then normalises the log-mel to *its* level -- and a confident result whose
        words are not already in the text (``accounted_fraction``) is merged in time order.
        Without timestamps the chunk is one segment: missing regions all after (before) the
        accounted ones are appended (prepended); interleaved ones make every region be decoded
        alone."""
        ctx = _asr_context
        if len(regions) < 2:  # decoding the only region alone would decode the same audio again
            return segments
        timestamps = self.config.asr.timestamps
        long_enough = [b - a >= MIN_REGION_S for a, b in regions]
        suspects: set[int] = set() if aligned is None else ctx.unaccounted_regions(regions, aligned)
        levels = [level_db(chunk, region) for region in regions]
        quiet = ctx.quiet_regions(levels, max([reference_db, *levels]))
        for i, (a, b) in enumerate(regions):
            if b - a >= ctx.MIN_QUIET_PASSAGE_S and quiet[i]:
                suspects.add(i)
        if timestamps:
            suspects.update(ctx.uncovered_regions(regions, segments))
            for seg in segments:
                inside = [i for i, (a, b) in enumerate(regions) if a < seg.end and b > seg.start]
                held = sum(min(regions[i][1], seg.end) - max(regions[i][0], seg.start) for i in inside)
                if ctx.under_accounts(len(words(seg.text)), held):
                    suspects.update(inside)
        elif ctx.under_accounts(sum(len(words(seg.text)) for seg in segments), speech_seconds(regions)):
            suspects.update(range(len(regions)))
        # a short quiet region is a breath, a soft syllable or speech in the background, which the
        # window's decode heard at its true level and left out as Whisper's training taught it:
        # only a quiet *passage* (``MIN_QUIET_PASSAGE_S``) overrules that, whatever flagged it
        brief_and_quiet = ctx.brief_quiet_regions(regions, quiet)
        suspects = {i for i in suspects if long_enough[i] and not brief_and_quiet[i]}
        if not suspects:
            return segments
        text_words = words(" ".join(seg.text for seg in segments))
        alone = {i: self._decode_region(decoder, chunk, regions[i], prompt, clock, _room(regions, i))
                 for i in sorted(suspects)}
        missing = sorted(
            i for i, found in alone.items()
            if found and ctx.accounted_fraction(
                words(" ".join(s.text for s in found)), text_words, ctx.ACCOUNTED_RUN
            ) < ctx.ACCOUNTED_FRACTION
        )
        if not missing:
            return segments
        logger.debug("speech regions %s not in the text; decoded alone", [regions[i] for i in missing])
        added = [seg for i in missing for seg in alone[i]]
        if aligned and segments and words("".join(w.text for w in aligned)) == text_words:
            # (the aligned words are the segments' text unless a loop was collapsed out of it)
            return _merge_by_words(segments, aligned, [(regions[i], alone[i]) for i in missing], regions)
        if timestamps:
            return sorted(segments + added, key=lambda seg: seg.start)
        accounted = [i for i in range(len(regions)) if i not in missing and long_enough[i]]
        if not segments or not accounted or min(missing) > max(accounted):
            return segments + added
        if max(missing) < min(accounted):
            return added + segments
        for i in range(len(regions)):  # interleaved: the text cannot be split by time
            if i not in alone and long_enough[i] and not brief_and_quiet[i]:
                alone[i] = self._decode_region(decoder, chunk, regions[i], prompt, clock, _room(regions, i))
        rebuilt = [seg for i in sorted(alone) for seg in alone[i]]
        return rebuilt if len(words(" ".join(s.text for s in rebuilt))) > len(text_words) else segments

    def _decode_region(self, decoder: WindowDecoder, chunk: np.ndarray, region: tuple[float, float],
                       prompt: list[int], clock: "_Clock", room: tuple[float, float]) -> list[Segment]:
        """Segments of one speech region decoded on its own, with its soft edges: the audio next to
        it that stays above the chunk's noise floor (:func:`_soft_edge_s`), up to ``REGION_REACH_S``
        either side but not beyond ``room`` (seconds: the middles of the pauses to the regions
        next to it, :func:`_room`), and at least ``REGION_MARGIN_S``; [] unless the decode is
        confident (no-speech probability at most ``no_speech_threshold`` *and* average
        log-probability at least ``log_prob_threshold``: a region alone has little context, so
        only a sure result is merged).  Decoded with the adaptive ladder in every mode: a region
        is a few seconds, and a 30 s window per region would cost ``quality`` more than plain
        faster-whisper's whole decode."""
        db = EnergyVad().frame_db(chunk)
        floor_db = float(np.percentile(db, 10.0)) if db.size else 0.0
        before = max(REGION_MARGIN_S, _soft_edge_s(db, floor_db, region[0], max(room[0], region[0] - REGION_REACH_S)))
        after = max(REGION_MARGIN_S, _soft_edge_s(db, floor_db, region[1], min(room[1], region[1] + REGION_REACH_S)))
        lo = max(0, int((region[0] - before) * SAMPLE_RATE))
        hi = min(len(chunk), int((region[1] + after) * SAMPLE_RATE))
        start = lo / SAMPLE_RATE
        speech_s = region[1] - region[0]
        result = self._decode_chunk(decoder, chunk[lo:hi], region[1] - start, prompt, clock, speech_s,
                                    context="adaptive", ends_utterance=False)
        if not is_confident(result.no_speech_prob, result.avg_logprob, self.config.asr):
            return []
        return self._accept(result, offset=start, length=(hi - lo) / SAMPLE_RATE, speech_s=speech_s)

    def _decode_chunk(self, decoder: WindowDecoder, chunk: np.ndarray, speech_end: float, prompt: list[int],
                      clock: "_Clock", speech_s: float | None = None, *, align: bool = False,
                      context: str | None = None, ends_utterance: bool = True,
                      regions: list[tuple[float, float]] | None = None) -> WindowResult:
        """Decode one chunk (at most ``max_chunk_s``) as the mode says: the adaptive ladder
        (short window, then ``retry_pad_s``, then the full window, each rung only when the one
        before is judged wrong), the full window, or both.

        ``speech_end``: seconds into ``chunk`` where the VAD heard its speech end; ``speech_s``:
        seconds of speech it found in ``chunk`` (None: unknown); ``align``: time the words of
        the result (``WindowResult.words``); ``context``: overrides the mode's context policy;
        ``ends_utterance``: the chunk ends where the speaker stopped, not at a cut at a pause
        (``DecodeOptions.beam_if_unfinished``); ``regions``: the VAD's speech regions of ``chunk``
        when the caller has them (else found here, only if a rung is judged "uncovered").
        Thread-safe (no state kept);
        this is the entry point for decoding any window of audio with ``prompt``'s
        previous-context text (:meth:`WindowDecoder.prompt`)."""
        asr = self.config.asr
        duration = len(chunk) / SAMPLE_RATE
        full_frames = _asr_context.FULL_FRAMES

        def frames_with_pad(pad_s: float) -> int:
            return self._padded_frames(len(chunk), speech_end, pad_s)

        t0 = time.perf_counter()
        mel = silence_padded_log_mel(chunk, full_frames, self._n_mels)
        clock.features += time.perf_counter() - t0
        options = self._chunk_options(duration, ends_utterance)

        def decode(frames: int) -> WindowResult:
            opts = options if frames >= full_frames else _first_temperature(options)
            result = decoder.decode_window(mel[:, :frames], prompt, opts, duration, speech_s=speech_s, align=align)
            clock.add(result)
            return result

        policy = context or asr.context
        if policy != "adaptive":
            full = decode(full_frames)
            if policy == "both":  # the likelier of the two windows
                short_frames = frames_with_pad(asr.context_pad_s)
                if short_frames < full_frames:
                    short = decode(short_frames)
                    if short.avg_logprob > full.avg_logprob and self._judge(short, duration, speech_end, speech_s) is None:
                        return short
            return full

        rungs = [frames_with_pad(asr.context_pad_s)]
        if asr.fallback_to_full:
            if asr.retry_pad_s is not None and asr.retry_pad_s > asr.context_pad_s:
                rungs.append(frames_with_pad(asr.retry_pad_s))  # more silence cures most failures
            rungs.append(full_frames)
        rungs = [f for k, f in enumerate(rungs) if f <= full_frames and (k == 0 or rungs[k - 1] < f)]
        tried: list[tuple[str, WindowResult]] = []
        for frames in rungs:
            result = decode(frames)
            reason = self._judge(result, duration, speech_end, speech_s)
            if reason == "uncovered" and regions is None:
                regions = self._vad.speech_regions(chunk)
            if reason == "uncovered" and _words_account_for_speech(regions, result):
                reason = None  # the segments' end is short of the speech, the words are not
            if tried and tried[-1][0] == "repetition" and repetitions_reproduced(tried[-1][1].text, result.text):
                # spoken, not looped: the wider context heard the same repetition
                return result if reason in (None, "repetition") else tried[-1][1]
            if reason is None or frames == rungs[-1]:
                break
            if reason == "uncovered" and tried and tried[-1][0] == "uncovered" \
                    and words(tried[-1][1].text) == words(result.text) and len(regions or ()) > 1:
                # more silence changed no word: the window's end is not what stops the decoder, and
                # the full window is only more silence; the coverage rule decodes the regions left
                # out on their own (it has nothing to decode alone in a single region)
                break
            logger.debug("window of %d frames rejected: %s", frames, reason)
            tried.append((reason, result))
        if frames < full_frames:
            return result
        # a narrower decode rejected only as unlikely stays if the full window is no likelier
        unlikely = [r for why, r in tried if why == "low_logprob"]
        best = max(unlikely, key=lambda r: r.avg_logprob, default=None)
        if best is not None and best.avg_logprob >= result.avg_logprob:
            return best
        return result

    def _padded_frames(self, n_samples: int, speech_end: float | None, pad_s: float) -> int:
        """Mel frames of the window for ``n_samples`` of audio whose speech ends ``speech_end``
        seconds in, with ``pad_s`` of silence after the speech (the ladder's rungs)."""
        return _asr_context.window_frames(
            _asr_context.content_frames(n_samples),
            _asr_context.synthetic_pad_s(pad_s, n_samples / SAMPLE_RATE, speech_end),
        )

    def _chunk_options(self, duration: float, ends_utterance: bool = True) -> DecodeOptions:
        """Decoding options for ``duration`` seconds of audio: the token budget it allows."""
        asr = self.config.asr
        return self._options(
            _asr_context.token_budget(duration, asr.max_tokens_per_s, asr.max_tokens_base, MAX_LENGTH // 2),
            ends_utterance=ends_utterance,
        )

    def _judge(self, result: WindowResult, duration: float, speech_end: float | None,
               speech_s: float | None = None) -> str | None:
        asr = self.config.asr
        return _asr_context.judge(
            result, duration, speech_end_s=speech_end,
            compression_threshold=asr.compression_ratio_threshold,
            log_prob_threshold=asr.log_prob_threshold,
            speech_s=speech_s,
        )

    def _accept(self, result: WindowResult, *, offset: float, length: float,
                speech_s: float | None = None) -> list[Segment]:
        """Public segments of one window: silent windows dropped, times clamped to the chunk
        (Whisper often ends the last segment in the padding), and looped phrases collapsed, a
        segment that says the one before it again dropped -- only when the text is longer than
        the chunk's ``speech_s`` seconds of speech can hold (a repetition the speech can hold,
        kept by the widest decode tried, was spoken: a speaker may say a sentence again)."""
        if is_silent(result.no_speech_prob, result.avg_logprob, self.config.asr):
            return []
        looped = speech_s is None or _asr_context.beyond_speech_rate(result.text, speech_s)
        out: list[Segment] = []
        for raw in result.segments:
            text = collapse_loops(raw.text.strip()) if looped else raw.text.strip()
            if looped and out and words(text) == words(out[-1].text):
                continue
            if text:
                end = min(raw.end, length)
                out.append(Segment(
                    start=offset + min(raw.start, end),
                    end=offset + end,
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

    def _options(self, budget: int, ends_utterance: bool = True) -> DecodeOptions:
        """This transcriber's decoding settings for a window allowed ``budget`` new tokens
        (``ends_utterance``: see :meth:`_decode_chunk`)."""
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
            beam_if_unfinished=ends_utterance,
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


MIN_REGION_S = 0.25
"""Speech regions shorter than this (a click, a breath) are not decoded on their own."""
REGION_MARGIN_S = 0.1
"""Audio kept at least either side of a speech region decoded on its own (the VAD trims soft edges)."""
REGION_REACH_S = 1.0
"""Soft edges kept at most either side of a speech region decoded on its own (a second holds any
word's fading end), and never past the middle of the pause to the next region (audio nearer to
that region belongs to it)."""
EDGE_ABOVE_FLOOR_DB = 6.0
"""A frame next to a speech region this much above the chunk's noise floor (its 10th-percentile
frame level) is the region's soft edge, not the pause: the detector's threshold (floor + margin,
and never under -60 dBFS) trims a quiet passage's soft ends, and a soft last word 20 dB down can
lie wholly under it ("...about that thing": "thing" at -70 dBFS, 0.15-0.45 s after the region's
end, was dropped with a fixed 0.1 s margin); 6 dB is twice the noise's power, which stationary
room noise does not reach frame to frame.  A fixed 1 s reach instead took a neighbour's crosstalk
and breaths into the decode (corpus/more: "things like that inside it", "Mmm")."""


def _soft_edge_s(db: np.ndarray, floor_db: float, edge_s: float, limit_s: float) -> float:
    """Seconds from ``edge_s`` towards ``limit_s`` (either side) over which the frames (``db``:
    dB per 25 ms frame, 10 ms hop) stay ``EDGE_ABOVE_FLOOR_DB`` above ``floor_db``."""
    hop_s, frame_s = HOP / SAMPLE_RATE, FRAME / SAMPLE_RATE
    step = 1 if limit_s >= edge_s else -1
    k = int(round((edge_s - frame_s / 2) / hop_s))  # the frame centred at the edge
    reach = 0.0
    while 0 <= k < db.size and db[k] > floor_db + EDGE_ABOVE_FLOOR_DB:
        centre = k * hop_s + frame_s / 2
        if (centre - limit_s) * step > 0:
            break
        reach = abs(centre - edge_s)
        k += step
    return min(reach, abs(limit_s - edge_s))


def _room(regions: list[tuple[float, float]], i: int) -> tuple[float, float]:
    """Seconds around ``regions[i]`` that belong to it: from the middle of the pause before it to
    the middle of the pause after it (the chunk's ends for the first and last region)."""
    lo = (regions[i - 1][1] + regions[i][0]) / 2 if i > 0 else 0.0
    hi = (regions[i][1] + regions[i + 1][0]) / 2 if i + 1 < len(regions) else np.inf
    return lo, hi


def _merge_by_words(segments: list[Segment], aligned: tuple, inserts: list,
                    regions: list[tuple[float, float]] = ()) -> list[Segment]:
    """``segments``' text re-cut around inserted regions, in time order.

    ``aligned``: the word spans of ``segments``' text in order (``WindowResult.words``);
    ``inserts``: ``(region, region_segments)`` pairs.  A word goes before a region when it ends
    by the region's start (an aligned word stretched over left-out speech ends after it);
    punctuation stays with the word before it.  A word ends at the latest where its segment
    ends: the alignment can stretch the last word of a segment over a long pause, but the
    decoder's own timestamp closed the segment there.  The text's last word, which no later word
    can take audio from, ends at the latest with the first speech region (``regions``, seconds)
    it spans."""
    template = segments[0]
    ends = _word_ends(segments, aligned, regions)
    pieces: list[Segment] = []
    pending: list = []

    def flush() -> None:
        text = "".join(w.text for w in pending).strip()
        if text:
            pieces.append(replace(template, start=pending[0].start, end=pending[-1].end, text=text))
        pending.clear()

    queue = sorted(inserts, key=lambda item: item[0][0])
    for word, end in zip(aligned, ends):
        attached = not any(ch.isalnum() for ch in word.text)  # punctuation stays with its word
        while queue and not attached and end > queue[0][0][0] + 0.05:
            flush()
            pieces.extend(queue.pop(0)[1])
        pending.append(word)
    flush()
    for _, found in queue:
        pieces.extend(found)
    return pieces


def _word_ends(segments: list[Segment], aligned: tuple, regions: list[tuple[float, float]]) -> list[float]:
    """Each aligned word's end, at most the end of the segment whose text holds it (words are
    counted as ``words`` counts them; ``aligned``'s words are ``segments``' words in order); the
    last word's at most the end of the first speech region it spans (DTW gives the audio after
    the text's last sound to its last word)."""
    limits = [seg.end for seg in segments for _ in words(seg.text)]
    ends: list[float] = []
    seen = 0
    for word in aligned:
        seen += len(words(word.text))
        k = min(max(seen - 1, 0), len(limits) - 1)
        ends.append(min(word.end, limits[k]) if limits else word.end)
    last = max((k for k, word in enumerate(aligned) if words(word.text)), default=None)
    if last is not None:
        word = aligned[last]
        spanned = [b for a, b in regions if a < word.end and b > word.start]
        if spanned:
            ends[last] = min(ends[last], spanned[0])
    return ends


def _words_account_for_speech(regions: list[tuple[float, float]], result: WindowResult) -> bool:
    """Whether ``result``'s aligned words (when it was aligned) account for every speech region
    (``regions``, seconds; ``context.unaccounted_regions``).  Then speech after the last
    segment's end is the coarseness of the segment timestamps, not speech left out: tiny's often
    fall on whole seconds (a FLEURS sentence's last segment "ended" at 10.0 s, its last word,
    aligned, at 10.9 s), and more silence or the full window, which the ladder would try next,
    gives the same words with the same timestamps (the coverage rule after the ladder still
    decodes on its own any region the segments leave out)."""
    return bool(result.words) and bool(regions) and not _asr_context.unaccounted_regions(regions, result.words)


def _first_temperature(options: DecodeOptions) -> DecodeOptions:
    return replace(options, temperatures=options.temperatures[:1])


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
