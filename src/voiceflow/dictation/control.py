"""Controlling a running dictation session from other processes: a per-user Unix socket.

Where no global key grab is possible (Wayland, or a desktop that binds its own shortcuts),
``voiceflow dictate --listen`` serves :class:`ControlServer` and a compositor shortcut runs
``voiceflow dictate toggle`` (or ``begin`` / ``end`` / ``cancel``), which :func:`send_command`
delivers.

Safety: the socket lives in ``$XDG_RUNTIME_DIR`` (a per-user 0700 directory; without it, a
0700 ``voiceflow-<uid>`` directory in the temp dir is used), is created with mode 0600, and
every connection's peer credentials (``SO_PEERCRED``) are checked: a process of another user
is refused even if it could reach the socket.

Protocol: the client sends one line (a command); the server answers one line, ``ok <state>``
or ``error <reason>``, and closes the connection.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import struct
import tempfile
from pathlib import Path

__all__ = ["COMMANDS", "ControlError", "ControlServer", "default_socket_path", "send_command"]

COMMANDS = ("begin", "end", "toggle", "cancel")
_READ_TIMEOUT = 1.0  # seconds a connected client has to send its command


class ControlError(RuntimeError):
    """The control socket cannot be created, or no session is listening."""


def default_socket_path(env: dict | None = None) -> Path:
    """``$XDG_RUNTIME_DIR/voiceflow-dictate.sock`` (or the same name in a private directory of
    the temp dir when ``XDG_RUNTIME_DIR`` is unset)."""
    env = os.environ if env is None else env
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "voiceflow-dictate.sock"
    return Path(tempfile.gettempdir()) / f"voiceflow-{os.getuid()}" / "dictate.sock"


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


class ControlServer:
    """The listening socket of one session.  Poll :meth:`fileno` with ``select``; call
    :meth:`accept` when readable to get the command (or None) of one client."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_socket_path()
        parent = self.path.parent
        if not parent.exists():
            parent.mkdir(mode=0o700, parents=True)
        info = parent.stat()
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o022:
            raise ControlError(f"{parent} is not a private directory of this user: refusing to "
                               "put the control socket there")
        if self.path.exists() or self.path.is_symlink():
            if _is_listening(self.path):
                raise ControlError(f"another dictation session is already listening on {self.path}")
            self.path.unlink()  # a stale socket of a session that did not clean up
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self._sock.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self._sock.listen(8)
        self._sock.setblocking(False)
        self.refused = 0
        """Connections refused because they came from another user."""

    def fileno(self) -> int:
        return self._sock.fileno()

    def accept(self, state: str) -> tuple[str | None, str | None]:
        """Serve one waiting client: ``(command, None)`` for a valid command (answered
        ``ok <state>``), ``(None, message)`` for a refused or invalid one, ``(None, None)``
        when no client was waiting."""
        try:
            conn, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError):
            return None, None
        with conn:
            uid = _peer_uid(conn)
            if uid != os.getuid():
                self.refused += 1
                _reply(conn, "error refused: not the session's user")
                return None, f"control: refused a connection from uid {uid}"
            conn.settimeout(_READ_TIMEOUT)
            try:
                line = conn.recv(256).split(b"\n", 1)[0].decode(errors="replace").strip()
            except OSError:
                return None, None
            if line not in COMMANDS:
                _reply(conn, f"error unknown command {line!r}; use one of {', '.join(COMMANDS)}")
                return None, None
            _reply(conn, f"ok {state}")
            return line, None

    def close(self) -> None:
        sock, self._sock = getattr(self, "_sock", None), None
        if sock is None:
            return
        sock.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self) -> "ControlServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reply(conn: socket.socket, line: str) -> None:
    try:
        conn.sendall(line.encode() + b"\n")
    except OSError:
        pass


def _is_listening(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
        return True
    except OSError as exc:
        return exc.errno not in (errno.ECONNREFUSED, errno.ENOENT, errno.ENOTSOCK)
    finally:
        probe.close()


def send_command(command: str, path: str | os.PathLike | None = None, timeout: float = 5.0) -> str:
    """Send ``command`` to the listening session; returns its answer line (``ok <state>``).
    Raises :class:`ControlError` when no session listens or it answers ``error``."""
    if command not in COMMANDS:
        raise ControlError(f"unknown command {command!r}; use one of {', '.join(COMMANDS)}")
    where = Path(path) if path is not None else default_socket_path()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(where))
            sock.sendall(command.encode() + b"\n")
            answer = sock.makefile("rb").readline().decode(errors="replace").strip()
        except OSError as exc:
            raise ControlError(f"no dictation session is listening on {where} ({exc.strerror or exc}); "
                               "start one with `voiceflow dictate --listen`") from exc
    if not answer.startswith("ok"):
        raise ControlError(f"the session answered: {answer or '(nothing)'}")
    return answer
