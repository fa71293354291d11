"""``TranscriptStream``: transcribe while the user speaks, so the text is ready at release.

Policy (the model backend is the :class:`~voiceflow.asr.transcriber.Transcriber`; this module
only decides *what* to decode and *what to keep*):

* :meth:`TranscriptStream.feed` writes the block into a bounded ring (``voiceflow_core.RingBuffer``,
  the same sanitizing write the recorder's callback uses) and wakes the worker thread.  It never
  waits for the model.
* The worker drains the ring into the **buffer** (audio since the last cut) and, once
  :data:`STEP_S` of new audio has arrived and the buffer holds speech, decodes the whole buffer
  the way a one-shot call's first rung does (adaptive window, the mode's decoding options), with
  the committed text as previous context (``<|startofprev|>``, run in one decoder step).  Under
  load it simply takes all the audio that arrived meanwhile: one decode of the newest buffer,
  never a queue of stale ones.
* **LocalAgreement** (Macháček et al., 2023), over a gap: the words on which the newest
  hypothesis, the newest one made on at least :data:`AGREE_GAP_S` less audio and every one in
  between agree (:func:`_agreement`), after what is already committed, are committed -- as far
  as the model is sure of them: a word whose aligned
  probability is under :data:`MIN_WORD_PROBABILITY` waits (with every word after it) until
  :data:`RIGHT_CONTEXT_S` of speech follows it -- the word's probability, whatever its case
  (:func:`_case_swapped_probability`).  The last word of a hypothesis is not committed
  while speech goes on (the buffer may end inside it); a hypothesis the judge calls a
  ``"repetition"`` (a repeated phrase the speech can hold: spoken, or the decoder's loop)
  commits only the words before that phrase.  Committed text never changes.  These
  decodes search with a beam when unsure in every mode (:data:`COMMIT_BEAM_SIZE`).
* **Cut behind the committed words**: after a commit the committed words are aligned to the
  audio (CTranslate2's cross-attention alignment, as faster-whisper's ``word_timestamps``) and
  the buffer is cut in a pause between two of them (the quietest spot near the aligned boundary,
  below the detector's speech level), keeping :data:`LOOKBACK_S` of committed speech before the
  uncommitted words as acoustic context; those carried words are dropped from each new
  hypothesis by text, then by aligned time (:func:`_after_prefix`).  So the buffer, the decode
  cost and what :meth:`~TranscriptStream.finish` must still decode stay short however long the
  speech is.  When speech has ended and every word is committed, the stream rests (no decode)
  and keeps that lookback for the words after a pause of up to :data:`PAUSE_LOOKBACK_S`, then
  cuts after the speech; a buffer without speech keeps only its last
  :data:`KEEP_SILENCE_S`; bounds for unbroken speech:
  :data:`LONG_BUFFER_S`, :data:`MAX_BUFFER_S`, :data:`HARD_BUFFER_S`.
* **The speaker's speech, not the background**: every decision that reads the voice-activity
  detector (is there speech, where it ends, the right context, the coverage rule of a tail)
  leaves out a brief passage ``QUIET_REGION_DB`` under the speaker's level -- the loudest
  phrase heard in the last :data:`LEVEL_MEMORY_S` -- as a one-shot decode does inside its
  window (:func:`_speaker_regions`).  A buffer cut after the speaker's words no longer holds
  the speech that makes another talker's half-second sound distant; decoded on its own, it
  would be written down (a meeting's crosstalk, "Thank you very much." on the room's hiss).
* :meth:`~TranscriptStream.finish` decodes only the buffer (the uncommitted words and the
  lookback, shortened to :data:`FINISH_LOOKBACK_S` at a gap after a committed word) through
  the one-shot path's escalation ladder (adaptive window judged by
  ``voiceflow.asr.context.judge``; more silence, then the full window when judged wrong), with
  the committed text before the buffer as previous context; the lookback's words are matched
  and dropped.  If that decode has fewer new words than a recent worker hypothesis heard in
  less audio, the context led the decoder to skip words: the tail is decoded again without it
  (the one-shot way) and the fuller decode is kept; if it says a phrase twice (one word apart at
  most) that the worker's newest hypothesis heard once, the decoder restarted the utterance
  after the context (:func:`_restarted`): decoded again without it, kept unless that decode
  repeats the phrase too.
* **Decode at the endpoint**: once the speech has been followed by :data:`ENDPOINT_S` of
  silence the worker decodes the buffer at once (not only every :data:`STEP_S`).  When no
  speech arrived after the worker's last decode of the same buffer, that decode is the tail and
  ``finish()`` decodes nothing.  Beside the worker, the **endpoint watcher** (a thread of its
  own, :meth:`TranscriptStream._watch`) looks at the audio as it is fed, without taking it from
  the worker, and at each endpoint decodes the tail exactly as ``finish()`` would
  (:meth:`TranscriptStream._speculate`) on the model's other replica, so neither waits for the
  other.  Released in that pause, ``finish()`` takes the first ready of that tail (when no
  speech came after it and the words committed since are the ones it heard next) and the
  worker's decode under way that heard the endpoint; with only the latter, it decodes the tail
  meanwhile on a thread of its own (its lookback is shorter, so it is often done first).  A
  push-to-talk user releases the key after the last word, so the work is mostly done before
  the release.

Memory: the ring (:data:`RING_S` at the fed rate), the 16 kHz buffer (at most
:data:`HARD_BUFFER_S` plus :data:`VAD_CONTEXT_S`, plus what one drain brings) and the committed
words; an hour of feeding keeps working in that space (tested for 30 minutes).

Threads: ``feed`` from one thread at a time (an audio callback or a drain thread; concurrent
feeders serialise on a short lock); ``text``/``tentative``/``finish``/``cancel`` from any
thread; ``on_update`` runs on the worker thread; the endpoint watcher's tail decodes on a
thread of its own, and ``finish()``'s, when it races the worker's, on another.
"""

from __future__ import annotations

import difflib
import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import numpy as np

import voiceflow_core as _core
from voiceflow.asr import context as _ctx
from voiceflow.asr.chunking import EnergyVad, level_db, speech_seconds
from voiceflow.asr.decode import is_silent
from voiceflow.asr.features import silence_padded_log_mel
from voiceflow.asr.text import MAX_PERIOD as _MAX_PERIOD, find_loop, near_repeat, respell_hotwords, words as _norm_words
from voiceflow.audio.guard import MAX_CHANNELS, audio_validation_guard
from voiceflow.config import MODES

if TYPE_CHECKING:
    from voiceflow.asr.decode import WindowResult
    from voiceflow.asr.transcriber import Segment, Transcriber, Transcript

__all__ = ["StreamUpdate", "TranscriptStream"]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
STEP_S = 0.3
"""New audio (seconds) before the worker decodes again."""
AGREE_GAP_S = 1.0
"""LocalAgreement compares a hypothesis with the newest one made on at least this much less
audio, and with every one in between: two decodes 0.3 s apart hear nearly the same sound, so
their agreeing on a word cut off by the buffer end proves little; a word that stayed the same
through a second of new speech after it is settled, and one that came and went in between
(Whisper drops or keeps a sentence-initial "And" depending on where the window ends) is not."""
RING_S = 30.0
"""Seconds the feed ring holds: how far the worker may fall behind before audio is lost."""
MAX_BUFFER_S = 15.0
"""A buffer this long without agreement commits all but its last :data:`FORCED_KEEP_WORDS`."""
FORCED_KEEP_WORDS = 2
HARD_BUFFER_S = 20.0
"""A buffer this long (no agreement and no gap to cut in since) is committed as heard and cut
at its end: the decode window and the memory stay bounded whatever the audio."""
WATCH_BACKLOG_S = 1.0
"""The endpoint watcher looks for an endpoint only while the worker is less than this far behind."""
TAIL_WAIT_S = 10.0
"""``finish()`` waits this long at most for a tail decode under way, then decodes the tail itself."""
KEEP_SILENCE_S = 1.0
"""Audio kept from a buffer without speech (an onset may be in it)."""
VAD_CONTEXT_S = 5.0
"""Audio before the buffer kept for the voice-activity detector's noise floor."""
LEVEL_MEMORY_S = 30.0
"""The speaker's level is that of the loudest speech heard in the last this many seconds (one
Whisper window: the span over which a one-shot decode hears a quiet sound beside the speaker's
speech).  A brief passage ``QUIET_REGION_DB`` under it is background to the stream
(:func:`_speaker_regions`), however loud it is in a buffer of its own."""
ENDPOINT_S = 0.1
"""Silence after the speech (per the VAD) after which the worker decodes the buffer at once,
without waiting for :data:`STEP_S`: released now, that decode is the tail, and ``finish()``
takes it instead of decoding (a word's fading end, under the detector's level, lasts less)."""
SPEECH_ENDED_S = 0.5
"""Silence after the speech (per the VAD) that makes the last word of a hypothesis complete."""
PAUSE_LOOKBACK_S = 2.0
"""A pause after which every word is committed keeps the committed speech before it as
lookback (:data:`LOOKBACK_S`) for the words after it, for at most this long: a decoder that
starts at a fresh word with no speech before it drops or mishears it ("But what ..." heard as
"What ..."), and Whisper's training windows hold pauses this long inside a phrase; after a
longer pause the buffer starts afresh (as one-shot's chunking cuts at long pauses)."""
MIN_WORD_PROBABILITY = 0.5
"""An agreed word is committed only if the newest hypothesis gives it at least even odds
(aligned token probabilities, as faster-whisper's word ``probability``): below that the model
itself is unsure of it and more audio may change it, so it waits (at most
:data:`RIGHT_CONTEXT_S`)."""
RIGHT_CONTEXT_S = 2.0
"""An agreed word the model is unsure of is committed once this much speech follows it: the
words after a word are what settles it (Whisper decodes it with them in the window), and a
few words' worth (about six at a typical rate) that have not changed it will not; waiting
longer would hold every later word back behind one unusual word (a name, a number).  Speech,
not audio: a pause after the word holds no words ("And so am I fellow Americans" over a
second's pause became "my fellow Americans" only once "ask not" was heard)."""
COMMIT_BEAM_SIZE: int = MODES["balanced"]["beam_size"]
COMMIT_BEAM_BELOW_LOGPROB: float = MODES["balanced"]["beam_below_logprob"]
"""The worker's decodes, whose words may be committed, search with a beam of
:data:`COMMIT_BEAM_SIZE` when the greedy text's average log-probability is below this (the
``balanced`` preset's rule), even in a greedy mode: a committed word cannot be corrected
later, and the work is done while the user speaks; ``finish()`` decodes as the mode says."""
LOOKBACK_S = 5.0
"""Committed speech kept in the buffer before the uncommitted words: acoustic context.  A
buffer that starts right at the next word hears it worse, and Whisper was trained on windows
that hold whole phrases, not the last word of one; 5 s holds a phrase or two (1 s and 3 s lost
more words on the long readings: ``docs/stream.md``)."""
DROPPED_WORDS = 2
"""finish() re-decodes the tail without previous text when its decode has more than this many
words fewer than a recent worker hypothesis of less audio (the decoder skipped words)."""
FINISH_LOOKBACK_S = 1.0
"""Committed speech ``finish()`` keeps before the uncommitted words when it decodes the tail
(the worker keeps :data:`LOOKBACK_S`): every carried word is decoded again at ~4.5 ms a token
while the user waits, and the tail's first words need the phrase they continue, not the one before."""
MIN_FINISH_CUT_S = 1.0
"""``finish()`` cuts only this much audio or more: a shorter cut saves a word or two of decoding
but turns them into a previous text of a word or two, which costs more than it saves (measured:
"The" alone as context made the greedy decode unsure, so the beam ran, and wrote "Child Almost
Hurt The Small Dog")."""
LONG_BUFFER_S = 6.0
"""A buffer this long is cut at the quietest spot between committed words even when no spot is
quiet enough to be a pause (unbroken speech), so that what finish() decodes stays short."""
CUT_SEARCH_S = 0.25
"""The cut goes to the quietest 30 ms in the last this-many seconds before the aligned end of
the last word cut away (the alignment is only about this precise)."""
_FRAMES_PER_TOKEN_TIME = 50  # the aligner's time index is in encoder frames (20 ms)


