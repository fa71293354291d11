"""Typing text as key events into the focused window: XTest on X11, a helper tool on Wayland.

:class:`XTestKeyboard` (X11, python-xlib) sends every character of a text as fake key events
through the XTEST extension -- all requests batched, one round trip (``sync``) at the end, no
per-character delay.  Any Unicode character is typed independently of the keyboard layout:

- a character the current layout has on some key at level 1 or 2 (Shift) is typed with that
  key (Shift pressed around it when needed);
- any other character gets a *spare* keycode (one the layout leaves empty) remapped to its
  keysym with ``ChangeKeyboardMapping`` (what xdotool does).  Remapped spare keys stay mapped
  until :meth:`~XTestKeyboard.close`, so an application that handles the key events after the
  next remap still reads the right character; when a text needs more distinct characters than
  there are spare keys, it is typed in chunks 0.25 s apart (an application that reads its
  events later than that, e.g. under heavy load, can still see a reused key's new character).

Keyboard layouts: the layout's own keys are used only while the first XKB group is active;
with a second layout selected, every character is typed through spare keys (correct whatever
the layout, in chunks when a text has more distinct characters than there are spare keys).

Caps Lock, when on, is switched off for the time of the typing and on again after it (as
xdotool's ``--clearmodifiers`` does): applications upper-case letters under Lock whatever key
they come from.  Limit: other modifiers the user holds while the text is typed combine with it.

:class:`CommandKeyboard` types through ``wtype``, ``ydotool`` or ``dotool`` (Wayland, where
XTest cannot reach native windows); see :func:`wayland_keyboard`.

Threading: one caller per instance.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
from typing import Any, Sequence

from voiceflow.dictation.hotkey import HotkeyError, open_display

__all__ = ["CommandKeyboard", "KeyboardError", "XTestKeyboard", "keysym_for_char", "wayland_keyboard"]

_SPECIAL = {"\n": 0xFF0D, "\r": 0xFF0D, "\t": 0xFF09, "\b": 0xFF08}  # Return, Tab, BackSpace
_CHUNK_PAUSE = 0.25  # seconds between chunks that reuse spare keycodes (clients read late when busy)

TERMINAL_CLASSES = frozenset({
    "xterm", "uxterm", "urxvt", "rxvt", "gnome-terminal", "gnome-terminal-server", "konsole",
    "xfce4-terminal", "terminator", "tilix", "alacritty", "kitty", "st", "st-256color",
    "wezterm", "org.wezfurlong.wezterm", "foot", "lxterminal", "mate-terminal", "sakura",
    "terminology", "qterminal", "guake", "tilda", "yakuake", "ghostty", "com.mitchellh.ghostty",
})
"""WM_CLASS names (lower case) of terminal emulators: they paste with Ctrl+Shift+V."""


class KeyboardError(RuntimeError):
    """Text cannot be typed (no display, no XTEST extension, typing tool failed)."""


def keysym_for_char(char: str) -> int:
    """The X keysym that types ``char``: Latin-1 keysyms equal the code point, the rest are the
    Unicode keysyms ``0x01000000 + code point``; newline, tab and backspace are Return, Tab and
    BackSpace."""
    if char in _SPECIAL:
        return _SPECIAL[char]
    code = ord(char)
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    return 0x01000000 | code


class _FakeInput:
    """Packed XTEST FakeInput key requests (no reply), queued as python-xlib queues its own:
    the connection reads ``_binary`` and sets ``_serial``."""

    __slots__ = ("_binary", "_serial")
    _FORMAT = struct.Struct("=BBHBBxxIIxxxxxxxxhhxxxxxxxx")  # 36 bytes, the client's byte order

    def __init__(self, binary: bytes) -> None:
        self._binary = binary
        self._serial = 0

    @classmethod
    def pack(cls, opcode: int, kind: int, keycode: int) -> bytes:
        return cls._FORMAT.pack(opcode, 2, 9, kind, keycode, 0, 0, 0, 0)


class XTestKeyboard:
    """Types into whatever window has the X input focus (see the module docstring)."""

    def __init__(self, display_name: str | None = None) -> None:
        from Xlib import X, XK

        try:
            self._display = open_display(display_name)
        except HotkeyError as exc:
            raise KeyboardError(str(exc)) from exc
        if not self._display.has_extension("XTEST"):
            self._display.close()
            raise KeyboardError("the X server has no XTEST extension: cannot type")
        self._X = X
        self._shift = self._display.keysym_to_keycode(XK.string_to_keysym("Shift_L"))
        self._caps_lock = self._display.keysym_to_keycode(XK.string_to_keysym("Caps_Lock"))
        self._spare_assigned: dict[int, int] = {}  # keysym -> spare keycode, in use order
        self._packed: dict[tuple[int, int], bytes] = {}
        self._load_mapping()

    def _load_mapping(self) -> None:
        setup = self._display.display.info
        self._min, self._max = setup.min_keycode, setup.max_keycode
        mapping = self._display.get_keyboard_mapping(self._min, self._max - self._min + 1)
        self._per_keycode = len(mapping[0]) if mapping else 2
        self._layout: dict[int, tuple[int, bool]] = {}
        self._spares: list[int] = []
        for offset, syms in enumerate(mapping):
            keycode = self._min + offset
            if not any(syms):
                self._spares.append(keycode)
                continue
            for level, sym in enumerate(syms[:2]):  # group 1, levels 1 and 2 (Shift)
                if sym and sym not in self._layout:
                    self._layout[sym] = (keycode, level == 1)
        if not self._spares:
            # No empty key: borrow the highest keycodes (their symbols are put back at close).
            self._spares = list(range(self._max, self._max - 4, -1))
        self._original = {code: list(mapping[code - self._min]) for code in self._spares}

    def _state(self) -> int:
        """The core keyboard state: modifier bits, and the active XKB group in bits 13-14."""
        return self._display.screen().root.query_pointer().mask

    def _layout_usable(self, state: int) -> bool:
        """The layout's own keys type what its group-1 symbols say: the active XKB group is the
        first.  With another group active (a second layout selected), every character goes
        through spare keys, which carry the same symbol in every group."""
        return (state >> 13) & 3 == 0

    # --- window focus -------------------------------------------------------------------------
    def focused_window(self) -> int:
        """The id of the window holding the input focus (0 for none / PointerRoot)."""
        focus = self._display.get_input_focus().focus
        return focus.id if hasattr(focus, "id") else 0

    def window_class(self, window_id: int) -> str:
        """The WM_CLASS class name (lower case) of ``window_id`` or its nearest ancestor that
        has one; ``""`` when none does."""
        from Xlib import error as xerror

        if not window_id:
            return ""
        window = self._display.create_resource_object("window", window_id)
        try:
            for _ in range(16):
                wm_class = window.get_wm_class()
                if wm_class:
                    return wm_class[-1].lower()
                tree = window.query_tree()
                if not tree.parent or tree.parent.id == tree.root.id:
                    return ""
                window = tree.parent
        except xerror.XError:
            return ""
        return ""

    def is_terminal(self, window_id: int) -> bool:
        """The window belongs to a known terminal emulator (see :data:`TERMINAL_CLASSES`)."""
        return self.window_class(window_id) in TERMINAL_CLASSES

    # --- typing -----------------------------------------------------------------------------------
    def type(self, text: str) -> None:
        """Type ``text`` into the focused window; returns once the server has the events."""
        if not text:
            return
        keys = [keysym_for_char(c) for c in text]
        state = self._state()
        layout = self._layout if self._layout_usable(state) else {}
        caps = bool(state & self._X.LockMask) and self._caps_lock
        if caps:  # Caps Lock would upper-case letters (spare keys too): off while typing
            self._tap(self._caps_lock)
        chunk: list[int] = []
        off_layout: set[int] = set()  # distinct keysyms of this chunk that need a spare key
        for sym in keys:
            if sym not in layout and sym not in off_layout:
                if len(off_layout) == len(self._spares):
                    self._send(chunk, layout)
                    time.sleep(_CHUNK_PAUSE)  # let clients read the events before keys are reused
                    chunk, off_layout = [], set()
                off_layout.add(sym)
            chunk.append(sym)
        self._send(chunk, layout)
        if caps:
            self._tap(self._caps_lock)
        while self._display.pending_events():  # MappingNotify for our own remaps: not needed
            self._display.next_event()

    def _tap(self, keycode: int) -> None:
        from Xlib.ext import xtest

        xtest.fake_input(self._display, self._X.KeyPress, keycode)
        xtest.fake_input(self._display, self._X.KeyRelease, keycode)
        self._display.sync()

    def backspace(self, count: int) -> None:
        """Press BackSpace ``count`` times."""
        self.type("\b" * count)

    def press_combo(self, names: Sequence[str]) -> None:
        """Press the keys ``names`` (keysym names, e.g. ``["Control_L", "v"]``) in order and
        release them in reverse."""
        from Xlib import XK
        from Xlib.ext import xtest

        codes = [self._display.keysym_to_keycode(XK.string_to_keysym(n)) for n in names]
        for code in codes:
            xtest.fake_input(self._display, self._X.KeyPress, code)
        for code in reversed(codes):
            xtest.fake_input(self._display, self._X.KeyRelease, code)
        self._display.sync()

    def _send(self, keys: list[int], layout: dict[int, tuple[int, bool]]) -> None:
        if not keys:
            return
        self._assign_spares([k for k in dict.fromkeys(keys) if k not in layout])
        X = self._X
        events: list[tuple[int, int]] = []
        for sym in keys:
            if sym in layout:
                code, shifted = layout[sym]
            else:
                code, shifted = self._spare_assigned[sym], False
            if shifted:
                events.append((X.KeyPress, self._shift))
            events += ((X.KeyPress, code), (X.KeyRelease, code))
            if shifted:
                events.append((X.KeyRelease, self._shift))
        self._fake_keys(events)
        self._display.sync()

    def _fake_keys(self, events: list[tuple[int, int]]) -> None:
        """Queue one XTEST FakeInput request per ``(event type, keycode)``.

        python-xlib builds each request through its generic request machinery (~25 µs each);
        the 36-byte FakeInput request is packed here once per (type, key) instead, and all of
        them are queued on the connection as one entry -- typing 200 characters is then bound
        by the server and the round trip, not by Python.  Falls back to ``xtest.fake_input``
        if the connection object lacks the queue this relies on (python-xlib internals)."""
        from Xlib.ext import xtest

        connection = self._display.display
        if not all(hasattr(connection, name) for name in ("send_request", "request_queue_lock", "request_serial")):
            for kind, code in events:
                xtest.fake_input(self._display, kind, code)
            return
        opcode = connection.get_extension_major(xtest.extname)
        cache = self._packed
        packed = []
        for kind, code in events:
            binary = cache.get((kind, code))
            if binary is None:
                binary = cache[(kind, code)] = _FakeInput.pack(opcode, kind, code)
            packed.append(binary)
        # One queue entry holding every request (python-xlib joins queued requests by repeated
        # concatenation); the serial count moves on by one per request, as the server's does.
        connection.send_request(_FakeInput(b"".join(packed)), False)
        lock = connection.request_queue_lock
        lock.acquire()
        try:
            connection.request_serial = (connection.request_serial + len(packed) - 1) % 65536
        finally:
            lock.release()

    def _assign_spares(self, needed: list[int]) -> None:
        """Map every keysym of ``needed`` without a key to a spare keycode.  Adjacent keycodes
        are remapped in one request: each request makes every client refetch the mapping."""
        changed: dict[int, int] = {}
        for sym in needed:
            if sym in self._spare_assigned:
                self._spare_assigned[sym] = self._spare_assigned.pop(sym)  # most recently used
                continue
            used = set(self._spare_assigned.values())
            free = [k for k in self._spares if k not in used]
            if free:
                code = free[0]
            else:  # reuse the least recently used spare that this chunk does not need
                old = next(s for s in self._spare_assigned if s not in needed)
                code = self._spare_assigned.pop(old)
            self._spare_assigned[sym] = code
            changed[code] = sym
        codes = sorted(changed)
        while codes:
            run = [codes.pop(0)]
            while codes and codes[0] == run[-1] + 1:
                run.append(codes.pop(0))
            self._display.change_keyboard_mapping(run[0], [[changed[c]] * self._per_keycode for c in run])

    def close(self) -> None:
        """Give the spare keycodes back (empty again, or their own symbols for borrowed keys) and
        close the connection.  Idempotent."""
        display, self._display = getattr(self, "_display", None), None
        if display is None:
            return
        try:
            for code in self._spare_assigned.values():
                display.change_keyboard_mapping(code, [self._original[code]])
            display.sync()
        except Exception:  # noqa: BLE001 - the server may be gone
            pass
        display.close()

    def __enter__(self) -> "XTestKeyboard":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class CommandKeyboard:
    """Types through a command-line tool (Wayland): ``wtype``, ``ydotool`` or ``dotool``.

    Focus checks are not possible here (:meth:`focused_window` returns 0: unknown)."""

    def __init__(self, tool: str) -> None:
        if tool not in ("wtype", "ydotool", "dotool"):
            raise ValueError(f"unknown typing tool {tool!r}")
        self.tool = tool

    def focused_window(self) -> int:
        return 0

    def is_terminal(self, window_id: int) -> bool:
        return False

    def type(self, text: str) -> None:
        if not text:
            return
        if self.tool == "wtype":
            self._run(["wtype", "--", text])
        elif self.tool == "ydotool":
            self._run(["ydotool", "type", "--key-delay", "0", "--", text])
        else:
            lines = "".join(f"type {line}\nkey enter\n" for line in text.split("\n"))
            self._run(["dotool"], stdin=lines.removesuffix("key enter\n"))

    def backspace(self, count: int) -> None:
        if count <= 0:
            return
        if self.tool == "wtype":
            self._run(["wtype"] + ["-k", "BackSpace"] * count)
        elif self.tool == "ydotool":
            self._run(["ydotool", "key", "--key-delay", "0"] + ["14:1", "14:0"] * count)
        else:
            self._run(["dotool"], stdin="key backspace\n" * count)

    def press_combo(self, names: Sequence[str]) -> None:
        raise KeyboardError(f"{self.tool}: --paste is not supported on Wayland here; use --type")

    def _run(self, command: list[str], stdin: str | None = None) -> None:
        try:
            subprocess.run(command, input=None if stdin is None else stdin.encode(), check=True,
                           timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except (OSError, subprocess.SubprocessError) as exc:
            raise KeyboardError(f"{command[0]} failed: {exc}") from exc

    def close(self) -> None:
        pass


def wayland_keyboard() -> CommandKeyboard | None:
    """A :class:`CommandKeyboard` for the first of ``wtype``, ``ydotool``, ``dotool`` found on
    ``PATH``, or None."""
    for tool in ("wtype", "ydotool", "dotool"):
        if shutil.which(tool):
            return CommandKeyboard(tool)
    return None
