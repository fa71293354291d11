"""Read an audio file as 16 kHz mono float32, or fail with one clear line saying why.

WAV files (PCM 8/16/24/32-bit, IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE) are parsed
here: it is fast, needs no codec, and lets a truncated file be told apart from a short one (the
``data`` chunk declares its length). Every other format goes through PyAV, the decoder
faster-whisper bundles, and is checked against the duration its container declares.

Samples pass through :func:`voiceflow.audio.guard.audio_validation_guard` (downmix, integer PCM
scaling, NaN/inf repair under the configured policy) and are resampled with soxr.

Errors: :class:`AudioFileError` (a ``ValueError``) for a file that exists but cannot be used
(empty, not audio, truncated, no samples); ``FileNotFoundError`` / ``IsADirectoryError`` /
``PermissionError`` for the path itself. ``str(error)`` is always one line.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

TARGET_RATE = 16000
"""Sample rate (Hz) of what :func:`read_audio` returns: Whisper's input rate."""

_TRUNCATION_TOLERANCE_S = 0.1
"""A container may round its declared duration; shortfalls up to this many seconds are fine."""

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_IEEE_FLOAT = 0x0003
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_UNKNOWN_LENGTH = 0xFFFFFFFF  # written by streaming encoders that never seek back to patch it


class AudioFileError(ValueError):
    """A file that exists but holds no usable audio. The message is one line naming the file."""


def read_audio(path: str | os.PathLike[str], cfg: Any = None) -> np.ndarray:
    """Decode ``path`` to a 1-D, C-contiguous float32 array at 16 kHz (mono).

    ``cfg`` is handed to the audio guard (``audio_guard_policy`` etc.; ``None`` = defaults).
    Raises ``FileNotFoundError`` for a missing path and :class:`AudioFileError` for an empty,
    truncated or undecodable file; the audio guard's ``ValueError`` (reject policy) propagates.
    """
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
        raw, rate = wav
    else:
        raw, rate = _decode_with_pyav(path), TARGET_RATE

    return to_model_rate(raw, rate, f"read_audio({path.name})", cfg=cfg)


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


def _read_wav(path: Path, size: int) -> tuple[np.ndarray, int] | None:
    """Parse a RIFF/WAVE file: ``(frames x channels raw samples, rate)``.

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
) -> tuple[np.ndarray, int] | None:
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
    if declared in (0, _UNKNOWN_LENGTH):
        declared = held
    if declared > held:
        raise AudioFileError(
            f"{path}: truncated WAV: header declares {declared / block_align / rate:.2f} s"
            f" of audio, the file holds {held / block_align / rate:.2f} s"
        )
    frames = declared // block_align
    if frames == 0:
        raise AudioFileError(f"{path}: WAV holds no audio samples")
    data = f.read(frames * block_align)
    if dtype is None:
        packed = np.frombuffer(data, np.uint8).reshape(-1, 3)
        wide = np.zeros((packed.shape[0], 4), np.uint8)
        wide[:, 1:] = packed  # little-endian: the 24 bits become the top of an int32
        raw = wide.view("<i4").reshape(frames, channels)
    else:
        raw = np.frombuffer(data, dtype).reshape(frames, channels)
    return raw, rate


def _decode_with_pyav(path: Path) -> np.ndarray:
    import av
    from faster_whisper.audio import decode_audio

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioFileError(f"{path}: no audio stream in the file")
            declared = container.duration / 1e6 if container.duration else None
        samples = decode_audio(str(path), sampling_rate=TARGET_RATE)
    except av.error.EOFError:
        raise AudioFileError(f"{path}: truncated: the file ends inside the audio stream") from None
    except av.error.FFmpegError as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise AudioFileError(f"{path}: not a readable audio file ({reason})") from None
    if samples.size == 0:
        raise AudioFileError(f"{path}: no audio samples could be decoded")
    decoded = samples.size / TARGET_RATE
    if declared is not None and decoded < declared - _TRUNCATION_TOLERANCE_S:
        raise AudioFileError(
            f"{path}: truncated: the container declares {declared:.2f} s of audio,"
            f" only {decoded:.2f} s could be decoded"
        )
    return samples