@dataclass(frozen=True)
class StreamUpdate:
    """What ``on_update`` receives: ``text`` is committed (only ever grows), ``tentative`` may
    still change; ``seconds`` is the audio fed so far (16 kHz samples / 16000)."""

    text: str
    tentative: str
    seconds: float


@dataclass(frozen=True)
class _Snapshot:
    """The stream's state a tail decode reads (copied under the lock)."""

    ctx: np.ndarray  # 16 kHz audio kept (VAD context, then the buffer)
    ctx_offset: int  # where the buffer starts in ctx
    buf_start: int  # absolute sample of the buffer start
    carry: int  # committed words inside the buffer
    committed: list[str]
    scores: list[tuple[float, float]]
    carried_ends: list[float | None]  # aligned ends (s) of the carried words
    after_cut: bool
    heard: int  # most uncommitted words a recent hypothesis heard
    latest: list[str]  # the uncommitted words of the worker's newest hypothesis
    reference_db: float  # the speaker's level (dBFS) heard before (:data:`LEVEL_MEMORY_S`)

    @property
    def buf(self) -> np.ndarray:
        return self.ctx[self.ctx_offset:]

    @property
    def carried(self) -> list[str]:
        return self.committed[len(self.committed) - self.carry:]


@dataclass(frozen=True)
class _Tail:
    """A decode of what was not committed: ``segments`` (absolute times) of ``words``, whose first
    ``skip`` repeat committed ones."""

    segments: list["Segment"]
    words: list[str]
    skip: int


class _Decoded(NamedTuple):
    """The worker's latest decode: of the buffer starting at absolute sample ``buf_start``, on
    audio up to ``end``; the speech ended ``speech_end`` s into it and lasted ``speech_s`` s."""

    buf_start: int
    end: int
    result: "WindowResult"
    speech_end: float
    speech_s: float


class _Job(NamedTuple):
    """What the worker decodes next (:meth:`TranscriptStream._step`'s arguments): the buffer
    (starting at absolute sample ``buf_start``), the speaker's ``speech`` regions in it (s)
    ending at ``speech_end``, the committed text before it, the audio ``end`` (absolute sample)
    and the level under which a frame is a pause (``quiet_db``, dBFS)."""

    buf: np.ndarray
    speech: list[tuple[float, float]]
    speech_end: float
    buf_start: int
    prompt_text: str
    end: int
    quiet_db: float


@dataclass
class _Spec:
    """``finish()``'s tail decode made by the worker at the endpoint, before any release:
    ``snap`` is the state it decoded, ``speech_end`` the absolute end of the speech (s) it
    heard; ``tail`` None while it runs (or when it failed, ``done`` then set)."""

    snap: _Snapshot
    speech_end: float
    tail: "_Tail | None" = None
    done: bool = False
    clock: Any = None  # finish()'s, when decoded for it after the release


