"""Desktop-test support: a private X server (Xvfb) with xterm windows that record what is typed.

``XServer.start()`` runs ``Xvfb :N`` on a free display number; ``terminal(path)`` opens an
``xterm`` running ``cat > path`` (the tty is in cooked mode, so BackSpace edits the line and
Return writes it to the file), ``focus(window)`` gives it the input focus (there is no window
manager: ``xdotool windowfocus``), ``key`` / ``keydown`` / ``keyup`` send XTest key events.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from tests._pulse import terminate

TOOLS = ("Xvfb", "xdotool", "xterm", "xclip")


def missing_requirements() -> str | None:
    for tool in TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} not found (apt-get install xvfb xdotool xterm xclip)"
    try:
        import Xlib  # noqa: F401
    except ImportError:
        return "python-xlib not installed (pip install python-xlib)"
    return None


class XServer:
    def __init__(self) -> None:
        self.display = ""
        self.env: dict[str, str] = {}
        self._proc: subprocess.Popen | None = None
        self._windows: list[subprocess.Popen] = []

    def start(self, timeout: float = 10.0) -> "XServer":
        number = 100 + os.getpid() % 800
        while Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            number += 1
        self.display = f":{number}"
        self._proc = subprocess.Popen(["Xvfb", self.display, "-nolisten", "tcp", "-screen", "0", "1024x768x24"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.env = {**os.environ, "DISPLAY": self.display}
        self.env.pop("WAYLAND_DISPLAY", None)
        deadline = time.monotonic() + timeout
        while subprocess.run(["xdotool", "getmouselocation"], env=self.env,
                             capture_output=True).returncode != 0:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Xvfb {self.display} did not start")
            time.sleep(0.05)
        return self

    def terminal(self, path: Path, *xterm_options: str) -> int:
        """Open an xterm that writes each typed line to ``path``; returns its window id."""
        proc = subprocess.Popen(["xterm", *xterm_options, "-e", "sh", "-c", f'exec cat > "{path}"'],
                                env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._windows.append(proc)
        found = subprocess.run(["xdotool", "search", "--sync", "--pid", str(proc.pid)], env=self.env,
                               capture_output=True, text=True, timeout=20)
        window = int(found.stdout.split()[0])
        deadline = time.monotonic() + 10
        while not path.exists():  # cat has started: the tty is ready for input
            assert time.monotonic() < deadline, "xterm did not start cat"
            time.sleep(0.02)
        return window

    def focus(self, window: int) -> None:
        self.xdotool("windowfocus", "--sync", str(window))

    def xdotool(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def focused(self) -> int:
        return int(self.xdotool("getwindowfocus").split()[0])

    def clipboard(self, text: str | None = None) -> str:
        """Read the CLIPBOARD (or set it to ``text``)."""
        if text is not None:
            proc = subprocess.Popen(["xclip", "-selection", "clipboard", "-i"], env=self.env,
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            proc.communicate(text.encode(), timeout=5)
            return text
        done = subprocess.run(["xclip", "-selection", "clipboard", "-o"], env=self.env,
                              capture_output=True, timeout=5)
        return done.stdout.decode(errors="replace")

    def stop(self) -> None:
        for proc in self._windows + ([self._proc] if self._proc else []):
            terminate(proc)
        self._windows = []
        self._proc = None


def read_when(path: Path, predicate, timeout: float = 10.0) -> str:
    """The content of ``path`` once ``predicate(content)`` holds (or the last content)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text(errors="replace") if path.exists() else ""
        if predicate(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
