"""The global hotkey under a real X server: press/release once per hold, repeats filtered."""

from __future__ import annotations

import select
import time

import pytest

from voiceflow.dictation.hotkey import HotkeyError, HotkeyGrab, keysym_of


def collect(grab, seconds):
    events = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if grab.buffered() or select.select([grab.fileno()], [], [], 0.1)[0]:
            events += grab.events()
    return events


def test_holding_the_key_gives_one_press_and_one_release(xserver):
    with HotkeyGrab("F8", xserver.display) as grab:
        xserver.xdotool("keydown", "F8")
        time.sleep(1.5)  # well past the server's auto-repeat delay (660 ms)
        xserver.xdotool("keyup", "F8")
        assert collect(grab, 0.5) == ["press", "release"]
        xserver.xdotool("key", "F8")
        assert collect(grab, 0.3) == ["press", "release"]


def test_a_grabbed_key_cannot_be_grabbed_twice(xserver):
    pytest.importorskip("Xlib")
    with HotkeyGrab("F7", xserver.display):
        with pytest.raises(HotkeyError, match="already grabbed"):
            HotkeyGrab("F7", xserver.display)
    HotkeyGrab("F7", xserver.display).close()  # released at close


def test_unknown_key_name():
    pytest.importorskip("Xlib")
    with pytest.raises(HotkeyError, match="unknown key name"):
        keysym_of("NoSuchKey")
