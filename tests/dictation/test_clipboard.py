"""Saving and restoring the X clipboard, and serving one paste (Xvfb + xclip)."""

from __future__ import annotations

import subprocess

from voiceflow.dictation.clipboard import PasteSelection, SavedClipboard, restore_clipboard, save_clipboard

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # any bytes: the target name is what matters


def xclip(env, *args, data=None):
    if data is not None:
        proc = subprocess.Popen(["xclip", "-selection", "clipboard", *args, "-i"], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc.communicate(data, timeout=5)
        return b""
    return subprocess.run(["xclip", "-selection", "clipboard", *args, "-o"], env=env,
                          capture_output=True, timeout=5).stdout


def test_a_non_text_clipboard_is_saved_and_restored_in_its_own_format(xserver, monkeypatch):
    monkeypatch.setenv("DISPLAY", xserver.display)
    xclip(xserver.env, "-t", "image/png", data=PNG)
    saved = save_clipboard()
    assert saved == SavedClipboard("image/png", PNG)
    xclip(xserver.env, data=b"something else")
    restore_clipboard(saved)
    assert xclip(xserver.env, "-t", "image/png") == PNG


def test_paste_selection_serves_the_text_once_and_reports_it(xserver, monkeypatch):
    monkeypatch.setenv("DISPLAY", xserver.display)
    with PasteSelection("pasted — ünïcode") as selection:
        reader = subprocess.Popen(["xclip", "-selection", "clipboard", "-o", "-t", "UTF8_STRING"],
                                  env=xserver.env, stdout=subprocess.PIPE)
        assert selection.wait_fetched(5.0)
        out, _ = reader.communicate(timeout=5)
    assert out.decode() == "pasted — ünïcode"
    # Closed: the clipboard has no owner, and saving it says so.
    assert save_clipboard() == SavedClipboard(None, b"")


def test_nobody_fetching_times_out(xserver, monkeypatch):
    monkeypatch.setenv("DISPLAY", xserver.display)
    with PasteSelection("unread") as selection:
        assert not selection.wait_fetched(0.2)
