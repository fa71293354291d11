"""One Whisper window through CTranslate2: encode, decode (with temperature fallback), segment.

This drives ``ctranslate2.models.Whisper`` directly instead of faster-whisper's lazy segment
generator, so a window is encoded and decoded completely inside one call (nothing is left to
run while a caller iterates), the encoder can take fewer than 3000 frames, and the decode length
is bounded by the audio's duration.  Every method is safe to call from several threads at once:
the decoder holds no per-call state and CTranslate2 queues concurrent calls on its workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import ctranslate2
import numpy as np
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from voiceflow.asr.text import compression_ratio, ends_mid_sentence, find_loop

TIME_PRECISION = 0.02  # seconds per timestamp token
MAX_LENGTH = 448  # Whisper's decoder context
MAX_INITIAL_TIMESTAMP_INDEX = 50  # first segment starts within 1 s, as in Whisper


@dataclass(frozen=True)
class RawSegment:
    """Text between two timestamp tokens; times in seconds from the window start."""

    start: float
    end: float
    text: str
    probability: float = 1.0
    """For an aligned word: the mean probability the model gives its tokens, given the text
    before it (faster-whisper's word ``probability``); 1.0 for a segment."""


@dataclass(frozen=True)
class WindowResult:
    """The chosen decode of one window."""

    segments: tuple[RawSegment, ...]
    text: str
    avg_logprob: float
    no_speech_prob: float
    hit_budget: bool
    """No end-of-text within the token budget (a runaway decode)."""
    temperature: float
    frames: int
    """Mel frames the encoder processed."""
    encode_s: float
    decode_s: float
    words: tuple[RawSegment, ...] | None = None
    """Each word's time span (seconds from the window start), from CTranslate2's cross-attention
    alignment of the chosen text to the window's audio; None unless asked for."""
    encoded: Any = field(default=None, repr=False, compare=False)
    """The encoder's output for the window (a CTranslate2 ``StorageView``), kept when the words
    were aligned or it was asked for, for (more) alignments against the same audio without
    encoding it again."""
    tokens: tuple[int, ...] = field(default=(), repr=False, compare=False)
    """The chosen decode's token ids (what :meth:`WindowDecoder.align_words` aligns)."""


@dataclass(frozen=True)
class DecodeOptions:
    beam_size: int
    temperatures: tuple[float, ...]
    best_of: int
    budget: int
    """Most new tokens."""
    log_prob_threshold: float
    no_speech_threshold: float
    compression_ratio_threshold: float
    beam_below_logprob: float | None = None
    """Greedy first; beam search only when the greedy text's average log-probability is below
    this, it is repetitive, or it stops mid-sentence (``ends_mid_sentence``, only with
    ``beam_if_unfinished``).  None: always beam search."""
    beam_if_unfinished: bool = True
    """The window ends where the speaker stopped (not at a cut at a pause inside longer audio,
    where the sentence goes on in the next window): an unfinished greedy text is then a reason
    for the beam."""


def is_silent(no_speech_prob: float, avg_logprob: float, thresholds: Any) -> bool:
    """Whisper's silence rule: the no-speech token is likely *and* the text is unlikely.

    ``thresholds``: anything with ``no_speech_threshold`` and ``log_prob_threshold``
    (:class:`DecodeOptions`, ``AsrConfig``)."""
    return no_speech_prob > thresholds.no_speech_threshold and avg_logprob < thresholds.log_prob_threshold


def is_confident(no_speech_prob: float, avg_logprob: float, thresholds: Any) -> bool:
    """Both halves of Whisper's silence rule pass: the no-speech token is unlikely *and* the text
    is likely -- what a decode with little evidence of speech around it must show to be kept
    (a region decoded alone, a recording heard as speech only once lifted to speech level).
    ``thresholds`` as for :func:`is_silent`."""
    return no_speech_prob <= thresholds.no_speech_threshold and avg_logprob >= thresholds.log_prob_threshold


def generation_limits(prompt_length: int, budget: int) -> tuple[int, int]:
    """``(new tokens allowed, max_length to pass)`` for a decode of at most ``budget`` new tokens.

    CTranslate2's Whisper lets a decode generate ``min(max_length // 2, max_length -
    prompt_length)`` new tokens (OpenAI's ``sample_len``: half the text context), so passing
    ``prompt_length + budget`` would silently allow only about half the budget -- and a decode
    cut short there would not look like one that ran out of budget.
    """
    allowed = max(1, min(budget, MAX_LENGTH // 2, MAX_LENGTH - prompt_length))
    return allowed, max(2 * allowed, prompt_length + allowed)


class WindowDecoder:
    """Encode + decode windows of one loaded ``faster_whisper.WhisperModel`` (English)."""

    def __init__(self, whisper_model) -> None:
        self._whisper = whisper_model
        self.model: ctranslate2.models.Whisper = whisper_model.model
        self.tokenizer = Tokenizer(
            whisper_model.hf_tokenizer, self.model.is_multilingual, task="transcribe", language="en"
        )
        self.suppress_tokens = list(get_suppressed_tokens(self.tokenizer, [-1]))
        self.timestamp_begin = self.tokenizer.timestamp_begin
        self.eot = self.tokenizer.eot

    def prompt(self, previous_text: str | None = None, hotwords: str | None = None, *,
               timestamps: bool = True) -> list[int]:
        """Decoder prompt: optional hotwords and previous text, then the start-of-transcript
        (and ``<|notimestamps|>`` when ``timestamps`` is false: text-only decoding)."""
        tokens: list[int] = []
        if previous_text or hotwords:
            tokens.append(self.tokenizer.sot_prev)
            budget = MAX_LENGTH // 2 - 1
            if hotwords:
                tokens.extend(self.tokenizer.encode(" " + hotwords.strip())[:budget])
            if previous_text:
                tokens.extend(self.tokenizer.encode(" " + previous_text.strip())[-budget:])
        tokens.extend(self.tokenizer.sot_sequence)
        if not timestamps:
            tokens.append(self.tokenizer.no_timestamps)
        return tokens

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        """Run the encoder on ``features`` (n_mels, frames), frames even and <= 3000."""
        batch = np.ascontiguousarray(features[None], dtype=np.float32)
        return self.model.encode(ctranslate2.StorageView.from_array(batch), to_cpu=False)

    def decode_window(
        self, features: np.ndarray, prompt: Sequence[int], options: DecodeOptions, content_s: float,
        speech_s: float | None = None, align: bool = False, keep_encoded: bool = False,
    ) -> WindowResult:
        """Encode ``features`` and decode, retrying at the next temperature while the text is
        repetitive or unlikely (unless the window is judged silent), as Whisper does.

        ``content_s`` is the audio duration in the window (trailing text gets it as end time);
        ``speech_s`` the seconds of speech the voice-activity detector found in it: a repeated
        phrase the speech can hold is not "repetitive" (it may be spoken), one it cannot is
        (``voiceflow.asr.context.beyond_speech_rate``); None: every repeated phrase is.
        ``align``: also time every word of the chosen text (``WindowResult.words``; one more
        decoder pass over the text in a single step, about a tenth of a greedy decode);
        ``keep_encoded``: keep the encoder output (``WindowResult.encoded``) to align later, only
        if needed.
        """
        t0 = time.perf_counter()
        encoder_output = self.encode(features)
        t1 = time.perf_counter()
        prompt = list(prompt)
        budget, max_length = generation_limits(len(prompt), options.budget)
        candidates = []
        for temperature in options.temperatures:
            greedy_first = temperature == 0 and options.beam_size > 1 and options.beam_below_logprob is not None
            tokens, avg_logprob, no_speech_prob = self._generate(
                encoder_output, prompt, options, temperature, max_length,
                beam_size=1 if greedy_first else options.beam_size,
            )
            text, hit_budget, repetitive = self._inspect(tokens, budget, options, speech_s)
            if greedy_first and (repetitive or avg_logprob < options.beam_below_logprob
                                 or (options.beam_if_unfinished and ends_mid_sentence(text))):
                # greedy commits to one token a step: an end-of-text right after an unfinished
                # sentence is where it stops early; the beam weighs finishing it
                tokens, avg_logprob, no_speech_prob = self._generate(
                    encoder_output, prompt, options, temperature, max_length, beam_size=options.beam_size
                )
                text, hit_budget, repetitive = self._inspect(tokens, budget, options, speech_s)
            silent = is_silent(no_speech_prob, avg_logprob, options)
            candidates.append((repetitive, avg_logprob, temperature, tokens, text, no_speech_prob, hit_budget))
            if silent or (not repetitive and avg_logprob >= options.log_prob_threshold):
                chosen = candidates[-1]
                break
        else:  # every temperature failed: the likeliest non-repetitive one, as Whisper does
            chosen = max(candidates, key=lambda c: (not c[0], c[1]))
        _, avg_logprob, temperature, tokens, text, no_speech_prob, hit_budget = chosen
        words = self.align_words(encoder_output, tokens, content_s) if align else None
        t2 = time.perf_counter()
        return WindowResult(
            segments=tuple(self.split_segments(tokens, content_s)),
            text=text,
            avg_logprob=avg_logprob,
            no_speech_prob=no_speech_prob,
            hit_budget=hit_budget,
            temperature=temperature,
            frames=int(features.shape[-1]),
            encode_s=t1 - t0,
            decode_s=t2 - t1,
            words=words,
            encoded=encoder_output if align or keep_encoded else None,
            tokens=tuple(tokens),
        )

    def align_words(self, encoder_output, tokens: Sequence[int], content_s: float) -> tuple[RawSegment, ...]:
        """Word time spans of ``tokens``' text in the encoded window (faster-whisper's
        ``find_alignment``: cross-attention + DTW), clamped to ``content_s`` seconds."""
        text_tokens = [t for t in tokens if t < self.eot]
        if not text_tokens:
            return ()
        frames = max(1, int(round(content_s * 100)))
        aligned = self._whisper.find_alignment(self.tokenizer, [text_tokens], encoder_output, frames)[0]
        return tuple(
            RawSegment(min(float(w["start"]), content_s), min(float(w["end"]), content_s), w["word"],
                       float(w["probability"]))
            for w in aligned
        )

    def _inspect(self, tokens: list[int], budget: int, options: DecodeOptions,
                 speech_s: float | None) -> tuple[str, bool, bool]:
        """Text, budget hit, and whether it is repetitive (runaway, gzip ratio, or a repeated
        phrase longer than the speech can hold)."""
        from voiceflow.asr.context import beyond_speech_rate

        text = self.tokenizer.decode([t for t in tokens if t < self.eot])
        hit_budget = len(tokens) >= budget
        repetitive = (
            hit_budget
            or compression_ratio(text) > options.compression_ratio_threshold
            or (find_loop(text) is not None and (speech_s is None or beyond_speech_rate(text, speech_s)))
        )
        return text, hit_budget, repetitive

    def _generate(self, encoder_output, prompt, options: DecodeOptions, temperature: float,
                  max_length: int, beam_size: int):
        if temperature > 0:
            sampling = dict(beam_size=1, num_hypotheses=options.best_of, sampling_topk=0,
                            sampling_temperature=temperature)
        else:
            sampling = dict(beam_size=beam_size, patience=1.0)
        result = self.model.generate(
            encoder_output,
            [prompt],
            max_length=max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self.suppress_tokens,
            max_initial_timestamp_index=MAX_INITIAL_TIMESTAMP_INDEX,
            **sampling,
        )[0]
        tokens = list(result.sequences_ids[0])
        # CTranslate2 returns the cumulative log-probability divided by the length.
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        return tokens, float(avg_logprob), float(result.no_speech_prob)

    def split_segments(self, tokens: Sequence[int], content_s: float) -> list[RawSegment]:
        """Segments between timestamp tokens; text after the last timestamp ends at ``content_s``."""
        segments: list[RawSegment] = []
        start = 0.0
        text_tokens: list[int] = []
        for token in tokens:
            if token >= self.timestamp_begin:
                stamp = (token - self.timestamp_begin) * TIME_PRECISION
                if text_tokens:
                    self._emit(segments, start, max(stamp, start), text_tokens)
                    text_tokens = []
                start = stamp
            elif token < self.eot:
                text_tokens.append(token)
        if text_tokens:
            self._emit(segments, start, max(content_s, start), text_tokens)
        return segments

    def _emit(self, segments: list[RawSegment], start: float, end: float, tokens: list[int]) -> None:
        text = self.tokenizer.decode(tokens)
        if text.strip():
            segments.append(RawSegment(start, end, text))
