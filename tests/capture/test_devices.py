"""Device listing and the open-with-fallback logic (PortAudio errors injected), plus the real
fallback path and ``voiceflow devices`` through the private PulseAudio server."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

try:
    import sounddevice as sd
except (ImportError, OSError) as exc:  # OSError: the PortAudio library is missing
    pytest.skip(f"sounddevice/PortAudio unavailable: {exc}", allow_module_level=True)

from tests import _pulse  # noqa: E402
from voiceflow.capture import devices  # noqa: E402
from voiceflow.capture.recorder import Recorder  # noqa: E402
from voiceflow.capture.devices import DeviceError, open_input_stream  # noqa: E402

FAKE_DEVICES = [
    dict(index=0, name="Speakers", hostapi=0, max_input_channels=0, max_output_channels=2,
         default_samplerate=48000.0, default_low_input_latency=0.01, default_high_input_latency=0.1),
    dict(index=1, name="USB Mic", hostapi=0, max_input_channels=2, max_output_channels=0,
         default_samplerate=48000.0, default_low_input_latency=0.01, default_high_input_latency=0.1),
    dict(index=2, name="Array Mic", hostapi=0, max_input_channels=4, max_output_channels=0,
         default_samplerate=44100.0, default_low_input_latency=0.01, default_high_input_latency=0.1),
]


class FakeStream:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


@pytest.fixture
def fake_portaudio(monkeypatch):
    """Three fake devices (default input: 1); ``refuse(rule)`` makes InputStream raise
    ``PortAudioError(msg, code)`` when ``rule(kwargs)`` returns a code."""
    rules = []
    opened = []

    def query_devices(device=None, kind=None):
        if device is None and kind is None:
            return [dict(d) for d in FAKE_DEVICES]
        matches = [d for d in FAKE_DEVICES if d["max_input_channels"] > 0 and (
            d["index"] == device if isinstance(device, int) else str(device).lower() in d["name"].lower())]
        if len(matches) != 1:
            raise ValueError(f"No input device matching {device!r}")
        return dict(matches[0])

    def input_stream(**kwargs):
        for rule in rules:
            code = rule(kwargs)
            if code is not None:
                raise sd.PortAudioError(f"Error opening InputStream: code {code}", code)
        opened.append(kwargs)
        return FakeStream(**kwargs)

    monkeypatch.setattr(sd, "query_devices", query_devices)
    monkeypatch.setattr(sd, "query_hostapis", lambda index=None: {"name": "ALSA"})
    monkeypatch.setattr(sd, "default", SimpleNamespace(device=(1, 0)))
    monkeypatch.setattr(sd, "InputStream", input_stream)
    return SimpleNamespace(refuse=rules.append, opened=opened)


def callback(*args):
    pass


def test_lists_inputs_with_rates_and_channels(fake_portaudio):
    found = devices.input_devices()
    assert [(d.index, d.name, d.channels, d.default_samplerate, d.is_default) for d in found] == [
        (1, "USB Mic", 2, 48000.0, True), (2, "Array Mic", 4, 44100.0, False)]
    table = devices.format_device_table(found)
    assert "* " in table.splitlines()[1] and "USB Mic" in table and "44100 Hz" in table


def test_opens_as_requested_when_the_device_accepts(fake_portaudio):
    opened = open_input_stream(None, 16000, None, callback=callback)
    assert (opened.samplerate, opened.channels, opened.device.name) == (16000, 1, "USB Mic")
    assert fake_portaudio.opened[0]["dtype"] == "float32" and opened.attempts == ("16000 Hz, 1 ch: opened",)


def test_refused_rate_falls_back_to_the_default_rate(fake_portaudio):
    fake_portaudio.refuse(lambda kw: -9997 if kw["samplerate"] != 48000 else None)
    opened = open_input_stream("usb", 16000, None, callback=callback, blocksize=lambda rate: rate // 100)
    assert (opened.samplerate, opened.channels) == (48000, 1)
    assert fake_portaudio.opened[-1]["blocksize"] == 480
    assert "16000 Hz, 1 ch" in opened.attempts[0] and "-9997" in opened.attempts[0]


def test_refused_mono_falls_back_to_the_device_channels(fake_portaudio):
    fake_portaudio.refuse(lambda kw: -9998 if kw["channels"] < 4 else None)
    opened = open_input_stream("Array", 16000, None, callback=callback)
    assert (opened.samplerate, opened.channels) == (16000, 4)
    assert len(opened.attempts) == 3  # mono, stereo, all four


def test_refused_rate_and_mono_fall_back_together(fake_portaudio):
    fake_portaudio.refuse(lambda kw: -9997 if kw["samplerate"] != 44100 else None)
    fake_portaudio.refuse(lambda kw: -9998 if kw["channels"] == 1 else None)
    opened = open_input_stream(2, 16000, None, callback=callback)
    assert (opened.samplerate, opened.channels) == (44100, 2)


def test_other_errors_name_the_device_the_settings_and_the_fix(fake_portaudio):
    fake_portaudio.refuse(lambda kw: -9985)  # paDeviceUnavailable
    with pytest.raises(DeviceError) as info:
        open_input_stream("usb", 16000, None, callback=callback)
    message = str(info.value)
    assert "'USB Mic'" in message and "16000 Hz, 1 ch" in message and "-9985" in message
    assert "Fix:" in message and "voiceflow devices" in message


def test_rate_refused_everywhere_suggests_a_rate(fake_portaudio):
    fake_portaudio.refuse(lambda kw: -9997)
    with pytest.raises(DeviceError, match=r"48000 Hz, 1 ch.*Fix: pass a rate.*48000"):
        open_input_stream("usb", 16000, None, callback=callback)


def test_explicit_channels_are_not_changed(fake_portaudio):
    fake_portaudio.refuse(lambda kw: -9998 if kw["channels"] == 3 else None)
    with pytest.raises(DeviceError, match="channels="):
        open_input_stream("Array", 16000, 3, callback=callback)


def test_unknown_device_lists_the_inputs(fake_portaudio):
    with pytest.raises(DeviceError, match=r"'nope'.*1: 'USB Mic', 2: 'Array Mic'.*voiceflow devices"):
        open_input_stream("nope", 16000, None, callback=callback)


def test_recorder_open_reports_the_device_error(fake_portaudio):
    fake_portaudio.refuse(lambda kw: -9985)
    rec = Recorder(device="usb")
    with pytest.raises(DeviceError, match="USB Mic"):
        rec.open()
    assert not rec.is_open


# --- the real path: PulseAudio's ALSA device ----------------------------------------------------
@pytest.fixture(scope="session")
def pulse():
    return _pulse.server_or_skip()


@pytest.mark.slow
def test_recorder_resamples_when_the_device_refuses_16k(pulse, corpus, monkeypatch):
    real = sd.InputStream

    def refuse_16k(**kwargs):
        if kwargs["samplerate"] == 16000:
            raise sd.PortAudioError("Error opening InputStream: Invalid sample rate", -9997)
        return real(**kwargs)

    monkeypatch.setattr(sd, "InputStream", refuse_16k)
    path = corpus / "clips" / "speechbrain_spk2-snt2.wav"
    reference = _pulse.load_clip(path)
    with Recorder(device=_pulse.INPUT_DEVICE) as rec:
        assert rec.stream_samplerate == int(rec.device.default_samplerate) != 16000
        time.sleep(0.2)
        rec.start()
        pulse.play(path)
        time.sleep(0.3)
        audio = rec.stop()
    assert audio.dtype == np.float32 and rec.samplerate == 16000
    lag, corr = _pulse.align(audio, reference, upsample=3)
    assert corr >= 0.99 and lag >= 0 and lag + len(reference) <= len(audio)


@pytest.mark.slow
def test_devices_command_lists_the_pulse_input(pulse, capsys):
    from voiceflow.cli.main import main

    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if " pulse " in f" {line} ")
    assert "ALSA" in line and "Hz" in line