class TranscriptStream:
    """A streaming transcription session on a :class:`~voiceflow.asr.transcriber.Transcriber`;
    made by :meth:`Transcriber.stream` (see the module docstring for the policy).

    Args:
        transcriber: the loaded model (must stay open until :meth:`finish` returns).
        sample_rate: Hz of the fed blocks; anything else than 16 kHz is resampled (soxr).
        on_update: called on the worker thread with a :class:`StreamUpdate` whenever the
            committed or tentative text changes; exceptions it raises are logged, not raised.
        prompt: text preceding the utterance (style, spelling), as ``Transcriber.transcribe``'s:
            every decode's previous context starts with it, the committed text follows.
        hotwords: words/phrases to favour, as ``Transcriber.transcribe``'s: in every decode's
            prompt, and the final transcript spelled as they are.
    """

    def __init__(self, transcriber: "Transcriber", sample_rate: int = SAMPLE_RATE,
                 on_update: Callable[[StreamUpdate], Any] | None = None, *, prompt: str | None = None,
                 hotwords: str | None = None) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive integer (Hz), not {sample_rate!r}")
        if transcriber._decoder is None:
            raise RuntimeError("Transcriber is closed")
        self._asr = transcriber
        self.sample_rate = int(sample_rate)
        self._on_update = on_update
        self._prompt = (prompt or "").strip()
        self._hotwords = (hotwords or "").strip() or None
        self._limit = float(transcriber.config.audio_clip_limit)
        cfg = transcriber.config.asr
        self._levels = EnergyVad(cfg.speech_margin_db, cfg.silence_floor_dbfs)  # where to cut
        self._ring = _core.RingBuffer(int(RING_S * self.sample_rate))
        self._write = self._ring.write_sanitized
        self._feed_lock = threading.Lock()
        self._lock = threading.Lock()  # the state below
        self._wake = threading.Event()  # the worker's
        self._watch_wake = threading.Event()  # the endpoint watcher's
        self._resampler = None
        if self.sample_rate != SAMPLE_RATE:
            import soxr

            self._resampler = soxr.ResampleStream(self.sample_rate, SAMPLE_RATE, 1, dtype="float32")
        self._read_pos = 0  # ring position drained up to
        self.lost_samples = 0
        """Fed samples (at the fed rate) overwritten in the ring before the worker took them."""
        self.rejected_blocks = 0
        """Blocks ``feed`` could not use (wrong dtype/shape); logged by the guard."""
        self._audio = np.zeros(0, np.float32)  # 16 kHz, from absolute sample self._audio_start
        self._audio_start = 0
        self._buf_start = 0  # absolute 16 kHz sample where the buffer (uncommitted audio) begins
        self._committed: list[str] = []  # committed words, display form
        self._scores: list[tuple[float, float]] = []  # (avg_logprob, no_speech_prob) of the committing decode
        self._times: list[tuple[float, float]] = []  # (start, end) s of committed words before the buffer
        self._ends: list[float | None] = []  # aligned end (s) of each committed word when committed (None: unknown)
        self._carry = 0  # committed words that lie inside the buffer (not cut yet)
        self._after_cut = False  # the buffer starts at a cut: drop a repeat of the last words
        self._history: list[tuple[int, list[str]]] = []  # (audio end, uncommitted words) of recent hypotheses
        self._tentative = ""
        self._heard_scores = (0.0, 0.0)  # (avg_logprob, no_speech_prob) of the latest hypothesis
        self._decoded_end = 0  # absolute sample the last worker decode reached
        self._last: _Decoded | None = None
        self._inflight: tuple[int, int] | None = None  # (buf_start, end) of the worker's decode under way
        self._spec: _Spec | None = None  # the tail decoded at the last endpoint
        self._watched = 0  # absolute sample the endpoint watcher has looked for an endpoint up to
        self._watched_pos = 0  # ring position the watcher has handled
        self._decoded = threading.Condition(self._lock)  # notified when that decode is done
        self._resting: int | None = None  # sample where the speech ended with every word committed
        self._loudness: deque[tuple[int, float]] = deque()  # (absolute sample, level dBFS): the levels heard, a sliding maximum
        self.decodes = 0
        """Worker decodes so far."""
        self.first_commit_s: float | None = None
        """Audio position (s) fed when the first word was committed."""
        self._state = "open"  # open -> finishing/cancelled
        self._racers: list[threading.Thread] = []  # finish()'s tail decodes on threads of their own
        self._worker = threading.Thread(target=self._run, name="voiceflow-stream", daemon=True)
        self._watcher = threading.Thread(target=self._watch, name="voiceflow-stream-endpoint", daemon=True)
        self._worker.start()
        self._watcher.start()

    # --- feeding (any thread, the audio callback path included) ----------------------------------
    def feed(self, block: Any) -> None:
        """Append ``block`` (any dtype/shape ``audio_validation_guard`` takes, mono or
        ``(frames, channels)``) and wake the worker; returns at once.

        An ndarray block is converted, downmixed, repaired and clipped straight into the
        ring's preallocated storage by the compiled kernel (no array is allocated); other
        inputs go through the guard first.  Raises ``RuntimeError`` after :meth:`finish` /
        :meth:`cancel` (the audio would otherwise be lost silently).
        """
        with self._feed_lock:
            if self._state != "open":
                raise RuntimeError(f"TranscriptStream is {self._state}: feed() after finish()/cancel()")
            try:
                if type(block) is np.ndarray and (
                    block.ndim == 1 or (block.ndim == 2 and 0 < block.shape[1] <= MAX_CHANNELS)
                ):
                    self._write(block, self._limit)
                else:
                    clean = audio_validation_guard(block, "TranscriptStream.feed", True)
                    if clean.shape[0]:
                        self._ring.write(clean)
            except Exception as exc:  # never raise into an audio callback
                self.rejected_blocks += 1
                logger.warning("TranscriptStream.feed: dropped a block that cannot be used: %s", exc)
                return
        if not self._wake.is_set():
            self._wake.set()
        if not self._watch_wake.is_set():
            self._watch_wake.set()

    # --- reading ----------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """Committed text so far; it only ever grows (a prefix of every later value)."""
        with self._lock:
            return _join(self._committed)

    @property
    def tentative(self) -> str:
        """The latest hypothesis of what follows :attr:`text` (may change)."""
        with self._lock:
            return self._tentative

    @property
    def seconds(self) -> float:
        """Audio fed so far, seconds."""
        return self._ring.total / self.sample_rate

    @property
    def backlog_s(self) -> float:
        """Audio fed that the worker has not taken from the ring yet, seconds (it is lost
        beyond :data:`RING_S`)."""
        return (self._ring.total - self._read_pos) / self.sample_rate

    # --- ending -----------------------------------------------------------------------------------
    def finish(self) -> "Transcript":
        """Stop feeding and return the :class:`~voiceflow.asr.transcriber.Transcript` of everything
        fed: the committed words followed by the decode of the uncommitted tail.  Blocks for that
        one decode (none when the worker has decoded all of the speech already).  Raises
        ``RuntimeError`` if already finished or cancelled."""
        from voiceflow.asr.transcriber import Timings, Transcript, _Clock

        started = time.perf_counter()
        with self._feed_lock, self._lock:
            if self._state != "open":
                raise RuntimeError(f"TranscriptStream is already {self._state}")
            self._state = "finished"
            self._drain()
            if self._resting is not None and not self._new_speech(self._speaker(self._audio)[1]):
                self._end_rest()  # every word is committed and only silence came after them
            snap = self._snapshot()
            times = list(self._times)
            last, inflight, spec = self._last, self._inflight, self._spec
            duration = (self._audio_start + len(self._audio)) / SAMPLE_RATE
        self._wake.set()
        self._watch_wake.set()
        asr = self._asr
        if asr._decoder is None:
            raise RuntimeError("Transcriber is closed")
        clock = _Clock()
        committed = snap.committed
        speech = _speaker_regions(asr, snap.ctx, snap.ctx_offset, snap.reference_db)[0]
        speech_end = speech[-1][1] if speech else None
        tail: _Tail | None = None
        if speech_end is not None:
            tail = self._heard_tail(snap, last, speech_end)
            if tail is None:
                tail = self._ready_tail(snap, speech_end, spec, inflight, clock)
            if tail is None:
                tail = self._decode_tail(snap, speech_end, clock)
        stamps = times[: len(committed) - snap.carry] + _carried_times(snap.carried_ends, snap.buf_start / SAMPLE_RATE)
        segments = _segments(committed, snap.scores, stamps, [] if tail is None else tail.segments,
                             0 if tail is None else tail.skip)
        words_out = committed if tail is None else committed + tail.words[tail.skip:]
        text = _join(words_out)
        if self._hotwords:
            segments = [_replace_text(seg, respell_hotwords(seg.text, self._hotwords)) for seg in segments]
            text = respell_hotwords(text, self._hotwords)
        total = time.perf_counter() - started
        return Transcript(
            text=text,
            segments=tuple(segments),
            duration=duration,
            timings=Timings(clock.features, clock.encode, clock.decode, total),
            mode=asr.mode,
        )

    def _heard_tail(self, snap: "_Snapshot", last: _Decoded | None, speech_end: float) -> "_Tail | None":
        """The worker's last decode as the tail, when it was of the same buffer, heard the speech
        end and :data:`ENDPOINT_S` after it (only silence came since), is judged fine and has no
        fewer new words than a hypothesis made on less audio (:data:`DROPPED_WORDS`); else None."""
        asr = self._asr
        if last is None or last.buf_start != snap.buf_start:
            return None
        heard_s = (last.end - snap.buf_start) / SAMPLE_RATE
        if speech_end > heard_s - ENDPOINT_S or asr._judge(last.result, heard_s, speech_end, last.speech_s) is not None:
            return None
        segments = asr._accept(last.result, offset=snap.buf_start / SAMPLE_RATE, length=len(snap.buf) / SAMPLE_RATE,
                               speech_s=last.speech_s)
        words = [w for seg in segments for w in _split(seg.text)]
        skip, echo = _fresh_start(snap.committed, snap.carried, snap.after_cut, words)
        if echo:
            return None  # echoed or said again: finish() decodes the tail itself, which tells
        if len(words) - skip < snap.heard - DROPPED_WORDS:
            return None  # more audio cannot hold fewer words: finish() decodes the tail itself
        return _Tail(segments, words, skip)

    def _ready_tail(self, snap: "_Snapshot", speech_end: float, spec: "_Spec | None",
                    inflight: tuple[int, int] | None, clock) -> "_Tail | None":
        """The first ready of the decodes under way that hold all of the speech: the tail decoded
        at the endpoint (``spec``, :meth:`_watch`; when no speech came after that endpoint) and
        the worker's decode of the whole buffer (``inflight``; when it heard the speech end and
        :data:`ENDPOINT_S` after it).  With only the worker's under way, the tail is decoded
        meanwhile on a thread of its own (the model's other replica; its lookback is shorter, so
        it is often done first); a tail decode that lost the race runs out unused.  None when
        neither is under way (or neither is usable): ``finish()`` decodes the tail itself."""
        with_spec = spec is not None and snap.buf_start / SAMPLE_RATE + speech_end <= spec.speech_end + ENDPOINT_S
        with_step = inflight is not None and inflight[0] == snap.buf_start \
            and inflight[1] >= snap.buf_start + (speech_end + ENDPOINT_S) * SAMPLE_RATE
        if not with_spec and not with_step:
            return None
        if not with_spec:
            spec = _Spec(snap, snap.buf_start / SAMPLE_RATE + speech_end, clock=clock)
            racer = threading.Thread(target=self._speculate, args=(spec,), name="voiceflow-stream-tail", daemon=True)
            self._racers.append(racer)
            racer.start()
        assert spec is not None
        with self._decoded:
            self._decoded.wait_for(lambda: spec.done or (with_step and self._inflight != inflight), timeout=TAIL_WAIT_S)
            last = self._last
        if not spec.done and with_step and last is not None and last.end == inflight[1]:  # type: ignore[index]
            heard = self._heard_tail(snap, last, speech_end)
            if heard is not None:
                return heard
        with self._decoded:
            self._decoded.wait_for(lambda: spec.done, timeout=TAIL_WAIT_S)
        tail = spec.tail
        if tail is None:
            return None
        # the words the worker committed since that state must be the ones it heard next
        since = [_norm(w) for w in snap.committed[len(spec.snap.committed):]]
        if [_norm(w) for w in tail.words[tail.skip:tail.skip + len(since)]] != since:
            return None
        return _Tail(tail.segments, tail.words, tail.skip + len(since))

    def _snapshot(self, audio: np.ndarray | None = None) -> "_Snapshot":
        """What a tail decode needs, copied (lock held); ``audio``: the 16 kHz audio from
        ``_audio_start`` on, when more than the worker has taken."""
        ctx_offset = self._buf_start - self._audio_start
        carry = self._carry
        return _Snapshot(
            ctx=self._audio if audio is None else audio, ctx_offset=ctx_offset, buf_start=self._buf_start, carry=carry, committed=list(self._committed), scores=list(self._scores),
            carried_ends=self._ends[len(self._ends) - carry:] if carry else [], after_cut=self._after_cut,
            heard=max((len(h) for _, h in self._history), default=0),
            latest=list(self._history[-1][1]) if self._history else [],
            reference_db=self._reference_db(),
        )

    def _decode_tail(self, snap: "_Snapshot", speech_end: float, clock) -> "_Tail":
        """Decode what ``snap`` has not committed (``speech_end``: seconds into its buffer), the
        way ``finish()`` does: from a gap after the committed words with
        :data:`FINISH_LOOKBACK_S` of them (:func:`_finish_cut`), the committed text before as
        previous context, through the one-shot path's escalation ladder; again without the
        context when that decode skipped words.  Thread-safe (reads only ``snap``)."""
        committed, carry = snap.committed, snap.carry
        buf, buf_start = snap.buf, snap.buf_start
        k, cut_s = _finish_cut(self._levels, buf, buf_start / SAMPLE_RATE, snap.carried_ends)
        if k and cut_s < speech_end:  # decode from the cut: less lookback, fewer committed words decoded again
            cut = int(cut_s * SAMPLE_RATE)
            buf, buf_start, carry = buf[cut:], buf_start + cut, carry - k
            speech_end -= cut_s
        prompt_text = _join(committed[: len(committed) - carry])
        carried = committed[len(committed) - carry:]
        first: list = []
        segments = self._decode_buffer(buf, buf_start, speech_end, prompt_text, clock, first if carried else None,
                                       reference_db=snap.reference_db)
        words = [w for seg in segments for w in _split(seg.text)]
        timing: tuple = (None, None)
        if first and [_norm(w) for w in words[:len(carried)]] != [_norm(w) for w in carried]:
            # the carried words are not said as committed: drop them by their aligned time,
            # aligned only now (an exact repeat, the usual case, needs no times)
            t0 = time.perf_counter()
            rung, decoder = first[0], self._asr._decoder
            if decoder is None:
                raise RuntimeError("Transcriber is closed")
            aligned = rung.words if rung.words is not None else decoder.align_words(
                rung.encoded, rung.tokens, len(buf) / SAMPLE_RATE)
            clock.decode += time.perf_counter() - t0
            timing = _carried_by_time(list(aligned), words, snap.carried_ends, buf_start)
        decoded_alone: dict[bool, tuple[list, list[str]]] = {}

        def without_context(cover: bool) -> tuple[list, list[str]]:
            """The buffer decoded the one-shot way (no previous text), once per ``cover``."""
            if cover not in decoded_alone:
                found = self._decode_buffer(buf, buf_start, speech_end, "", clock, cover=cover,
                                            reference_db=snap.reference_db)
                decoded_alone[cover] = (found, [w for seg in found for w in _split(seg.text)])
            return decoded_alone[cover]

        skip, echo = _fresh_start(committed, carried, snap.after_cut, words, *timing)
        if echo and prompt_text:
            skip += _context_echo(echo, committed, carried, snap.after_cut, without_context(False)[1])
        skipped = len(words) - skip < snap.heard - DROPPED_WORDS
        restarted = _restarted(committed, words[skip:], snap.latest)
        if prompt_text and (skipped or restarted):
            # more audio cannot hold fewer words: the decoder skipped some, led by the context;
            # or it said a phrase twice that the worker heard once: it restarted the utterance
            # after the context (a loop's first step); the one-shot way (no previous text) decides
            # (its words aligned: both decodes may end the text at a pause, leaving the sentence
            # after it out, which the coverage rule then decodes on its own)
            plain_segments, plain_words = without_context(skipped)
            plain_skip = _fresh_start(committed, carried, snap.after_cut, plain_words)[0]  # no context to echo
            if (len(plain_words) - plain_skip > len(words) - skip) if skipped \
                    else not _restarted(committed, plain_words[plain_skip:], snap.latest):
                segments, words, skip = plain_segments, plain_words, plain_skip
        return _Tail(segments, words, skip)

    def _decode_buffer(self, buf: np.ndarray, buf_start: int, speech_end: float, previous_text: str,
                       clock, first: list | None = None, cover: bool = False,
                       reference_db: float = -np.inf) -> list["Segment"]:
        """Segments (absolute times) of ``buf`` (starting at sample ``buf_start``, its speech
        ending ``speech_end`` s in) decoded with ``previous_text`` as previous context: the
        one-shot ladder; a decode the context made run on is redone without it; then the
        one-shot path's coverage rule (a speech region the text does not account for is decoded
        on its own and merged in; ``cover``: with the words aligned to the audio, so that speech
        under no word is found whatever the segments' times say).  ``first``: receives the
        ladder's first rung (a ``WindowResult`` with its encoder output, to align its words if
        needed) when that rung is taken; ``reference_db``: the speaker's level heard before the
        buffer (the coverage rule judges quiet regions against it)."""
        asr = self._asr
        decoder = asr._decoder
        if decoder is None:
            raise RuntimeError("Transcriber is closed")
        offset = buf_start / SAMPLE_RATE
        length = len(buf) / SAMPLE_RATE
        if len(buf) > asr.config.asr.max_chunk_s * SAMPLE_RATE:  # the worker fell far behind
            tail = asr._transcribe_samples(buf, time.perf_counter(), prompt=self._context(previous_text) or None,
                                           hotwords=self._hotwords)
            clock.features += tail.timings.features
            clock.encode += tail.timings.encode
            clock.decode += tail.timings.decode
            return [_shift(seg, offset) for seg in tail.segments]
        prompt = self._prompt_tokens(decoder, previous_text, asr.config.asr.timestamps)
        regions = asr._vad.speech_regions(buf)
        speech_s = speech_seconds(regions)  # words repeated within what it can hold were spoken
        result = None
        if previous_text and asr.config.asr.context == "adaptive":  # the ladder's first rung, then:
            rung = _first_rung(asr, decoder, buf, speech_end, prompt, align=cover, keep_encoded=first is not None,
                               speech_s=speech_s)
            clock.add(rung)
            reason = asr._judge(rung, length, speech_end, speech_s)
            if reason is None:
                if first is not None:
                    first.append(rung)
                result = rung
            elif reason in ("loop", "budget"):
                # the decoder runs on from its context: more silence does not cure that (the
                # ladder's next rungs), no context does -- the one-shot way
                return self._decode_buffer(buf, buf_start, speech_end, "", clock, cover=cover, reference_db=reference_db)
        if result is None:
            result = asr._decode_chunk(decoder, buf, speech_end, prompt, clock, speech_s, align=cover, regions=regions)
        segments = asr._accept(result, offset=0.0, length=length, speech_s=speech_s)
        # the decoder may end the text at a pause and leave the next sentence out, with or
        # without the context (seen: "...fine typography." for 8 s of a tail whose last 5 s are
        # a sentence of their own): the rule that catches it in one-shot decodes
        segments = asr._account_for_speech(decoder, buf, regions, segments, prompt, clock, result.words, reference_db)
        return [_shift(seg, offset) for seg in segments]

    def _context(self, committed_text: str) -> str:
        """Previous context of a decode: the caller's prompt, then ``committed_text``."""
        return f"{self._prompt} {committed_text}".strip()

    def _prompt_tokens(self, decoder, committed_text: str, timestamps: bool) -> list[int]:
        """A decode's prompt after ``committed_text`` ("" for a decode without the committed
        context: the caller's prompt and hotwords stay, they are what the caller asked for)."""
        return decoder.prompt(self._context(committed_text) or None, self._hotwords, timestamps=timestamps)

    def cancel(self) -> None:
        """Drop the stream: the worker stops, nothing more is decoded.  Idempotent; after
        :meth:`finish` it does nothing."""
        with self._feed_lock, self._lock:
            if self._state == "open":
                self._state = "cancelled"
        self._wake.set()
        self._watch_wake.set()
        for thread in (self._worker, self._watcher):
            if thread is not threading.current_thread():
                thread.join()

    def _settle(self) -> None:
        """Cancel if open, and wait until no thread of this stream is decoding (the
        transcriber's ``close()``: a finished stream's worker may still be in a decode, and so
        may a tail decode that lost the race)."""
        self.cancel()
        for thread in (self._worker, self._watcher, *self._racers):
            if thread is not threading.current_thread():
                thread.join()

    def __enter__(self) -> "TranscriptStream":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if self._state != "open":
            return
        if exc_type is None:
            self.finish()
        else:
            self.cancel()

    # --- the worker -------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(0.25)
                self._wake.clear()
                with self._lock:
                    if self._state != "open":
                        return
                    self._drain()
                    end = self._audio_start + len(self._audio)
                    endpoint = self._speech_just_ended(end)
                    if end - self._decoded_end < STEP_S * SAMPLE_RATE and not endpoint:
                        continue
                    job = self._job(end)
                    if job is not None:
                        self._inflight = (job.buf_start, end)
                if job is None:
                    continue
                try:
                    self._step(*job)
                finally:
                    with self._decoded:
                        self._inflight = None
                        self._decoded.notify_all()
        except Exception:
            logger.exception("TranscriptStream worker failed; finish() still decodes everything fed")

    def _watch(self) -> None:
        """The endpoint watcher's loop (a thread beside the worker): at each endpoint, decode the
        tail as ``finish()`` would (:meth:`_speculate`) on the model's other replica, so that
        neither waits for the other."""
        try:
            while True:
                self._watch_wake.wait(0.25)
                self._watch_wake.clear()
                with self._lock:
                    if self._state != "open":
                        return
                    fed = self._ring.total
                    spec = self._endpoint_spec()
                    self._watched_pos = fed
                if spec is not None:
                    self._speculate(spec)
        except Exception:
            logger.exception("TranscriptStream endpoint watcher failed; finish() still decodes everything fed")

    def _endpoint_spec(self) -> "_Spec | None":
        """A new :class:`_Spec` when the speech in the buffer has been followed by
        :data:`ENDPOINT_S` of silence since the last one (and no worker decode heard that
        yet), else None (lock held).  Reads the audio the worker has not taken yet without
        taking it (the worker's backlog and the ring's bound stay what they are); not when
        the worker is more than :data:`WATCH_BACKLOG_S` behind (under load the worker's
        decodes are late anyway)."""
        data, total = self._ring.since(self._read_pos)
        if total - self._read_pos > WATCH_BACKLOG_S * self.sample_rate:
            return None
        if data.shape[0] and self._resampler is not None:  # a copy of the stream's state would be exact; this is for a decision
            import soxr

            data = soxr.resample(data, self.sample_rate, SAMPLE_RATE)
        end = self._audio_start + len(self._audio) + data.shape[0]
        if end - self._watched < ENDPOINT_S * SAMPLE_RATE / 2:
            return None  # before copying the buffer: most wake-ups end here
        self._watched = end
        audio = np.concatenate([self._audio, np.asarray(data, np.float32)]) if data.shape[0] else self._audio
        found = self._endpoint(audio)
        if found is None:
            return None
        speech_end, endpoint = found
        if self._resting is not None and not self._new_speech(speech_end):
            return None  # every word is committed already
        said_until = self._buf_start / SAMPLE_RATE + speech_end
        if endpoint > end or (self._spec is not None and said_until <= self._spec.speech_end + ENDPOINT_S):
            return None
        if self._last is not None and self._last.buf_start == self._buf_start and self._last.end >= endpoint:
            return None  # the worker's own decode heard it
        self._spec = _Spec(self._snapshot(audio), said_until)
        return self._spec

    def _speculate(self, spec: _Spec) -> None:
        """Decode the tail as ``finish()`` would on ``spec``'s state (the watcher's thread, or
        one of its own), so that a release during the pause finds it done (:meth:`_ready_tail`)."""
        from voiceflow.asr.transcriber import _Clock

        try:
            spec.tail = self._decode_tail(spec.snap, spec.speech_end - spec.snap.buf_start / SAMPLE_RATE,
                                          spec.clock or _Clock())
        except Exception:  # finish() decodes the tail itself
            logger.exception("TranscriptStream: a tail decode failed")
        finally:
            with self._decoded:
                spec.done = True
                self._decoded.notify_all()

    def _emit(self, update: StreamUpdate) -> None:
        """Call ``on_update`` (worker thread)."""
        if self._on_update is None:
            return
        try:
            self._on_update(update)
        except Exception:  # a display error must not stop transcription
            logger.exception("TranscriptStream on_update raised")

    def _idle(self) -> bool:
        """Whether the worker and the endpoint watcher have taken everything fed and neither is
        decoding (a replay feeds the next block only then: ``voiceflow.bench.stream.feed_caught_up``)."""
        with self._lock:
            total = self._ring.total
            return self._read_pos == total and self._watched_pos == total and self._inflight is None \
                and (self._spec is None or self._spec.done)

    def _drain(self) -> None:
        """Ring -> 16 kHz audio (lock held)."""
        data, total = self._ring.since(self._read_pos)
        missed = (total - self._read_pos) - data.shape[0]
        if missed > 0:
            self.lost_samples += missed
            logger.warning("TranscriptStream fell %.1f s behind; that audio was lost", missed / self.sample_rate)
        self._read_pos = total
        if self._resampler is not None:
            data = self._resampler.resample_chunk(data, last=self._state != "open")
        if data.shape[0]:
            self._audio = np.concatenate([self._audio, np.asarray(data, np.float32)])

    def _speech_just_ended(self, end: int) -> bool:
        """Whether the speech in the buffer ended :data:`ENDPOINT_S` or more before ``end`` and
        the last decode did not hear that much silence after it (lock held)."""
        if end - self._decoded_end < ENDPOINT_S * SAMPLE_RATE / 2:
            return False
        found = self._endpoint(self._audio)
        return found is not None and self._decoded_end < found[1] <= end

    def _endpoint(self, audio: np.ndarray) -> tuple[float, int] | None:
        """``(speech end, endpoint)`` of the buffer's speech (``audio``: 16 kHz from
        ``_audio_start`` on): where it ends, seconds into the buffer, and the absolute sample
        :data:`ENDPOINT_S` after that; None when the buffer holds no speech (lock held)."""
        speech_end = self._speaker(audio)[1]
        if speech_end is None:
            return None
        return speech_end, self._buf_start + int((speech_end + ENDPOINT_S) * SAMPLE_RATE)

    def _speaker(self, audio: np.ndarray) -> tuple[list[tuple[float, float]], float | None]:
        """The speaker's speech regions in the buffer (:func:`_speaker_regions`; ``audio``: 16 kHz
        from ``_audio_start`` on) and where they end (s into the buffer; None: no speech); the
        level heard is remembered (lock held)."""
        end = self._audio_start + len(audio)
        speech, phrase_db = _speaker_regions(self._asr, audio, self._buf_start - self._audio_start,
                                             self._reference_db(end))
        if phrase_db > -np.inf:
            while self._loudness and self._loudness[-1][1] <= phrase_db:
                self._loudness.pop()  # a louder level heard later outlives it
            self._loudness.append((end, phrase_db))
        return speech, (speech[-1][1] if speech else None)

    def _reference_db(self, now: int | None = None) -> float:
        """The speaker's level: the loudest speech heard in the :data:`LEVEL_MEMORY_S` before
        absolute sample ``now`` (default: the audio taken), dBFS; -inf before any (lock held)."""
        if now is None:
            now = self._audio_start + len(self._audio)
        while self._loudness and self._loudness[0][0] < now - LEVEL_MEMORY_S * SAMPLE_RATE:
            self._loudness.popleft()
        return self._loudness[0][1] if self._loudness else -np.inf

    def _job(self, end: int) -> "_Job | None":
        """What to decode now (lock held): the arguments of :meth:`_step`, or None when the
        buffer has no speech (it is then shortened)."""
        self._decoded_end = end
        ctx_offset = self._buf_start - self._audio_start
        speech, speech_end = self._speaker(self._audio)
        buf = self._audio[ctx_offset:]
        if self._resting is not None:
            if not self._new_speech(speech_end):
                if end - self._resting > PAUSE_LOOKBACK_S * SAMPLE_RATE:  # a new phrase, if any, starts afresh
                    self._end_rest()
                return None
            self._resting = None
        if speech_end is None:
            if (self._carry or self._tentative) and len(buf) >= LONG_BUFFER_S * SAMPLE_RATE:
                # words heard where the detector hears no speech any more: keep them as heard
                rest = self._history[-1][1] if self._history else []
                span = (round(self._buf_start / SAMPLE_RATE, 3), round(end / SAMPLE_RATE, 3))
                self._committed.extend(rest)
                self._scores.extend([self._heard_scores] * len(rest))
                self._ends.extend([None] * len(rest))
                self._times.extend([span] * (self._carry + len(rest)))
                self._carry, self._tentative = 0, ""
            if self._carry == 0 and not self._tentative:
                self._cut(max(self._buf_start, end - int(KEEP_SILENCE_S * SAMPLE_RATE)), after_cut=False)
            return None
        prompt = _join(self._committed[: len(self._committed) - self._carry])
        return _Job(buf, speech, speech_end, self._buf_start, prompt, end, _quiet_db(self._levels, self._audio))

    def _new_speech(self, speech_end: float | None) -> bool:
        """Whether speech was heard after the resting point (lock held; ``speech_end``: where
        the speech in the buffer ends, seconds into it)."""
        return speech_end is not None and self._buf_start + speech_end * SAMPLE_RATE > self._resting + ENDPOINT_S * SAMPLE_RATE

    def _end_rest(self) -> None:
        """The pause went on: cut the committed speech away (lock held)."""
        stop = self._resting + int(ENDPOINT_S * SAMPLE_RATE)
        self._times.extend([(round(self._buf_start / SAMPLE_RATE, 3), round(stop / SAMPLE_RATE, 3))] * self._carry)
        self._carry = 0
        self._resting = None
        self._cut(stop, after_cut=False)

    def _step(self, buf: np.ndarray, speech: list[tuple[float, float]], speech_end: float, buf_start: int,
              prompt_text: str, end: int, quiet_db: float) -> None:
        """Decode the buffer (``speech``: the speaker's regions in it, s, ending at
        ``speech_end``), commit what the hypotheses agree on (:func:`_agreement`), report it
        (``on_update``), cut at the commit."""
        asr = self._asr
        decoder = asr._decoder
        if decoder is None:
            return
        cfg = asr.config.asr
        duration = len(buf) / SAMPLE_RATE
        # timestamps even in text-only modes: they tell whether the text covers the speech
        prompt = self._prompt_tokens(decoder, prompt_text, True)
        speech_s = speech_seconds(speech)  # words repeated within what it can hold were spoken
        result = _first_rung(asr, decoder, buf, speech_end, prompt, align=True, commits=True, speech_s=speech_s)
        self.decodes += 1
        alone = None  # the decode without the committed text as context, when made
        # the speech, but for the end the stopped-short rule tolerates: a word being spoken as the
        # buffer ends is often left out, and the aligner stretches the last word over it
        heard_by = speech_end - _ctx.UNCOVERED_SPEECH_TOLERANCE_S
        regions = [(a, min(b, heard_by)) for a, b in speech if a < heard_by] if prompt_text else []
        if prompt_text and (_words_end(result) < heard_by or _overlong_word(result, regions)):
            # the committed text led the decoder to stop before the speech does (it ends the
            # carried sentence and says no more) or to leave speech out under one word (7 s of
            # a repeated sentence heard as its last word, "internet."): the one-shot way,
            # without it, as finish() does; the decode that leaves less speech unheard is kept
            alone = _first_rung(asr, decoder, buf, speech_end, self._prompt_tokens(decoder, "", True),
                                align=True, commits=True, speech_s=speech_s)
            self.decodes += 1
            if (_unheard_s(alone, regions), -_words_end(alone)) < (_unheard_s(result, regions), -_words_end(result)):
                result = alone
        reason = asr._judge(result, duration, None, speech_s)
        if reason in ("budget", "loop", "padding"):
            return  # a broken hypothesis: wait for the next one
        silent = is_silent(result.no_speech_prob, result.avg_logprob, cfg)
        spoken = [] if silent else result.text.split()
        aligned = _aligned_words(result.words or ())
        scores = [(p, end) for p, _, end in aligned]
        spans: list[tuple[float, float]] | None = [(start, end) for _, start, end in aligned]
        if len(scores) != len(spoken):  # the aligner split the text otherwise: no word is judged unsure
            scores, spans = [(1.0, 0.0)] * len(spoken), None
        hyp, scores, middles = _split_scored(spoken, scores, spans)
        ended = speech_end <= duration - SPEECH_ENDED_S
        with self._lock:
            if self._buf_start == buf_start:
                self._last = _Decoded(buf_start, end, result, speech_end, speech_s)  # finish() may be waiting for it
            if self._state != "open" or self._buf_start != buf_start:
                return
            committed = list(self._committed)  # only this thread changes them
            carry = committed[len(committed) - self._carry:]
            last_end = self._ends[-1] if self._ends else None  # where the last committed word ends
            after_cut = self._after_cut
        carry_end = None if last_end is None else last_end - buf_start / SAMPLE_RATE
        skip, echo = _fresh_start(committed, carry, after_cut, hyp, middles, carry_end)
        if echo and prompt_text and result is not alone:
            if alone is None:
                alone = _first_rung(asr, decoder, buf, speech_end, self._prompt_tokens(decoder, "", True),
                                    commits=True, speech_s=speech_s)
                self.decodes += 1
            skip += _context_echo(echo, committed, carry, after_cut, _split(alone.text))
        with self._lock:
            if self._state != "open" or self._buf_start != buf_start:
                return
            self._heard_scores = (result.avg_logprob, result.no_speech_prob)
            before = (len(self._committed), self._tentative)
            fresh = hyp[skip:]
            agreed = _agreement(fresh, self._history, end)
            if not ended:
                agreed = agreed[: max(0, min(len(agreed), len(fresh) - 1))]
            if reason == "low_logprob":  # unsure: the one-shot ladder would redo it, so finish() does
                agreed = []
            elif reason == "repetition":
                # a repeated phrase the buffer's speech can hold may be spoken, or the decoder's
                # loop: one-shot decodes again to tell (``repetitions_reproduced``), as finish()'s
                # ladder does; the words before it are settled, the phrase and after it wait
                agreed = agreed[: max(0, _repetition_start(hyp) - skip)]
            sure = _sure_words(scores[skip:skip + len(agreed)], speech)
            if sure < len(agreed):
                k = skip + sure  # the first word held back: is it the word or only its case that is unsure?
                other = _case_swapped_probability(decoder, result.encoded, hyp[:k], hyp[k], _ctx.content_frames(len(buf)))
                if other is not None:
                    scores[k] = (scores[k][0] + other, scores[k][1])
                    sure = _sure_words(scores[skip:skip + len(agreed)], speech)
            agreed = agreed[:sure]
            if len(agreed) == 0 and duration >= MAX_BUFFER_S:
                agreed = fresh[: max(0, len(fresh) - FORCED_KEEP_WORDS)]  # no agreement in sight
            if agreed:
                if self.first_commit_s is None:
                    self.first_commit_s = end / SAMPLE_RATE
                self._committed.extend(agreed)
                self._scores.extend([(result.avg_logprob, result.no_speech_prob)] * len(agreed))
                self._ends.extend(None if middles is None else buf_start / SAMPLE_RATE + scores[skip + i][1]
                                  for i in range(len(agreed)))
                self._carry += len(agreed)
            self._history = _rebase(self._history, agreed, end) + [(end, fresh[len(agreed):])]
            self._tentative = _join(fresh[len(agreed):])
            changed = before != (len(self._committed), self._tentative)
            update = StreamUpdate(_join(self._committed), self._tentative, end / SAMPLE_RATE) if changed else None
            committed_in_buf = skip + len(agreed)
            covered = asr._judge(result, duration, speech_end, speech_s) is None
            if ended and covered and hyp and not fresh[len(agreed):]:  # all heard is committed, silence follows
                words_end = _words_end(result)
                left_out = _left_out_passage(speech, [level_db(buf, region) for region in speech],
                                             self._reference_db(), result.words or (), words_end)
                if left_out is None:  # rest from where the speech and the words heard in it end
                    self._resting = buf_start + int(max(speech_end, min(words_end, duration)) * SAMPLE_RATE)
                else:  # not silence: a quiet passage the decode left out gets a buffer of its own
                    self._times.extend(_carried_times(self._ends[len(self._ends) - self._carry:], buf_start / SAMPLE_RATE))
                    self._carry = 0
                    self._cut(buf_start + int(left_out * SAMPLE_RATE), after_cut=True)
                    self._history = []
            n_carry = self._carry
        if update is not None:
            self._emit(update)  # before the cut's alignment: the words are shown as soon as they are settled
        if agreed and speech_end > duration - ENDPOINT_S:
            # cut while the speech goes on; a decode that heard it end may be the tail at release
            # (finish() takes it only for the same buffer), and the next speech cuts soon enough
            self._cut_at_words(result.encoded, buf, buf_start, hyp, committed_in_buf, n_carry, quiet_db)
        if duration >= HARD_BUFFER_S:
            with self._lock:  # no agreement and no gap for this long: commit what was heard
                if self._state == "open" and self._buf_start == buf_start:
                    rest = self._history[-1][1] if self._history else []
                    self._committed.extend(rest)
                    self._scores.extend([(result.avg_logprob, result.no_speech_prob)] * len(rest))
                    self._ends.extend([None] * len(rest))
                    span = (round(buf_start / SAMPLE_RATE, 3), round((buf_start + len(buf)) / SAMPLE_RATE, 3))
                    self._times.extend([span] * (self._carry + len(rest)))
                    self._carry = 0
                    self._tentative = ""
                    self._cut(buf_start + len(buf), after_cut=True)
                    self._history = []
                    update = StreamUpdate(_join(self._committed), "", end / SAMPLE_RATE)
                else:
                    update = None
            if update is not None:
                self._emit(update)

    def _cut_at_words(self, encoded, buf, buf_start, hyp, n_committed, n_carry, quiet_db) -> None:
        """Align the committed words to the audio and cut the buffer in a gap between two of
        them, keeping at least :data:`LOOKBACK_S` of committed speech in front of the
        uncommitted words.

        The kept committed words stay in the buffer as carry (skipped in later hypotheses):
        the decoder hears what leads into the next words, and a cut placed by an alignment off
        by a few frames clips a committed word, whose text is settled, never an uncommitted one.
        ``hyp[:n_committed]`` are the committed words in the buffer, ``n_carry`` of them
        committed before this hypothesis."""
        asr = self._asr
        decoder = asr._decoder
        if decoder is None or n_committed < 2:
            return
        spans = _align(decoder, encoded, hyp[:n_committed], _ctx.content_frames(len(buf)))
        if spans is None:
            return
        last_end = spans[-1][1]
        first_kept = None
        # a gap quiet enough to be a pause; in a long buffer of unbroken speech, the quietest spot
        thresholds = (quiet_db, np.inf) if len(buf) >= LONG_BUFFER_S * SAMPLE_RATE else (quiet_db,)
        for threshold in thresholds:
            for k in range(n_committed - 1, 0, -1):  # the latest gap with enough speech after it
                if last_end - spans[k][0] < LOOKBACK_S:
                    continue
                end, start = spans[k - 1][1], spans[k][0]
                cut_s = _quietest(self._levels, buf, end - CUT_SEARCH_S, min(start, end) + 0.02, threshold)
                if cut_s is not None:
                    first_kept = k
                    break
            if first_kept is not None:
                break
        if first_kept is None or n_committed - first_kept > n_carry:
            return
        with self._lock:
            if self._state != "open" or self._buf_start != buf_start or self._carry != n_carry:
                return
            offset = buf_start / SAMPLE_RATE
            before = n_committed - self._carry  # hypothesis index of the first carried word
            for k in range(before, first_kept):
                w0, w1 = spans[max(k, 0)]
                self._times.append((round(offset + w0, 3), round(offset + min(w1, cut_s), 3)))
            self._carry = n_committed - first_kept
            self._cut(buf_start + int(cut_s * SAMPLE_RATE), after_cut=True)

    def _cut(self, new_start: int, *, after_cut: bool) -> None:
        """Move the buffer start to ``new_start`` (lock held); keep VAD context before it."""
        if new_start <= self._buf_start:
            return
        self._buf_start = new_start
        self._after_cut = after_cut
        if not after_cut:
            self._history = []
        keep_from = max(self._audio_start, new_start - int(VAD_CONTEXT_S * SAMPLE_RATE))
        if keep_from > self._audio_start:
            self._audio = self._audio[keep_from - self._audio_start:].copy()
            self._audio_start = keep_from
        self._last = None


