"""read_audio / load_audio: WAV variants, PyAV formats and containers, truncated files (a warning
and what is there), and one clear error per kind of bad file."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voiceflow.audio.file import AudioFileError, TruncatedAudioWarning, load_audio, read_audio
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

    cut = write(tmp_path, "cut.flac", path.read_bytes()[: path.stat().st_size * 2 // 3])
    with pytest.warns(TruncatedAudioWarning, match=r"cut\.flac: truncated: the audio stream declares 2\.00 s"):
        part = read_audio(cut)
    assert 0 < part.size < tone.size
    np.testing.assert_allclose(part, tone[: part.size] / 32768, atol=1e-4)
    stub = write(tmp_path, "stub.flac", path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(AudioFileError, match=r"stub\.flac: truncated: the file ends before any audio"):
        read_audio(stub)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"empty file \(0 bytes\)"),
        (b"hello, this is not audio\n" * 20, "not a readable audio file"),
        (b"RIFF\x10\x00", "truncated WAV header"),
        (wav_bytes(np.zeros(10, np.int16), 16000)[:30], "truncated WAV header"),
        (wav_bytes(np.zeros(10, np.int16), 16000)[:60], "no 'data' chunk"),
        (wav_bytes(np.zeros(16000, np.int16), 16000)[:71], "truncated WAV: .* no whole sample is left"),
        (wav_bytes(np.zeros(0, np.int16), 16000), "no audio samples"),
    ],
    ids=["empty", "text", "riff-stub", "header-cut", "no-data", "data-cut-to-nothing", "zero-frames"],
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


def test_a_wav_shorter_than_its_header_gives_what_it_holds_with_a_warning(tmp_path):
    pcm = (np.arange(16000) % 200 - 100).astype(np.int16)
    full = wav_bytes(pcm, 16000)
    cut = write(tmp_path, "cut.wav", full[:8000])
    loaded = load_audio(cut)
    assert loaded.truncated == f"{cut}: truncated WAV: header declares 1.00 s of audio, the file holds 0.25 s"
    held = (8000 - (len(full) - pcm.nbytes)) // 2  # after the header, whole samples
    np.testing.assert_array_equal(loaded.samples, pcm[:held] / np.float32(32768))
    with pytest.warns(TruncatedAudioWarning, match="cut.wav: truncated WAV"):
        assert read_audio(cut).size == held


# --- containers built with ffmpeg, as users make them ----------------------------------------
def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=60)


@pytest.fixture(scope="module")
def source_wav(tmp_path_factory) -> Path:
    """11 s of a voice-like sound (harmonics under a syllable-rate envelope) after 2 s of digital
    silence: the silence makes the first MP3 frames cheap, so a bitrate estimate of the length
    from them is far too long."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    t = np.arange(11 * 16000) / 16000
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    noise = np.random.default_rng(0).standard_normal(t.size) * 0.05
    pcm = np.concatenate([np.zeros(2 * 16000), 0.2 * voice + noise])
    return write(tmp_path_factory.mktemp("src"), "source.wav", wav_bytes((pcm * 32767).astype(np.int16), 16000))


def _video_longer_than_audio(src: Path, out: Path) -> float:
    _ffmpeg("-f", "lavfi", "-i", "color=c=blue:s=64x64:d=16", "-i", str(src), "-c:v", "libx264", "-c:a", "aac", str(out))
    return 13.0


def _video_cut_shortest(src: Path, out: Path) -> float:
    _ffmpeg("-f", "lavfi", "-i", "color=c=blue:s=64x64:d=16", "-i", str(src), "-c:v", "libx264", "-c:a", "aac",
            "-shortest", str(out))  # fmt: skip
    return 13.0


def _vbr_mp3_without_xing(src: Path, out: Path) -> float:
    _ffmpeg("-i", str(src), "-c:a", "libmp3lame", "-q:a", "4", "-write_xing", "0", str(out))
    return 13.0


def _two_mp3s_joined_with_cat(src: Path, out: Path) -> float:
    one = out.with_name("one.mp3")
    _ffmpeg("-i", str(src), "-c:a", "libmp3lame", "-q:a", "4", str(one))
    out.write_bytes(one.read_bytes() * 2)
    return 26.0


@pytest.mark.parametrize(
    "build",
    [_video_longer_than_audio, _video_cut_shortest, _vbr_mp3_without_xing, _two_mp3s_joined_with_cat],
    ids=["mp4-video-longer", "mp4-shortest", "mp3-vbr-no-xing", "mp3-cat"],
)
def test_complete_files_in_any_container_are_read_whole(tmp_path, source_wav, build):
    out = tmp_path / ("x.mp4" if "mp4" in build.__name__ or "video" in build.__name__ else "x.mp3")
    expected = build(source_wav, out)
    loaded = load_audio(out)
    assert loaded.truncated is None
    assert abs(loaded.samples.size / 16000 - expected) < 0.25  # codec priming/padding only
    assert np.abs(loaded.samples[-16000:]).max() > 0.05  # the end of the sound is there


def test_a_cut_mp3_with_a_frame_count_is_truncated_and_gives_the_part_there(tmp_path, source_wav):
    whole = tmp_path / "whole.mp3"
    _ffmpeg("-i", str(source_wav), "-c:a", "libmp3lame", "-q:a", "4", str(whole))
    cut = write(tmp_path, "cut.mp3", whole.read_bytes()[: whole.stat().st_size // 2])
    loaded = load_audio(cut)
    assert loaded.truncated is not None and loaded.truncated.startswith(f"{cut}: truncated: the audio stream declares 13.0")
    assert 3.0 < loaded.samples.size / 16000 < 12.0
