"""Delivering dictated text into the window the user was typing in (``--type`` / ``--paste``).

:class:`WindowOutput` applies one :class:`~voiceflow.dictation.text.Edit` (backspaces, then
text) to the focused window -- but only to the window that had the focus when the utterance
ended (key release).  If the focus moved while the text was being transcribed, nothing is typed
into the new window: the text goes to the clipboard and the returned message says so.

- ``type``: key events (:class:`~voiceflow.dictation.keyboard.XTestKeyboard` on X11,
  ``wtype`` / ``ydotool`` / ``dotool`` on Wayland);
- ``paste``: the text is offered on the CLIPBOARD, the paste key is sent (Ctrl+Shift+V in a
  terminal emulator, Ctrl+V elsewhere), and once the application has fetched it the user's
  previous clipboard is put back (see :mod:`voiceflow.dictation.clipboard`).

Threading: one caller (the session's main thread).
"""

from __future__ import annotations

import subprocess
from typing import Any

from voiceflow.dictation.text import Edit

__all__ = ["WindowOutput"]

PASTE_FETCH_TIMEOUT = 2.0
"""Seconds to wait for the application to fetch pasted text before restoring the clipboard."""


class WindowOutput:
    """Types (or pastes) each edit into the window focused at the end of its utterance.

    ``keyboard``: an :class:`~voiceflow.dictation.keyboard.XTestKeyboard` or
    :class:`~voiceflow.dictation.keyboard.CommandKeyboard`; ``copy_command``: the clipboard
    tool used when the focus moved (None: the text is only reported).
    """

    def __init__(self, keyboard: Any, mode: str = "type", copy_command: list[str] | None = None,
                 display_name: str | None = None) -> None:
        if mode not in ("type", "paste"):
            raise ValueError(f"mode must be 'type' or 'paste', got {mode!r}")
        self.keyboard = keyboard
        self.mode = mode
        self.copy_command = copy_command
        self.display_name = display_name

    def focused_window(self) -> int:
        """The window that has the focus now (0: unknown, e.g. on Wayland)."""
        return self.keyboard.focused_window()

    def deliver(self, edit: Edit, window: int) -> str | None:
        """Apply ``edit`` if ``window`` (from :meth:`focused_window` at the end of the utterance)
        still has the focus.  Returns None when delivered, else the message to show."""
        if not edit.erase and not edit.insert:
            return None
        now = self.keyboard.focused_window()
        if window and now != window:
            text = edit.insert.lstrip(" ")
            where = self._copy(text)
            return f"the focused window changed since the key was released: nothing typed; {where}"
        self.keyboard.backspace(edit.erase)
        if self.mode == "type" or not edit.insert:
            self.keyboard.type(edit.insert)
            return None
        return self._paste(edit.insert, now)

    def _copy(self, text: str) -> str:
        if not text:
            return "no text to copy"
        if self.copy_command is None:
            return "no clipboard tool to copy the text to (install xclip)"
        try:
            # xclip/xsel fork a child that keeps serving the selection: no pipes for it to hold.
            proc = subprocess.Popen(self.copy_command, stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            proc.communicate(text.encode(), timeout=5)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"could not copy it to the clipboard ({exc})"
        return "the text is on the clipboard"

    def _paste(self, text: str, window: int) -> str | None:
        from voiceflow.dictation.clipboard import PasteSelection, restore_clipboard, save_clipboard

        saved = save_clipboard()
        keys = ["Control_L", "Shift_L", "v"] if self.keyboard.is_terminal(window) else ["Control_L", "v"]
        with PasteSelection(text, self.display_name) as selection:
            self.keyboard.press_combo(keys)
            fetched = selection.wait_fetched(PASTE_FETCH_TIMEOUT)
        restore_clipboard(saved)
        if not fetched:
            return (f"the window did not paste within {PASTE_FETCH_TIMEOUT:g} s "
                    f"({'+'.join(keys)}); the clipboard was restored")
        return None