# --- helpers --------------------------------------------------------------------------------------
def _norm(word: str) -> str:
    return " ".join(_norm_words(word))


_COMPOUND = re.compile(r"(?<=[^\W_]-)(?=[^\W_])")


def _split(text: str) -> list[str]:
    """The stream's words of ``text``: whitespace-separated, and a hyphenated compound split
    after each hyphen (``self-substantial`` -> ``self-``, ``substantial``).  Two decodes of
    the same speech write a compound joined or apart ("self substantial"); compared as whole
    words, the joined one cannot match the carried ``self`` and skipping it loses the rest."""
    return [part for word in text.split() for part in _COMPOUND.split(word)]


def _split_scored(words: list[str], scores: list[tuple[float, float]], spans: list[tuple[float, float]] | None
                  ) -> tuple[list[str], list[tuple[float, float]], list[float] | None]:
    """:func:`_split` of ``words``, each part with its whole word's probability, and its share
    of the word's time (``spans``, when known; shared by letters): the part's end in its score,
    and the middles of the parts."""
    parts: list[str] = []
    part_scores: list[tuple[float, float]] = []
    middles: list[float] = []
    for i, (word, (probability, end)) in enumerate(zip(words, scores)):
        pieces = _COMPOUND.split(word)
        parts.extend(pieces)
        if spans is None:
            part_scores.extend([(probability, end)] * len(pieces))
            continue
        start, stop = spans[i]
        letters = [max(1, sum(c.isalnum() for c in p)) for p in pieces]
        edges = start + (stop - start) * np.cumsum([0, *letters]) / sum(letters)
        part_scores.extend((probability, float(b)) for b in edges[1:])
        middles.extend(float(a + b) / 2 for a, b in zip(edges, edges[1:]))
    return parts, part_scores, None if spans is None else middles


