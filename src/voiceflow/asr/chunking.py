"""Voice-activity decisions for the transcriber: the no-speech gate and long-audio splitting.

Two backends with one interface (:class:`EnergyVad`, :class:`SileroVad`):

* ``has_speech(audio)`` -- False only when the audio is confidently not speech, so the model is
  skipped entirely (no "Thank you." on silence or steady noise);
* ``cut_points(audio, max_samples)`` -- sample indices at which to split audio longer than the
  model's window into chunks of at most ``max_samples``, each cut placed in a pause.

The energy backend uses the compiled ``voiceflow_core.frame_energy`` kernel (25 ms frames,
10 ms hop). Its gate compares every frame with the clip's own noise floor: speech is a
non-stationary signal whose loud frames stand well above its quiet ones, while silence and
steady noise do not.  The floor is the level of the quietest 10 % of the frames, the pauses
around and between the words; audio cut tightly around speech that never pauses has no such
10 % (it would be "no speech" whole: a 2.6 s audiobook sentence was), and there the floor is
its quietest 0.1 s instead -- a stop closure or a breath, where even unbroken speech falls to
the room's level (digital silence aside: a dropout in steady noise is not the noise's floor).
Cuts go to the quietest stretch (smoothed energy minimum) in the second half of the allowed
span, so a chunk is never shorter than half the maximum.
"""

from __future__ import annotations

import numpy as np

import voiceflow_core

SAMPLE_RATE = 16000
FRAME = 400  # 25 ms
HOP = 160  # 10 ms
SMOOTH_FRAMES = 20  # 200 ms: a cut lands in a pause, not between two syllables
MIN_SPEECH_FRAMES = 10  # 100 ms of loud frames make "speech"
FLOOR_PERCENTILE = 10.0
QUIET_STRETCH_FRAMES = 8
QUIET_PEAK_DBFS = -30.0
"""Speech at a usual gain peaks between -30 and -5 dBFS (25 ms frames), 30 dB or more above the
detector's ``floor_dbfs`` (-60 dBFS).  A recording whose loudest frame is quieter (a quiet
microphone, a distant talker; FLEURS read speech peaks near -53 dBFS) is brought up to this
level before any decision on levels (:func:`at_speech_level`)."""
QUANTUM_DBFS = -90.3
"""One step of 16-bit audio (2**-15): a recording no louder than this is digital silence."""
MERGE_GAP_S = 0.3
"""Speech frames closer than this belong to one speech region: the quiet stretches inside
fluent speech (stop closures, unvoiced consonants, short hesitations) are shorter."""


def _db(rms: np.ndarray) -> np.ndarray:
    return 20.0 * np.log10(np.maximum(rms.astype(np.float64), 1e-10))


