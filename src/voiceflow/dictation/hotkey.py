"""A global push-to-talk key on X11: grabbed on the root window, consumed, auto-repeat filtered.

:class:`HotkeyGrab` opens its own X connection (python-xlib, pure Python), grabs the key
(``XGrabKey`` on the root window, with and without Caps Lock / Num Lock / Scroll Lock, so the
lock state does not matter) and turns its events into ``"press"`` / ``"release"``.  Grabbed key
events go to this client only: the focused application never sees the hotkey.

Auto-repeat: while a key is held the server sends KeyRelease + KeyPress pairs with the same
timestamp.  A release immediately followed by a press of the same key at the same server time
is dropped together with that press, so holding the key does not restart anything.

Idle cost: nothing runs between events -- the caller waits on :meth:`HotkeyGrab.fileno` with
``select`` and calls :meth:`HotkeyGrab.events` when it is readable (or when
:meth:`HotkeyGrab.buffered` says events were already read off the socket).
"""

from __future__ import annotations

import select
from typing import Any

__all__ = ["HotkeyError", "HotkeyGrab", "keysym_of"]

_REPEAT_WAIT = 0.01  # seconds to wait for the press that may pair with a trailing release


class HotkeyError(RuntimeError):
    """The hotkey cannot be grabbed (no X display, unknown key name, held by another program)."""


def keysym_of(name: str) -> int:
    """The X keysym of a key name (``F9``, ``Control_R``, ``Pause``, ``a``); raises
    :class:`HotkeyError` for an unknown name."""
    from Xlib import XK

    keysym = XK.string_to_keysym(name)
    if keysym == 0:
        raise HotkeyError(f"unknown key name {name!r}: use an X11 keysym name such as F9, "
                          "Control_R, Pause or Scroll_Lock (see `xev` for a key's name)")
    return keysym


def open_display(name: str | None = None) -> Any:
    """An Xlib ``Display`` for ``name`` (default ``$DISPLAY``); :class:`HotkeyError` when there
    is none or python-xlib is missing."""
    try:
        from Xlib import display as xdisplay
        from Xlib import error as xerror
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise HotkeyError(f"python-xlib is not installed ({exc}): pip install python-xlib") from exc
    try:
        return xdisplay.Display(name)
    except (xerror.DisplayError, xerror.ConnectionClosedError, OSError) as exc:
        raise HotkeyError(f"cannot open the X display {name or ''}({exc}); a global hotkey needs "
                          "X11 -- on Wayland use --listen with a compositor shortcut") from exc


class HotkeyGrab:
    """Grab ``key`` (a keysym name) on every screen's root window of display ``display_name``.

    Use as a context manager or call :meth:`close`.  Single-threaded: one caller reads events.
    """

    def __init__(self, key: str, display_name: str | None = None) -> None:
        from Xlib import X, error as xerror

        self.key = key
        keysym = keysym_of(key)
        self._display = open_display(display_name)
        self.keycode = self._display.keysym_to_keycode(keysym)
        if not self.keycode:
            self._display.close()
            raise HotkeyError(f"key {key!r} is not on this keyboard's layout")
        locks = (X.LockMask, X.Mod2Mask, X.Mod5Mask)  # Caps, Num, Scroll Lock (usual mapping)
        self._modifiers = sorted({a | b | c for a in (0, locks[0]) for b in (0, locks[1]) for c in (0, locks[2])})
        catcher = xerror.CatchError(xerror.BadAccess)
        self._roots = [self._display.screen(i).root for i in range(self._display.screen_count())]
        for root in self._roots:
            for mods in self._modifiers:
                root.grab_key(self.keycode, mods, False, X.GrabModeAsync, X.GrabModeAsync, onerror=catcher)
        self._display.sync()
        if catcher.get_error():
            self.close()
            raise HotkeyError(f"key {key!r} is already grabbed by another program; pick another "
                              "with --hotkey")
        self.down = False
        """The hotkey is held (as far as the returned events go)."""

    def fileno(self) -> int:
        return self._display.fileno()

    def buffered(self) -> bool:
        """Events were already read from the socket; do not wait on :meth:`fileno`."""
        return self._display.pending_events() > 0

    def events(self) -> list[str]:
        """The hotkey's ``"press"`` / ``"release"`` transitions available now (never blocks for
        more than 10 ms); repeats and other events are dropped."""
        from Xlib import X

        raw: list[Any] = []
        while True:
            while self._display.pending_events():
                event = self._display.next_event()
                if event.type in (X.KeyPress, X.KeyRelease) and event.detail == self.keycode:
                    raw.append(event)
            if raw and raw[-1].type == X.KeyRelease and select.select([self.fileno()], [], [], _REPEAT_WAIT)[0]:
                continue  # the press of a repeat pair may be in flight
            break
        out: list[str] = []
        i = 0
        while i < len(raw):
            event = raw[i]
            if event.type == X.KeyRelease:
                nxt = raw[i + 1] if i + 1 < len(raw) else None
                if nxt is not None and nxt.type == X.KeyPress and nxt.time == event.time:
                    i += 2  # auto-repeat
                    continue
                if self.down:
                    self.down = False
                    out.append("release")
            elif not self.down:
                self.down = True
                out.append("press")
            i += 1
        return out

    def close(self) -> None:
        display, self._display = getattr(self, "_display", None), None
        if display is None:
            return
        try:
            for root in getattr(self, "_roots", []):
                for mods in getattr(self, "_modifiers", []):
                    root.ungrab_key(self.keycode, mods)
            display.sync()
        except Exception:  # noqa: BLE001 - the server may be gone already
            pass
        display.close()

    def __enter__(self) -> "HotkeyGrab":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