def _join(words: list[str]) -> str:
    """Words back into text: a space between them, none after a compound's hyphen."""
    out: list[str] = []
    for word in words:
        if out and _COMPOUND.search(out[-1][-2:] + word[:1]):
            out[-1] += word
        else:
            out.append(word)
    return " ".join(out)


def _rebase(history: list[tuple[int, list[str]]], agreed: list[str], now: int) -> list[tuple[int, list[str]]]:
    """Recent hypotheses with the newly committed words removed from their front (those that
    do not start with them cannot vote any more), the ones older than needed dropped."""
    keep = []
    n = len(agreed)
    for end, words in history:
        if n and [_norm(w) for w in words[:n]] != [_norm(w) for w in agreed]:
            continue
        keep.append((end, words[n:]))
    reference = _reference(keep, now)
    return keep if reference is None else keep[reference:]


def _reference(history: list[tuple[int, list[str]]], now: int) -> int | None:
    """Index in ``history`` of the newest hypothesis made on at least :data:`AGREE_GAP_S` less
    audio than sample ``now`` (None: none is that old)."""
    old = [i for i, (end, _) in enumerate(history) if end <= now - AGREE_GAP_S * SAMPLE_RATE]
    return old[-1] if old else None


def _aligned_words(aligned) -> list[tuple[float, float, float]]:
    """``(probability, start s, end s)`` per whitespace-separated word of the aligned text: the
    aligner's pieces that do not start with a space belong to the word before (the lowest
    probability counts, the last piece's end ends it); punctuation on its own says nothing about
    the word."""
    out: list[tuple[float, float, float]] = []
    for piece in aligned:
        if piece.text.startswith(" ") or not out:
            out.append((piece.probability, piece.start, piece.end))
        elif any(c.isalnum() for c in piece.text):
            probability, start, _ = out[-1]
            out[-1] = (min(probability, piece.probability), start, piece.end)
    return out


