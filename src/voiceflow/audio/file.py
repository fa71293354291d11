"""Read an audio file as 16 kHz mono float32, or fail with one clear line saying why.

WAV files (PCM 8/16/24/32-bit, IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE) are parsed
here: it is fast, needs no codec, and lets a truncated file be told apart from a short one (the
``data`` chunk declares its length). Every other format goes through PyAV, the decoder
faster-whisper bundles, and is checked against the length its *audio stream* declares -- not
the container's duration, which is the longest stream (a video running past the audio) or a
bitrate estimate.  A length that is itself a bitrate estimate (raw MP3 without a Xing/Info/VBRI
frame count, ADTS AAC, AC-3, DTS) is not a declaration and is not checked.

A file that is cut short (a WAV holding less than its header declares, a stream that decodes to
less than it declares, or a decode that fails part-way) is not refused: :func:`load_audio`
returns what could be decoded with ``truncated`` saying why, and :func:`read_audio` returns the
samples after a :class:`TruncatedAudioWarning`.

Samples pass through :func:`voiceflow.audio.guard.audio_validation_guard` (downmix, integer PCM
scaling, NaN/inf repair under the configured policy) and are resampled with soxr.

Errors: :class:`AudioFileError` (a ``ValueError``) for a file that exists but cannot be used
(empty, not audio, no samples at all); ``FileNotFoundError`` / ``IsADirectoryError`` /
``PermissionError`` for the path itself. ``str(error)`` is always one line.
"""

from __future__ import annotations

import gc
import os
import struct
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

TARGET_RATE = 16000
"""Sample rate (Hz) of what :func:`read_audio` returns: Whisper's input rate."""

_TRUNCATION_TOLERANCE_S = 0.1
"""A container may round its declared duration; shortfalls up to this many seconds are fine."""

_ESTIMATED_LENGTH_FORMATS = frozenset({"aac", "ac3", "eac3", "dts", "truehd", "mp3"})
"""Demuxers whose stream length is, without a frame-count header, ``file size / bitrate``."""

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_IEEE_FLOAT = 0x0003
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_UNKNOWN_LENGTH = 0xFFFFFFFF  # written by streaming encoders that never seek back to patch it


class AudioFileError(ValueError):
    """A file that exists but holds no usable audio. The message is one line naming the file."""


class TruncatedAudioWarning(UserWarning):
    """A file holds less audio than it declares (or its decode failed part-way); what could be
    decoded is used.  The message is one line naming the file."""


class LoadedAudio(NamedTuple):
    """What :func:`load_audio` read: 16 kHz mono float32 ``samples`` and, when the file is cut
    short or damaged, ``truncated`` -- one line naming the file and saying what is missing."""

    samples: np.ndarray
    truncated: str | None


def read_audio(path: str | os.PathLike[str], cfg: Any = None) -> np.ndarray:
    """Decode ``path`` to a 1-D, C-contiguous float32 array at 16 kHz (mono).

    ``cfg`` is handed to the audio guard (``audio_guard_policy`` etc.; ``None`` = defaults).
    Raises ``FileNotFoundError`` for a missing path and :class:`AudioFileError` for an empty or
    undecodable file; the audio guard's ``ValueError`` (reject policy) propagates.  A truncated
    file gives what it holds, after a :class:`TruncatedAudioWarning`.
    """
    loaded = load_audio(path, cfg)
    if loaded.truncated is not None:
        warnings.warn(loaded.truncated, TruncatedAudioWarning, stacklevel=2)
    return loaded.samples


