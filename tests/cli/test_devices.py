"""``voiceflow devices``: the table on stdout and exit 0, or one hint line on stderr and exit 1."""

from __future__ import annotations

import pytest

from voiceflow.capture import devices
from voiceflow.capture.devices import DeviceError, InputDevice
from voiceflow.cli.main import main

MIC = InputDevice(index=3, name="USB Mic", hostapi="ALSA", channels=1, default_samplerate=48000.0,
                  low_latency=0.01, high_latency=0.1, is_default=True)  # fmt: skip


def test_no_input_device_exits_non_zero_with_the_hint(monkeypatch, capsys):
    monkeypatch.setattr(devices, "input_devices", lambda: [])
    assert main(["devices"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "voiceflow devices: no input devices found (is a microphone connected? is PortAudio's host API running?)\n"


def test_portaudio_failure_exits_non_zero(monkeypatch, capsys):
    def broken():
        raise DeviceError("PortAudio library not found")

    monkeypatch.setattr(devices, "input_devices", broken)
    assert main(["devices"]) == 1
    assert capsys.readouterr().err == "voiceflow devices: PortAudio library not found\n"


def test_devices_are_listed_with_exit_0(monkeypatch, capsys):
    monkeypatch.setattr(devices, "input_devices", lambda: [MIC])
    assert main(["devices"]) == 0
    out, err = capsys.readouterr()
    assert "USB Mic" in out and "48000 Hz" in out and err == ""