def _word_scores(aligned) -> list[tuple[float, float]]:
    """``(probability, end s)`` per word of :func:`_aligned_words`."""
    return [(probability, end) for probability, _, end in _aligned_words(aligned)]


def _words_end(result: "WindowResult") -> float:
    """Where the aligned words of ``result`` end, s into the window (the judge's ``uncovered``
    rule reads the segments' end instead, which a text-only or unclosed decode sets to the
    window's)."""
    return max((w.end for w in result.words or () if any(c.isalnum() for c in w.text)), default=0.0)


def _word_spans(result: "WindowResult") -> list[tuple[float, float]]:
    """``(start, end)`` s per word of :func:`_aligned_words`."""
    return [(start, end) for _, start, end in _aligned_words(result.words or ())]


def _unheard_s(result: "WindowResult", regions: list[tuple[float, float]]) -> float:
    """:func:`voiceflow.asr.context.unheard_speech_s` of the aligned words of ``result``."""
    return _ctx.unheard_speech_s(regions, _word_spans(result))


def _overlong_word(result: "WindowResult", regions: list[tuple[float, float]]) -> bool:
    """Whether an aligned word of ``result`` is :func:`voiceflow.asr.context.overlong`."""
    return any(_ctx.overlong(span, regions) for span in _word_spans(result))


