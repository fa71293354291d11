"""read_audio: WAV variants, PyAV formats, and one clear error per kind of bad file."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from voiceflow.audio.file import AudioFileError, read_audio
from voiceflow.config import Config


def wav_bytes(
    samples: np.ndarray, rate: int, *, tag: int = 1, bits: int | None = None, declared: int | None = None
) -> bytes:
    """A RIFF/WAVE file holding ``samples`` (frames x channels) with a ``LIST`` chunk before
    ``data`` (as many encoders write); ``declared`` overrides the data chunk's size field."""
    samples = samples if samples.ndim == 2 else samples[:, None]
    channels = samples.shape[1]
    if bits == 24:
        as_int = samples.astype("<i4")
        data = b"".join(int(v).to_bytes(4, "little", signed=True)[:3] for v in as_int.ravel())
    else:
        data = samples.tobytes()
        bits = bits or samples.dtype.itemsize * 8
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    info = b"INFOISFT\x05\x00\x00\x00test\x00\x00"
    body = (
        b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"LIST" + struct.pack("<I", len(info)) + info
        + b"data" + struct.pack("<I", len(data) if declared is None else declared) + data
    )  # fmt: skip
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_int16_mono_16k_is_scaled_and_kept_sample_for_sample(tmp_path):
    pcm = np.array([0, 16384, -32768, 32767, -8192], np.int16)
    audio = read_audio(write(tmp_path, "a.wav", wav_bytes(pcm, 16000)))
    assert audio.dtype == np.float32 and audio.flags.c_contiguous
    np.testing.assert_array_equal(audio, pcm / np.float32(32768))


@pytest.mark.parametrize(
    ("samples", "bits", "tag", "expected"),
    [
        (np.array([128, 192, 0], np.uint8), 8, 1, [0.0, 0.5, -1.0]),
        (np.array([1 << 22, -(1 << 23)], np.int32), 24, 1, [0.5, -1.0]),
        (np.array([1 << 30, -(1 << 31)], np.int32), 32, 1, [0.5, -1.0]),
        (np.array([0.25, -0.75], np.float32), 32, 3, [0.25, -0.75]),
        (np.array([0.25, -0.75], np.float64), 64, 3, [0.25, -0.75]),
    ],
)
def test_every_pcm_and_float_wav_layout_scales_to_unit_range(tmp_path, samples, bits, tag, expected):
    audio = read_audio(write(tmp_path, "a.wav", wav_bytes(samples, 16000, tag=tag, bits=bits)))
    np.testing.assert_allclose(audio, expected, atol=1e-7)


def test_stereo_44k1_is_downmixed_and_resampled_to_16k(tmp_path):
    t = np.arange(44100) / 44100
    tone = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    stereo = np.stack([tone, tone], axis=1)
    audio = read_audio(write(tmp_path, "s.wav", wav_bytes(stereo, 44100)))
    assert audio.shape == (16000,)
    assert abs(float(np.abs(audio[1000:-1000]).max()) - 0.5) < 0.01


def test_a_streaming_wav_with_unknown_length_reads_everything(tmp_path):
    pcm = np.arange(100, dtype=np.int16)
    audio = read_audio(write(tmp_path, "live.wav", wav_bytes(pcm, 16000, declared=0xFFFFFFFF)))
    assert audio.size == 100


def test_a_codec_the_parser_skips_goes_to_pyav(tmp_path):
    mulaw_silence = np.full(1600, 0xFF, np.uint8)  # G.711 mu-law code for zero
    audio = read_audio(write(tmp_path, "u.wav", wav_bytes(mulaw_silence, 8000, tag=7, bits=8)))
    assert audio.size == 3200 and np.abs(audio).max() < 1e-3


def test_flac_decodes_through_pyav_and_a_cut_flac_is_truncated(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "tone.flac"
    tone = (0.3 * np.sin(np.arange(32000) / 5) * 32767).astype(np.int16)
    with av.open(str(path), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=16000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(tone[None, :], format="s16", layout="mono")
        frame.sample_rate = 16000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    audio = read_audio(path)
    np.testing.assert_allclose(audio, tone / 32768, atol=1e-4)

    cut = write(tmp_path, "cut.flac", path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(AudioFileError, match=r"cut\.flac: truncated"):
        read_audio(cut)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"empty file \(0 bytes\)"),
        (b"hello, this is not audio\n" * 20, "not a readable audio file"),
        (b"RIFF\x10\x00", "truncated WAV header"),
        (wav_bytes(np.zeros(10, np.int16), 16000)[:30], "truncated WAV header"),
        (wav_bytes(np.zeros(10, np.int16), 16000)[:60], "no 'data' chunk"),
        (
            wav_bytes(np.zeros(16000, np.int16), 16000)[:8000],
            r"truncated WAV: header declares 1\.00 s .* holds 0\.25 s",
        ),
        (wav_bytes(np.zeros(0, np.int16), 16000), "no audio samples"),
    ],
    ids=["empty", "text", "riff-stub", "header-cut", "no-data", "data-cut", "zero-frames"],
)
def test_bad_files_raise_one_line_naming_the_file(tmp_path, content, message):
    path = write(tmp_path, "bad.wav", content)
    with pytest.raises(AudioFileError, match=message) as caught:
        read_audio(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_missing_paths_and_directories(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.wav: no such file"):
        read_audio(tmp_path / "nope.wav")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        read_audio(tmp_path)


def test_the_guard_policy_comes_from_cfg(tmp_path):
    samples = np.array([0.1, np.nan, 0.2], np.float32)
    path = write(tmp_path, "nan.wav", wav_bytes(samples, 16000, tag=3))
    np.testing.assert_array_equal(read_audio(path), np.array([0.1, 0.0, 0.2], np.float32))
    with pytest.raises(ValueError, match="NaN"):
        read_audio(path, cfg=Config(audio_guard_policy="reject"))


def test_non_finite_samples_become_silence_not_clicks():
    """NaN/inf carry no sound: 0 under the repair policy (the guard alone would make inf +-32,
    a click that drowns the speech after Whisper's normalisation); reject still rejects."""
    from voiceflow.audio.file import to_model_rate

    audio = np.array([0.25, np.inf, np.nan, -np.inf, -0.5], np.float32)
    np.testing.assert_array_equal(to_model_rate(audio, 16000, "test"), [0.25, 0, 0, 0, -0.5])
    assert np.isinf(audio[1])  # the caller's array is untouched
    with pytest.raises(ValueError, match="rejected"):
        to_model_rate(audio, 16000, "test", cfg=Config(audio_guard_policy="reject"))