def load_audio(path: str | os.PathLike[str], cfg: Any = None) -> LoadedAudio:
    """:func:`read_audio` without the warning: the samples and why they are incomplete, if
    they are (``LoadedAudio.truncated``).  Same errors as :func:`read_audio`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not an audio file")
    size = path.stat().st_size
    if size == 0:
        raise AudioFileError(f"{path}: empty file (0 bytes)")

    wav = _read_wav(path, size)
    if wav is not None:
        raw, rate, truncated = wav
    else:
        (raw, truncated), rate = _decode_with_pyav(path), TARGET_RATE

    return LoadedAudio(to_model_rate(raw, rate, f"read_audio({path.name})", cfg=cfg), truncated)


def to_model_rate(audio: Any, sample_rate: int, where: str, cfg: Any = None) -> np.ndarray:
    """Samples as :func:`read_audio` returns them: 1-D, C-contiguous float32 at 16 kHz.

    ``audio`` goes through the audio guard (downmix, integer PCM scaling, NaN/inf repair or
    rejection under ``cfg``'s policy; ``where`` names the caller in its messages), then soxr
    resamples it from ``sample_rate`` Hz when that is not 16 kHz.  Under the repair policy,
    NaN/inf float samples become 0 first: they carry no sound, and the guard's +-32 for inf
    would be a click loud enough to drown the speech after Whisper's log-mel normalisation.
    """
    from voiceflow.audio.guard import audio_validation_guard

    if getattr(cfg, "audio_guard_policy", "repair") != "reject":
        audio = _silence_non_finite(audio)
    return resample_to_model_rate(audio_validation_guard(audio, where, cfg=cfg), sample_rate)


def _silence_non_finite(audio: Any) -> Any:
    """Float arrays with NaN/inf samples -> a copy with those samples 0; anything else as is."""
    if not isinstance(audio, np.ndarray) or audio.dtype.kind != "f":
        return audio
    bad = ~np.isfinite(audio)
    return np.where(bad, audio.dtype.type(0), audio) if bad.any() else audio


def resample_to_model_rate(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """1-D float32 ``samples`` at ``sample_rate`` Hz -> C-contiguous float32 at 16 kHz (soxr;
    returned as they are when already at 16 kHz or empty)."""
    if sample_rate != TARGET_RATE and samples.size:
        import soxr

        samples = soxr.resample(samples, sample_rate, TARGET_RATE)
    return np.ascontiguousarray(samples, dtype=np.float32)


def _read_wav(path: Path, size: int) -> tuple[np.ndarray, int, str | None] | None:
    """Parse a RIFF/WAVE file: ``(frames x channels raw samples, rate, truncation or None)``.

    Returns None when the file is not a WAV or uses a codec this parser does not handle
    (ADPCM, mu-law, ...), so the caller falls back to PyAV.
    """
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            if head[:4] == b"RIFF" and len(head) < 12:
                raise AudioFileError(f"{path}: truncated WAV header ({size} bytes)")
            return None
        fmt: tuple[int, int, int, int] | None = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                what = "no 'fmt ' chunk" if fmt is None else "no 'data' chunk"
                raise AudioFileError(f"{path}: truncated or corrupt WAV ({what} in {size} bytes)")
            chunk_id, chunk_size = struct.unpack("<4sI", chunk)
            if chunk_id == b"fmt ":
                body = f.read(chunk_size + (chunk_size & 1))
                if len(body) < 16:
                    raise AudioFileError(f"{path}: truncated WAV header ('fmt ' chunk cut short)")
                tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
                if tag == _WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
                    tag = struct.unpack("<H", body[24:26])[0]
                fmt = (tag, channels, rate, bits)
            elif chunk_id == b"data":
                if fmt is None:
                    raise AudioFileError(f"{path}: corrupt WAV ('data' chunk before 'fmt ')")
                return _wav_samples(path, f, fmt, block_align, chunk_size, size - f.tell())
            else:
                f.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)


def _wav_samples(
    path: Path, f: Any, fmt: tuple[int, int, int, int], block_align: int, declared: int, held: int
) -> tuple[np.ndarray, int, str | None] | None:
    tag, channels, rate, bits = fmt
    dtype = {
        (_WAVE_FORMAT_PCM, 8): np.uint8,
        (_WAVE_FORMAT_PCM, 16): np.dtype("<i2"),
        (_WAVE_FORMAT_PCM, 24): None,  # packed 3-byte ints, widened below
        (_WAVE_FORMAT_PCM, 32): np.dtype("<i4"),
        (_WAVE_FORMAT_IEEE_FLOAT, 32): np.dtype("<f4"),
        (_WAVE_FORMAT_IEEE_FLOAT, 64): np.dtype("<f8"),
    }.get((tag, bits), "unsupported")
    if isinstance(dtype, str):
        return None
    if channels < 1 or rate < 1 or block_align != channels * bits // 8:
        raise AudioFileError(
            f"{path}: corrupt WAV header ({channels} channels, {rate} Hz, {bits} bits)"
        )
    truncated = None
    if declared in (0, _UNKNOWN_LENGTH):
        declared = held
    if declared > held:
        truncated = (
            f"{path}: truncated WAV: header declares {declared / block_align / rate:.2f} s"
            f" of audio, the file holds {held / block_align / rate:.2f} s"
        )
        declared = held
    frames = declared // block_align
    if frames == 0:
        if truncated is not None:
            raise AudioFileError(f"{truncated}; no whole sample is left")
        raise AudioFileError(f"{path}: WAV holds no audio samples")
    data = f.read(frames * block_align)
    if dtype is None:
        packed = np.frombuffer(data, np.uint8).reshape(-1, 3)
        wide = np.zeros((packed.shape[0], 4), np.uint8)
        wide[:, 1:] = packed  # little-endian: the 24 bits become the top of an int32
        raw = wide.view("<i4").reshape(frames, channels)
    else:
        raw = np.frombuffer(data, dtype).reshape(frames, channels)
    return raw, rate, truncated


def _decode_with_pyav(path: Path) -> tuple[np.ndarray, str | None]:
    """The first audio stream decoded to 16 kHz mono float32, and why it is incomplete (or None).

    A packet that fails to decode is skipped, as ffmpeg does (two MP3s joined with ``cat`` have
    the second one's header frame in the middle); the audio counts as truncated when it decodes
    to less than its stream declares, or when the demuxer or the decoder fails and no audio
    follows the failure.
    """
    import av

    chunks: list[np.ndarray] = []
    failure: str | None = None  # the last decode error with no audio after it
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioFileError(f"{path}: no audio stream in the file")
            stream = container.streams.audio[0]
            declared = _declared_seconds(path, container, stream)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=TARGET_RATE)
            try:
                for packet in container.demux(stream):
                    try:
                        frames = packet.decode()
                    except av.error.InvalidDataError as error:
                        failure = _reason(error)
                        continue
                    for frame in frames:
                        for out in resampler.resample(frame):
                            chunks.append(out.to_ndarray().reshape(-1).copy())
                            failure = None
            except (av.error.EOFError, av.error.InvalidDataError) as error:
                failure = _reason(error)  # the demuxer met the end of the file mid-packet
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).copy())
            del resampler
    except av.error.EOFError:
        if not chunks:
            raise AudioFileError(f"{path}: truncated: the file ends before any audio could be decoded") from None
        failure, declared = "end of file", None
    except av.error.FFmpegError as error:
        if not chunks:
            raise AudioFileError(f"{path}: not a readable audio file ({_reason(error)})") from None
        failure = _reason(error)
        declared = None
    gc.collect()  # PyAV's resampler frees its buffers only on a collection (faster-whisper #390)
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise AudioFileError(f"{path}: no audio samples could be decoded")
    decoded = samples.size / TARGET_RATE
    if declared is not None and decoded < declared - _TRUNCATION_TOLERANCE_S:
        return samples, (
            f"{path}: truncated: the audio stream declares {declared:.2f} s,"
            f" only {decoded:.2f} s could be decoded"
        )
    if failure is not None:
        return samples, f"{path}: truncated: decoding stopped after {decoded:.2f} s ({failure})"
    return samples, None


def _declared_seconds(path: Path, container: Any, stream: Any) -> float | None:
    """Seconds of audio the stream declares, or None when it declares none (only a bitrate
    estimate, or nothing)."""
    if stream.duration is None or stream.time_base is None:
        return None
    names = set((container.format.name or "").split(","))
    if names & _ESTIMATED_LENGTH_FORMATS and not (names == {"mp3"} and _has_mp3_frame_count(path)):
        return None
    return float(stream.duration * stream.time_base)


def _has_mp3_frame_count(path: Path) -> bool:
    """True when the MP3 starts with a Xing/Info/VBRI frame count that ffmpeg uses for its
    length: present, and the file not larger than the header's byte count by more than 1/16
    (ffmpeg's own test; a larger file is MP3s joined with ``cat``, and ffmpeg falls back to a
    bitrate estimate).  A file *smaller* than its byte count is cut short and keeps the count."""
    with path.open("rb") as f:
        head = f.read(10)
        offset = 0
        if head[:3] == b"ID3" and len(head) == 10:
            size = head[6:10]
            offset = 10 + ((size[0] & 0x7F) << 21 | (size[1] & 0x7F) << 14 | (size[2] & 0x7F) << 7 | size[3] & 0x7F)
        f.seek(offset)
        first = f.read(4096)  # the first frame, with room for junk before it
    file_bytes = path.stat().st_size - offset
    for tag in (b"Xing", b"Info"):
        at = first.find(tag)
        if at >= 0 and len(first) >= at + 16:
            flags = struct.unpack(">I", first[at + 4 : at + 8])[0]
            if not flags & 1:
                return False  # no frame count
            declared_bytes = struct.unpack(">I", first[at + 12 : at + 16])[0] if flags & 2 else None
            return declared_bytes is None or file_bytes - declared_bytes <= declared_bytes >> 4
    at = first.find(b"VBRI")
    if at >= 0 and len(first) >= at + 18:
        declared_bytes = struct.unpack(">I", first[at + 10 : at + 14])[0]
        return file_bytes - declared_bytes <= declared_bytes >> 4
    return False


def _reason(error: BaseException) -> str:
    return " ".join((getattr(error, "strerror", None) or str(error) or type(error).__name__).split())