def _sure_words(scores: list[tuple[float, float]], speech: list[tuple[float, float]]) -> int:
    """How many leading words are sure: given at least :data:`MIN_WORD_PROBABILITY`, or
    heard with :data:`RIGHT_CONTEXT_S` of speech after them (``speech``: the buffer's speech
    regions, s; a pause after a word holds no words that could settle it)."""
    n = 0
    while n < len(scores) and (scores[n][0] >= MIN_WORD_PROBABILITY
                               or _speech_after(speech, scores[n][1]) >= RIGHT_CONTEXT_S):
        n += 1
    return n


def _speech_after(speech: list[tuple[float, float]], t: float) -> float:
    """Seconds of ``speech`` (regions, s) after time ``t``."""
    return speech_seconds([(max(a, t), b) for a, b in speech if b > t])


def _agreement(fresh: list[str], history: list[tuple[int, list[str]]], now: int) -> list[str]:
    """The leading words of ``fresh`` (the newest hypothesis, of audio up to sample ``now``) on
    which every hypothesis in ``history`` (``(audio end, words)``, oldest first) since the newest
    one made on at least :data:`AGREE_GAP_S` less audio agrees: stable for that long, not only
    at its two ends.  Empty when no hypothesis is that old."""
    reference = _reference(history, now)
    if reference is None:
        return []
    agreed = fresh
    for _, words in history[reference:]:
        agreed = _common_prefix(agreed, words)
    return agreed


def _common_prefix(a: list[str], b: list[str]) -> list[str]:
    """The longest common prefix of two word lists (words compared case- and punctuation-blind:
    Whisper re-punctuates the end of a growing buffer)."""
    n = 0
    for x, y in zip(a, b):
        if _norm(x) != _norm(y) or not _norm(x):
            break
        n += 1
    return a[:n]


def _after_prefix(carry: list[str], hyp: list[str], middles: list[float] | None = None,
                  carry_end: float | None = None) -> int:
    """Index in ``hyp`` just after the words that repeat ``carry`` (committed words still in the
    buffer).  Exact prefix first; otherwise the best alignment of the two (``difflib``), and
    past its last matching words, when the words' times are known (``middles``: the middle of
    each word of ``hyp``, s; ``carry_end``: where the last carried word ends, s), the words
    whose middle lies before ``carry_end``: a decode that hears the carried words otherwise
    ("and crease" as "increase") says them in another number of words, so counting them off
    would skip or repeat a word after them."""
    if not carry:
        return 0
    if hyp[: len(carry)] == carry:
        return len(carry)
    head = hyp[: len(carry) + 2]  # the carried words are at the start of the buffer's audio
    blocks = [b for b in difflib.SequenceMatcher(None, carry, head, autojunk=False).get_matching_blocks() if b.size]
    if middles is not None and carry_end is not None:
        n = blocks[-1].b + blocks[-1].size if blocks else 0
        while n < len(hyp) and middles[n] < carry_end:
            n += 1
        return n
    if not blocks:  # leading words that sound like the carried ones are them, heard differently
        n = 0
        while n < min(len(carry), len(hyp)) and difflib.SequenceMatcher(None, carry[n], hyp[n]).ratio() >= 0.5:
            n += 1
        return n
    last = blocks[-1]
    return min(len(hyp), last.b + last.size + (len(carry) - (last.a + last.size)))


def _fresh_start(committed: list[str], carried: list[str], after_cut: bool, words: list[str],
                 middles: list[float] | None = None, carry_end: float | None = None) -> tuple[int, int]:
    """``(start, echo)`` for a decode (``words``) of a buffer that starts with the ``carried``
    committed words (``after_cut``: right after a cut behind committed speech; ``middles``,
    ``carry_end``: as :func:`_after_prefix`): the index of its first word after the committed
    ones, and the length of the run from there that repeats the committed end (:func:`_echo`;
    0 unless the buffer starts right after committed speech).  The first new word is
    ``words[start + echo]`` when the run is the decoder's echo of its context, ``words[start]``
    when it was spoken (:func:`_context_echo`)."""
    n = _after_prefix([_norm(w) for w in carried], [_norm(w) for w in words], middles, carry_end)
    if not carried and after_cut:
        n = _repeat_of(committed, words)
    if carried or after_cut:  # the buffer starts right after committed speech
        return n, _echo(committed, words[n:])
    return n, 0


def _context_echo(echo: int, committed: list[str], carried: list[str], after_cut: bool,
                  words_without_context: list[str]) -> int:
    """How many words to drop of an ``echo`` (:func:`_fresh_start`) found in a decode made with
    the committed text as context: all of them when a decode of the same buffer without that
    context (``words_without_context``) does not say the run too -- the decoder echoed its
    context, which a decode without it cannot do; none when it does -- the speaker said it again."""
    return 0 if _fresh_start(committed, carried, after_cut, words_without_context)[1] else echo


def _echo(committed: list[str], hyp: list[str], shortest: int = 3) -> int:
    """Length of a leading run of ``hyp`` that repeats the end of the committed text word for
    word (>= ``shortest`` words): a decoder given the committed text as context and little new
    sound echoes it.  A speaker may say a sentence again too: a run is dropped only when the
    decode had that context, as :func:`_context_echo` tells.  0 when none."""
    tail = [_norm(w) for w in committed[-len(hyp):]] if hyp else []
    head = [_norm(w) for w in hyp]
    for n in range(min(len(tail), len(head)), shortest - 1, -1):
        if head[:n] == tail[-n:]:
            return n
    return 0


def _restarted(committed: list[str], fresh: list[str], latest: list[str]) -> bool:
    """Whether the committed words followed by ``fresh`` end in a phrase said twice (at most one
    word apart, :func:`voiceflow.asr.text.near_repeat`) that reaches into ``fresh``, while the
    committed words followed by ``latest`` (the worker's newest hypothesis of the same speech)
    hold none: a second decode of the speech did not hear the repetition, so the decoder
    restarted the utterance (the evidence issue 10's loop rule asks for)."""
    head = committed[-2 * (_MAX_PERIOD + 1):]
    n = len(_norm_words(_join(head)))
    if near_repeat(_norm_words(_join(head + fresh)), ending_after=n) is None:
        return False
    return near_repeat(_norm_words(_join(head + latest)), ending_after=n) is None


def _repeat_of(committed: list[str], hyp: list[str], longest: int = 3) -> int:
    """How many leading words of ``hyp`` repeat the last committed words (a cut inside a word
    makes the decoder say it again); 0 when none."""
    for n in range(min(longest, len(committed), len(hyp)), 0, -1):
        if [_norm(w) for w in hyp[:n]] == [_norm(w) for w in committed[-n:]]:
            return n
    return 0


def _repetition_start(hyp: list[str]) -> int:
    """Index in ``hyp`` (a hypothesis's words) of the word where its first back-to-back repeated
    phrase (:func:`voiceflow.asr.text.find_loop`) starts; ``len(hyp)`` when there is none."""
    parts = [_norm_words(word) for word in hyp]
    loop = find_loop([w for part in parts for w in part])
    if loop is None:
        return len(hyp)
    before = 0
    for i, part in enumerate(parts):
        before += len(part)
        if before > loop.start:
            return i
    return len(hyp)


def _left_out_passage(speech: list[tuple[float, float]], levels: list[float], speaker_db: float, aligned,
                      words_end: float) -> float | None:
    """Where to cut a buffer so that a quiet passage its decode left out is decoded on its own
    (the one-shot coverage rule's way: Whisper hears speech far under the loudest in its window
    as background, and alone at its own level): the first of the speaker's ``speech`` regions
    (s, with their ``levels``, dBFS) that is quiet against ``speaker_db``
    (``context.quiet_regions``) in a passage of at least ``MIN_QUIET_PASSAGE_S``, that the
    ``aligned`` words (anything with ``start``/``end`` s) do not account for and that goes on
    past their end (``words_end``, s); the cut lies in the pause before it, at most
    ``REGION_REACH_S`` ahead of it.  None when there is no such passage."""
    from voiceflow.asr.transcriber import REGION_MARGIN_S, REGION_REACH_S

    quiet = _ctx.quiet_regions(levels, speaker_db)
    brief = _ctx.brief_quiet_regions(speech, quiet)
    unaccounted = _ctx.unaccounted_regions(speech, aligned)
    for i, (a, b) in enumerate(speech):
        if quiet[i] and not brief[i] and i in unaccounted and b > words_end:
            if a <= words_end:  # under a word the aligner stretched over it
                return max(a - REGION_MARGIN_S, 0.0)
            return max((words_end + a) / 2, a - REGION_REACH_S)
    return None


def _speaker_regions(asr: "Transcriber", ctx: np.ndarray, offset: int, reference_db: float
                     ) -> tuple[list[tuple[float, float]], float]:
    """The speaker's speech in ``ctx[offset:]``: the voice-activity regions (seconds from
    ``offset``, the first clipped there) less the background -- a region in a quiet passage
    shorter than ``MIN_QUIET_PASSAGE_S`` (``context.brief_quiet_regions``: the rule by which a
    one-shot decode leaves a sound out), quiet against the speaker's level: the louder of
    ``reference_db`` and the loudest region in ``ctx`` long enough to be a phrase (at least
    ``MIN_QUIET_PASSAGE_S``; a cough, a knock or a click can be louder than speech, but is
    brief); and that region's level (dBFS; -inf without one), which the stream remembers.  All
    of ``ctx`` is the detector's noise-floor reference."""
    regions = asr._vad.speech_regions(ctx) if len(ctx) > offset else []
    if not regions:
        return [], -np.inf
    levels = [level_db(ctx, region) for region in regions]
    phrase_db = max((level for (a, b), level in zip(regions, levels) if b - a >= _ctx.MIN_QUIET_PASSAGE_S),
                    default=-np.inf)
    background = _ctx.brief_quiet_regions(regions, _ctx.quiet_regions(levels, max(phrase_db, reference_db)))
    start = offset / SAMPLE_RATE
    speech = [(max(a - start, 0.0), b - start) for (a, b), bg in zip(regions, background) if not bg and b > start]
    return speech, phrase_db