class EnergyVad:
    """Frame-energy voice activity (compiled kernel); see the module docstring.

    ``margin_db``: how far above the clip's noise floor (10th percentile of frame energy; the
    quietest :data:`QUIET_STRETCH_FRAMES` frames' mean when that finds no speech) a frame must
    be to count as speech; ``floor_dbfs``: frames below this are never speech.
    """

    name = "energy"

    def __init__(self, margin_db: float = 12.0, floor_dbfs: float = -60.0) -> None:
        self.margin_db = float(margin_db)
        self.floor_dbfs = float(floor_dbfs)

    def frame_db(self, audio: np.ndarray) -> np.ndarray:
        """Energy of each 25 ms frame (10 ms hop) in dBFS."""
        return _db(voiceflow_core.frame_energy(audio, FRAME, HOP))

    def speech_frames(self, audio: np.ndarray) -> np.ndarray:
        """Boolean per frame: louder than both the noise floor + margin and ``floor_dbfs``."""
        db = self.frame_db(audio)
        if db.size == 0:
            return np.zeros(0, dtype=bool)
        loud = db > max(float(np.percentile(db, FLOOR_PERCENTILE)) + self.margin_db, self.floor_dbfs)
        if np.count_nonzero(loud) < MIN_SPEECH_FRAMES:  # no pause to hear the floor in, or no speech
            quietest = _quietest_stretch_db(db, self.floor_dbfs)
            if quietest is not None:
                loud = db > max(quietest + self.margin_db, self.floor_dbfs)
        return loud

    def has_speech(self, audio: np.ndarray) -> bool:
        """True unless the audio is silence, too short to frame, or stationary noise."""
        return self.speech_end_s(audio) is not None

    def speech_regions(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """``(start, end)`` seconds of each stretch of speech (speech frames less than
        ``MERGE_GAP_S`` apart joined); empty when there is no speech (see :meth:`speech_end_s`)."""
        loud = np.flatnonzero(self.speech_frames(audio))
        if loud.size < MIN_SPEECH_FRAMES:
            return []
        return _regions(loud, HOP, FRAME)

    def speech_end_s(self, audio: np.ndarray) -> float | None:
        """Seconds at which the last speech frame ends; None when there is no speech (fewer
        than ``MIN_SPEECH_FRAMES`` loud frames)."""
        loud = np.flatnonzero(self.speech_frames(audio))
        if loud.size < MIN_SPEECH_FRAMES:
            return None
        return (int(loud[-1]) * HOP + FRAME) / SAMPLE_RATE

    def cut_points(self, audio: np.ndarray, max_samples: int) -> list[int]:
        """Split points (sample indices, increasing) giving chunks of ``<= max_samples``."""
        if len(audio) <= max_samples:
            return []
        db = self.frame_db(audio)
        kernel = np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES
        smooth = np.convolve(db, kernel, mode="same") if db.size >= SMOOTH_FRAMES else db
        centres = np.arange(db.size) * HOP + FRAME // 2  # sample at each frame's centre

        def quietest(lo: int, hi: int) -> int | None:
            inside = np.flatnonzero((centres > lo) & (centres < hi))
            if inside.size == 0:
                return None
            return int(centres[inside[np.argmin(smooth[inside])]])

        return _greedy_cuts(len(audio), max_samples, quietest)


class SileroVad:
    """faster-whisper's bundled Silero VAD (ONNX): speech spans, cuts in the gaps between them."""

    name = "silero"

    def __init__(self, threshold: float = 0.5, min_silence_ms: int = 300) -> None:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        self._options = VadOptions(threshold=threshold, min_silence_duration_ms=min_silence_ms)
        self._spans = get_speech_timestamps

    def speech_spans(self, audio: np.ndarray) -> list[tuple[int, int]]:
        """``(start, end)`` sample indices of the detected speech."""
        return [(s["start"], s["end"]) for s in self._spans(audio, self._options)]

    def has_speech(self, audio: np.ndarray) -> bool:
        return self.speech_end_s(audio) is not None

    def speech_regions(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """``(start, end)`` seconds of each detected speech span (spans closer than
        ``MERGE_GAP_S`` joined)."""
        merged: list[tuple[float, float]] = []
        for start, end in self.speech_spans(audio):
            a, b = start / SAMPLE_RATE, end / SAMPLE_RATE
            if merged and a - merged[-1][1] < MERGE_GAP_S:
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        return merged

    def speech_end_s(self, audio: np.ndarray) -> float | None:
        """Seconds at which the last speech span ends, or None without speech."""
        spans = self.speech_spans(audio)
        return spans[-1][1] / SAMPLE_RATE if spans else None

    def cut_points(self, audio: np.ndarray, max_samples: int) -> list[int]:
        if len(audio) <= max_samples:
            return []
        spans = self.speech_spans(audio)
        gaps = [(a_end + b_start) // 2 for (_, a_end), (b_start, _) in zip(spans, spans[1:])]
        gaps = np.asarray(gaps, dtype=np.int64)

        def quietest(lo: int, hi: int) -> int | None:
            inside = gaps[(gaps > lo) & (gaps < hi)]
            return int(inside[-1]) if inside.size else None

        return _greedy_cuts(len(audio), max_samples, quietest)


def _quietest_stretch_db(db: np.ndarray, silent_db: float) -> float | None:
    """Mean level (dB) of the quietest :data:`QUIET_STRETCH_FRAMES` consecutive frames of
    ``db`` (frame levels, dB; all of them when fewer) none of which is under ``silent_db``;
    None when there are none such."""
    n = min(QUIET_STRETCH_FRAMES, db.size)
    window = np.ones(n)
    sounding = np.convolve((db >= silent_db).astype(np.float64), window, mode="valid") > n - 0.5
    if not sounding.any():
        return None
    mean = np.convolve(np.power(10.0, db / 10.0), window / n, mode="valid")
    return float(10.0 * np.log10(float(mean[sounding].min())))


def _regions(frames: np.ndarray, hop: int, frame: int) -> list[tuple[float, float]]:
    """Seconds spans of the increasing speech-frame indices ``frames``, gaps < MERGE_GAP_S joined."""
    gap = int(round(MERGE_GAP_S * SAMPLE_RATE / hop))
    breaks = np.flatnonzero(np.diff(frames) > gap)
    starts = np.concatenate([frames[:1], frames[breaks + 1]])
    ends = np.concatenate([frames[breaks], frames[-1:]])
    return [(int(a) * hop / SAMPLE_RATE, (int(b) * hop + frame) / SAMPLE_RATE) for a, b in zip(starts, ends)]


def at_speech_level(audio: np.ndarray) -> np.ndarray:
    """``audio`` (16 kHz float32), or a copy scaled so that its loudest 25 ms frame is at
    :data:`QUIET_PEAK_DBFS` when it is quieter than that (and louder than digital silence,
    :data:`QUANTUM_DBFS`).  Whisper hears both alike (its log-mel is normalised to its
    maximum); the level limits of the detector and the decoding rules then mean for a quiet
    microphone what they mean at a usual gain, so quiet speech is not "no speech"."""
    if audio.size < FRAME:
        return audio
    peak = float(EnergyVad().frame_db(audio).max())
    if not QUANTUM_DBFS < peak < QUIET_PEAK_DBFS:
        return audio
    return audio * np.float32(10.0 ** ((QUIET_PEAK_DBFS - peak) / 20.0))


def speech_seconds(regions: list[tuple[float, float]]) -> float:
    """Total seconds of ``regions``."""
    return float(sum(end - start for start, end in regions))


def level_db(audio: np.ndarray, region: tuple[float, float]) -> float:
    """RMS level (dBFS) of 16 kHz ``audio`` over ``region`` (seconds)."""
    piece = audio[int(region[0] * SAMPLE_RATE) : int(region[1] * SAMPLE_RATE)]
    rms = float(np.sqrt(np.mean(np.square(piece, dtype=np.float64)))) if piece.size else 0.0
    return 20.0 * np.log10(max(rms, 1e-10))


def _greedy_cuts(n: int, max_samples: int, quietest) -> list[int]:
    """Walk from the start; each cut is ``quietest(lo, hi)`` in the second half of the span
    allowed for the next chunk, or a hard cut at the span's end when there is no candidate."""
    cuts: list[int] = []
    start = 0
    while n - start > max_samples:
        lo, hi = start + max_samples // 2, start + max_samples
        cut = quietest(lo, hi)
        if cut is None or not lo < cut < hi:
            cut = hi
        cuts.append(cut)
        start = cut
    return cuts


def make_vad(name: str, *, margin_db: float = 12.0, floor_dbfs: float = -60.0):
    """The VAD backend called ``name`` (``"energy"`` or ``"silero"``)."""
    if name == "energy":
        return EnergyVad(margin_db, floor_dbfs)
    if name == "silero":
        return SileroVad()
    raise ValueError(f"unknown vad {name!r}; choose 'energy' or 'silero'")
