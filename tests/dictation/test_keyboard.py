"""XTest typing into a real X client (xterm under Xvfb): any Unicode text, exactly."""

from __future__ import annotations

import pytest

from tests.dictation import _desktop
from voiceflow.dictation.keyboard import CommandKeyboard, XTestKeyboard, keysym_for_char


def test_keysyms():
    assert keysym_for_char("a") == ord("a") and keysym_for_char("é") == 0xE9
    assert keysym_for_char("€") == 0x010020AC and keysym_for_char("\n") == 0xFF0D


@pytest.fixture
def terminal(xserver, tmp_path):
    path = tmp_path / "typed.txt"
    window = xserver.terminal(path)
    xserver.focus(window)
    return path, window


def typed(xserver, path, keyboard, text):
    keyboard.type(text + "\n")
    return _desktop.read_when(path, lambda t: t.endswith("\n"))


def test_any_unicode_text_is_typed_exactly(xserver, terminal, monkeypatch):
    monkeypatch.setenv("DISPLAY", xserver.display)
    path, window = terminal
    text = "Héllo, wörld — “quotes” 日本語 ½ ABC xyz! ~`{}|"
    with XTestKeyboard() as keyboard:
        assert keyboard.focused_window() == window
        assert keyboard.is_terminal(window)
        assert typed(xserver, path, keyboard, text) == text + "\n"


def test_more_distinct_characters_than_spare_keys(xserver, terminal, monkeypatch):
    monkeypatch.setenv("DISPLAY", xserver.display)
    path, _ = terminal
    with XTestKeyboard() as keyboard:
        text = "".join(chr(0x4E00 + i) for i in range(len(keyboard._spares) * 2 + 3))
        assert typed(xserver, path, keyboard, text) == text + "\n"


def test_backspace_edits_the_line(xserver, terminal, monkeypatch):
    monkeypatch.setenv("DISPLAY", xserver.display)
    path, _ = terminal
    with XTestKeyboard() as keyboard:
        keyboard.type("keep this wrong")
        keyboard.backspace(len(" wrong"))
        assert typed(xserver, path, keyboard, "") == "keep this\n"


def test_spare_keys_are_emptied_at_close(xserver, monkeypatch):
    monkeypatch.setenv("DISPLAY", xserver.display)
    with XTestKeyboard() as keyboard:
        spares = list(keyboard._spares)
        keyboard._assign_spares([0x01004E00])
    with XTestKeyboard() as again:
        assert again._spares == spares


def test_command_keyboard_commands(monkeypatch):
    calls = []
    monkeypatch.setattr(CommandKeyboard, "_run", lambda self, cmd, stdin=None: calls.append((cmd, stdin)))
    CommandKeyboard("wtype").type("a b")
    CommandKeyboard("ydotool").backspace(2)
    CommandKeyboard("dotool").type("one\ntwo")
    assert calls == [(["wtype", "--", "a b"], None),
                     (["ydotool", "key", "--key-delay", "0", "14:1", "14:0", "14:1", "14:0"], None),
                     (["dotool"], "type one\nkey enter\ntype two\n")]


def test_with_another_layout_group_active_every_character_goes_through_spare_keys(xserver, terminal,
                                                                                  monkeypatch):
    monkeypatch.setenv("DISPLAY", xserver.display)
    path, _ = terminal
    with XTestKeyboard() as keyboard:
        assert keyboard._layout_usable(keyboard._state())  # Xvfb starts in the first group
        monkeypatch.setattr(keyboard, "_layout_usable", lambda state: False)  # e.g. a second layout selected
        text = "Go forward, 10 meters!"  # 15 distinct characters: one chunk of spare keys
        assert typed(xserver, path, keyboard, text) == text + "\n"
        assert set(keyboard._spare_assigned) >= {ord("G"), ord("!"), ord(" ")}


def test_caps_lock_does_not_change_the_text_and_stays_on(xserver, terminal, monkeypatch):
    from Xlib import X

    monkeypatch.setenv("DISPLAY", xserver.display)
    path, _ = terminal
    xserver.xdotool("key", "Caps_Lock")
    try:
        with XTestKeyboard() as keyboard:
            assert keyboard._state() & X.LockMask
            text = "Caps Lock was on, ÄÖ äö."
            assert typed(xserver, path, keyboard, text) == text + "\n"
            assert keyboard._state() & X.LockMask  # the user's lock is back
    finally:
        xserver.xdotool("key", "Caps_Lock")