def _quiet_db(levels: EnergyVad, ctx: np.ndarray) -> float:
    """The level (dBFS per 25 ms frame) below which the voice-activity detector calls a frame
    of ``ctx`` non-speech: its noise floor plus margin."""
    db = levels.frame_db(ctx)
    if db.size == 0:
        return levels.floor_dbfs
    return max(float(np.percentile(db, 10.0)) + levels.margin_db, levels.floor_dbfs)


def _finish_cut(levels: EnergyVad, buf: np.ndarray, buf_start_s: float, ends: list[float | None]
                ) -> tuple[int, float]:
    """Where ``finish()`` may start its decode in ``buf`` (which begins at ``buf_start_s`` and
    holds committed words ending at ``ends``, seconds): ``(k, cut_s)`` -- drop the first ``k``
    of those words and the audio before ``cut_s`` (seconds into ``buf``), keeping
    :data:`FINISH_LOOKBACK_S` of committed speech before the uncommitted words; ``(0, 0.0)``
    when nothing can be dropped (too little lookback, or the words' times are unknown)."""
    if len(ends) < 2 or any(e is None for e in ends):
        return 0, 0.0
    rel = [e - buf_start_s for e in ends]  # type: ignore[operator]
    if any(b < a for a, b in zip(rel, rel[1:])):
        return 0, 0.0
    for k in range(len(rel) - 1, 0, -1):  # the latest word end with enough lookback after it
        if rel[-1] - rel[k - 1] >= FINISH_LOOKBACK_S:
            cut_s = _quietest(levels, buf, rel[k - 1] - CUT_SEARCH_S, rel[k - 1] + 0.02, np.inf)
            return (k, cut_s) if cut_s is not None and cut_s >= MIN_FINISH_CUT_S else (0, 0.0)
    return 0, 0.0


def _quietest(levels: EnergyVad, buf: np.ndarray, lo_s: float, hi_s: float, quiet_db: float) -> float | None:
    """Seconds into ``buf`` of the quietest 30 ms between ``lo_s`` and ``hi_s`` (clipped to the
    buffer, leaving its last 0.3 s alone), if it is quieter than ``quiet_db`` (a gap between
    words, not a weak sound inside one); else None."""
    db = levels.frame_db(buf)
    if db.size < 3:
        return None
    smooth = np.convolve(db, np.ones(3) / 3, mode="same")
    hop = 0.010
    lo = max(int(lo_s / hop), 5)
    hi = min(int(hi_s / hop) + 1, db.size - 30)
    if hi <= lo:
        return None
    best = lo + int(np.argmin(smooth[lo:hi]))
    if smooth[best] > quiet_db:
        return None
    return best * hop + 0.0125  # the frame's centre


def _case_swapped_probability(decoder, encoded, before: list[str], word: str, num_frames: int) -> float | None:
    """The probability the model gives ``word`` with the case of its first letter swapped,
    after the words ``before``, in the window whose encoder output is ``encoded`` (the mean
    over its tokens, as faster-whisper's word probability that :func:`_word_scores` reads);
    None when the word has no such variant.

    Whisper writes a word at a sentence start capitalised or not, so "The" and "the" split the
    probability of the same word (about 0.45 each at the start of a window); the stream
    compares words case-blind, so it asks whether the *word* is likely: the sum of the two."""
    core = word.strip(".,?!;:\"'()[]")
    if not core or not core[0].isalpha():
        return None
    first = core[0].lower() if core[0].isupper() else core[0].upper()
    variant = first + core[1:]
    tokenizer = decoder.tokenizer
    prefix = tokenizer.encode(" " + _join(before)) if before else []
    tokens = tokenizer.encode(" " + variant)
    result = _model_align(decoder, encoded, prefix + tokens, num_frames)
    if result is None:  # no second opinion this time
        return None
    probabilities = list(result.text_token_probs)[len(prefix):len(prefix) + len(tokens)]
    return sum(probabilities) / len(probabilities) if probabilities else None


def _model_align(decoder, encoded, tokens: list[int], num_frames: int):
    """CTranslate2's alignment of ``tokens`` (after the start-of-transcript sequence, as
    faster-whisper's word timestamps) to the window whose encoder output is ``encoded``: its
    ``alignments`` and ``text_token_probs``; None when it fails (nothing depends on it)."""
    try:
        return decoder.model.align(encoded, decoder.tokenizer.sot_sequence, [tokens], num_frames)[0]
    except Exception:
        logger.debug("alignment failed", exc_info=True)
        return None


def _align(decoder, encoded, words: list[str], num_frames: int) -> list[tuple[float, float]] | None:
    """``(start, end)`` seconds of each word in the window whose encoder output is ``encoded``
    (alignment heads + DTW, :func:`_model_align`); None when it cannot tell."""
    tokenizer = decoder.tokenizer
    tokens: list[int] = []
    bounds = [0]
    for w in words:
        tokens.extend(tokenizer.encode(" " + w))
        bounds.append(len(tokens))
    if not tokens:
        return None
    result = _model_align(decoder, encoded, tokens, num_frames)
    if result is None:  # no cut this time
        return None
    pairs = np.asarray(result.alignments, dtype=np.int64).reshape(-1, 2)
    if pairs.size == 0:
        return None
    jumps = np.diff(pairs[:, 0], prepend=-1).astype(bool)
    jump_times = pairs[jumps, 1] / _FRAMES_PER_TOKEN_TIME
    if len(jump_times) <= bounds[-1]:
        return None
    return [(float(jump_times[a]), float(jump_times[b])) for a, b in zip(bounds, bounds[1:])]


def _first_rung(asr: "Transcriber", decoder, buf: np.ndarray, speech_end: float, prompt: list[int],
                align: bool = False, commits: bool = False, keep_encoded: bool = False,
                speech_s: float | None = None) -> "WindowResult":
    """The one-shot ladder's first decode of ``buf`` (speech ending ``speech_end`` s in, with
    ``speech_s`` seconds of speech: a repetition they can hold is not a loop):
    ``Transcriber``'s adaptive window with ``context_pad_s`` of silence after the speech and its
    options at their first temperature (``commits``: with :data:`COMMIT_BEAM_SIZE`); ``align``
    also keeps the window's encoder output (``WindowResult.encoded``) for more alignments, as
    ``keep_encoded`` does without aligning."""
    duration = len(buf) / SAMPLE_RATE
    frames = asr._padded_frames(len(buf), speech_end, asr.config.asr.context_pad_s)
    mel = silence_padded_log_mel(buf, frames, asr._n_mels)
    options = asr._chunk_options(duration)
    options = replace(options, temperatures=options.temperatures[:1])
    if commits and options.beam_size < COMMIT_BEAM_SIZE:
        options = replace(options, beam_size=COMMIT_BEAM_SIZE, beam_below_logprob=COMMIT_BEAM_BELOW_LOGPROB)
    return decoder.decode_window(mel, prompt, options, duration, speech_s=speech_s, align=align, keep_encoded=keep_encoded)


def _carried_by_time(aligned: list, words: list[str], carried_ends: list[float | None], buf_start: int
                     ) -> tuple[list[float] | None, float | None]:
    """``(middles, carry_end)`` for :func:`_after_prefix` from a tail decode's aligned words
    (``aligned``: the first rung's, s into the buffer that starts at sample ``buf_start``) when
    they are the decode's ``words`` and the last carried word's aligned end is known (it is the
    worker's rule: a carried word heard as other words is dropped by its time, not only by its
    text); ``(None, None)`` otherwise."""
    if not aligned or not carried_ends or carried_ends[-1] is None:
        return None, None
    timed = _aligned_words(aligned)
    spoken = "".join(w.text for w in aligned).split()
    if len(timed) != len(spoken):
        return None, None
    parts, _, middles = _split_scored(spoken, [(p, end) for p, _, end in timed], [(start, end) for _, start, end in timed])
    if middles is None or [_norm(w) for w in parts] != [_norm(w) for w in words]:
        return None, None
    return middles, carried_ends[-1] - buf_start / SAMPLE_RATE


def _carried_times(ends: list[float | None], buf_start_s: float) -> list[tuple[float, float]]:
    """``(start, end)`` s of the committed words still in the buffer (which starts at
    ``buf_start_s``), from their aligned ends (each starts where the one before ends; an unknown
    end counts as the start)."""
    out = []
    previous = buf_start_s
    for end in ends:
        stop = previous if end is None else max(round(end, 3), previous)
        out.append((round(previous, 3), stop))
        previous = stop
    return out


def _shift(segment: "Segment", offset: float) -> "Segment":
    return replace(segment, start=round(segment.start + offset, 3), end=round(segment.end + offset, 3))


def _segments(committed: list[str], scores: list[tuple[float, float]], stamps: list[tuple[float, float]],
              tail: list["Segment"], skip: int) -> list["Segment"]:
    """The final segments: committed words (``stamps``: each one's start and end, s) grouped into
    sentences (ends at ``.?!``), then the tail's segments without the ``skip`` words that repeat
    committed ones, each starting no earlier than the segment before ends."""
    from voiceflow.asr.transcriber import Segment

    out: list[Segment] = []
    group: list[int] = []
    for i, word in enumerate(committed):
        group.append(i)
        if word.endswith((".", "?", "!")) or i == len(committed) - 1:
            out.append(Segment(
                start=stamps[group[0]][0], end=stamps[group[-1]][1], text=_join([committed[j] for j in group]),
                no_speech_prob=max(scores[j][1] for j in group),
                avg_logprob=sum(scores[j][0] for j in group) / len(group),
            ))
            group = []
    for seg in tail:
        ws = _split(seg.text)
        if skip >= len(ws):
            skip -= len(ws)
            continue
        text = _join(ws[skip:])
        skip = 0
        seg = seg if text == seg.text else _replace_text(seg, text)
        if out and seg.start < out[-1].end:  # its first words were the lookback's, before the committed end
            seg = replace(seg, start=out[-1].end, end=max(seg.end, out[-1].end))
        out.append(seg)
    return out


def _replace_text(segment: "Segment", text: str) -> "Segment":
    return replace(segment, text=text)
