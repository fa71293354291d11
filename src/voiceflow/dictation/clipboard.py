"""The X11 clipboard for paste-based typing: save it, serve one paste of our text, restore it.

``--paste`` must leave the user's clipboard as it was.  Two facts shape this module:

- The X clipboard is not a buffer but a *promise*: its owner hands the data over when an
  application asks for it.  So "restore afterwards" can only be done after the application
  has actually fetched our text, not after a guessed delay.  :class:`PasteSelection` owns the
  CLIPBOARD selection itself (python-xlib), answers the application's requests, and reports
  when the text was handed over; only then is the previous content put back.
- The previous content is saved with ``xclip -o`` in its best target (UTF-8 text, else an
  image or the first other data target) and put back with ``xclip -i`` of the same target.

Threading: one caller.  Nothing here runs unless ``--paste`` (or the focus-changed fallback)
asks for it.
"""

from __future__ import annotations

import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from voiceflow.dictation.hotkey import open_display

__all__ = ["ClipboardError", "PasteSelection", "SavedClipboard", "restore_clipboard", "save_clipboard"]

_TEXT_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "STRING", "TEXT", "text/plain")
_META_TARGETS = {"TARGETS", "TIMESTAMP", "MULTIPLE", "SAVE_TARGETS", "DELETE", "INSERT_SELECTION",
                 "INSERT_PROPERTY", "ATOM_PAIR"}


class ClipboardError(RuntimeError):
    """The clipboard cannot be read, owned or restored (no xclip, no display)."""


@dataclass(frozen=True)
class SavedClipboard:
    """The clipboard's content in one target (``None`` target: the clipboard had no owner)."""

    target: str | None
    data: bytes


def _xclip(*args: str, data: bytes | None = None, timeout: float = 2.0) -> bytes:
    if shutil.which("xclip") is None:
        raise ClipboardError("xclip not found: --paste needs it (apt install xclip)")
    try:
        done = subprocess.run(["xclip", "-selection", "clipboard", *args], input=data,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ClipboardError(f"xclip {' '.join(args)} timed out") from exc
    if done.returncode != 0:
        raise ClipboardError(done.stderr.decode(errors="replace").strip() or "xclip failed")
    return done.stdout


def save_clipboard() -> SavedClipboard:
    """The current CLIPBOARD content (see :class:`SavedClipboard`)."""
    try:
        targets = _xclip("-o", "-t", "TARGETS").decode(errors="replace").split()
    except ClipboardError:
        return SavedClipboard(None, b"")  # no owner
    data_targets = [t for t in targets if t not in _META_TARGETS]
    pick = next((t for t in _TEXT_TARGETS if t in data_targets), None)
    if pick is None:
        pick = next((t for t in data_targets if t.startswith("image/")), None)
    if pick is None and data_targets:
        pick = data_targets[0]
    if pick is None:
        return SavedClipboard(None, b"")
    return SavedClipboard(pick, _xclip("-o", "-t", pick))


def restore_clipboard(saved: SavedClipboard) -> None:
    """Put ``saved`` back on the CLIPBOARD (``xclip -i``, which keeps serving it in the
    background).  A clipboard that had no owner needs nothing: closing the
    :class:`PasteSelection` that held it leaves it without one."""
    if saved.target is None:
        return
    if shutil.which("xclip") is None:
        raise ClipboardError("xclip not found: cannot restore the clipboard")
    # xclip forks a child that serves the selection: give it no pipe to hold open.
    proc = subprocess.Popen(["xclip", "-selection", "clipboard", "-t", saved.target, "-i"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.communicate(saved.data, timeout=5)


class PasteSelection:
    """Owns CLIPBOARD with ``text`` until one application has fetched it (or a timeout).

    ``with PasteSelection(text) as sel: <send the paste key>; sel.wait_fetched(timeout)``."""

    def __init__(self, text: str, display_name: str | None = None) -> None:
        from Xlib import X

        self.data = text.encode()
        self._display = open_display(display_name)
        d = self._display
        self._atoms = {name: d.intern_atom(name) for name in
                       ("CLIPBOARD", "TARGETS", "UTF8_STRING", "STRING", "TEXT", "ATOM",
                        "text/plain;charset=utf-8", "text/plain", "TIMESTAMP")}
        screen = d.screen()
        self._window = screen.root.create_window(0, 0, 1, 1, 0, screen.root_depth)
        self._window.set_wm_name("voiceflow paste")
        # A timestamp for the ownership (ICCCM): from a property change on our own window.
        self._window.change_attributes(event_mask=X.PropertyChangeMask)
        self._window.change_property(self._atoms["TIMESTAMP"], self._atoms["ATOM"], 32, [])
        d.sync()
        self.time = X.CurrentTime
        while True:
            event = d.next_event()
            if event.type == X.PropertyNotify:
                self.time = event.time
                break
        self._window.set_selection_owner(self._atoms["CLIPBOARD"], self.time)
        d.sync()
        if d.get_selection_owner(self._atoms["CLIPBOARD"]) != self._window:
            self.close()
            raise ClipboardError("could not take the clipboard")
        self.fetched = False

    @property
    def display(self) -> Any:
        return self._display

    def wait_fetched(self, timeout: float) -> bool:
        """Serve requests until an application fetched the text (True) or ``timeout`` seconds
        passed (False)."""
        from Xlib import X

        deadline = time.monotonic() + timeout
        d = self._display
        while not self.fetched:
            if not d.pending_events():
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([d.fileno()], [], [], left)[0]:
                    return False
                continue
            event = d.next_event()
            if event.type == X.SelectionRequest:
                self._answer(event)
        return True

    def _answer(self, request: Any) -> None:
        from Xlib import X
        from Xlib.protocol import event as xevent

        a = self._atoms
        prop = request.property or request.target
        target = request.target
        if target == a["TARGETS"]:
            offered = [a["TARGETS"], a["UTF8_STRING"], a["STRING"], a["TEXT"],
                       a["text/plain;charset=utf-8"], a["text/plain"]]
            request.requestor.change_property(prop, a["ATOM"], 32, offered)
        elif target in (a["UTF8_STRING"], a["STRING"], a["TEXT"], a["text/plain;charset=utf-8"], a["text/plain"]):
            kind = a["UTF8_STRING"] if target == a["TEXT"] else target
            request.requestor.change_property(prop, kind, 8, self.data)
            self.fetched = True
        else:
            prop = X.NONE
        notify = xevent.SelectionNotify(time=request.time, requestor=request.requestor,
                                        selection=request.selection, target=target, property=prop)
        request.requestor.send_event(notify)
        self._display.flush()

    def close(self) -> None:
        display, self._display = getattr(self, "_display", None), None
        if display is None:
            return
        try:
            self._window.destroy()
            display.sync()
        except Exception:  # noqa: BLE001
            pass
        display.close()

    def __enter__(self) -> "PasteSelection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
