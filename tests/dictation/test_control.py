"""The control socket: private to the user, one session at a time, one command per connection."""

from __future__ import annotations

import os
import socket
import stat
import threading

import pytest

from voiceflow.dictation.control import ControlError, ControlServer, default_socket_path, send_command


def serve(server, state="idle", count=1):
    """Answer ``count`` clients on a thread; returns (thread, results list)."""
    results = []

    def run():
        import select

        while len(results) < count:
            if select.select([server.fileno()], [], [], 5)[0]:
                results.append(server.accept(state))
            else:
                return

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def test_commands_round_trip_and_the_socket_is_private(tmp_path):
    path = tmp_path / "s.sock"
    with ControlServer(path) as server:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        thread, results = serve(server, "recording")
        assert send_command("toggle", path) == "ok recording"
        thread.join()
        assert results == [("toggle", None)]
    assert not path.exists()


def test_unknown_command_is_answered_with_an_error(tmp_path):
    path = tmp_path / "s.sock"
    with ControlServer(path) as server:
        thread, results = serve(server)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(path))
            client.sendall(b"explode\n")
            assert client.makefile().readline().startswith("error unknown command 'explode'")
        thread.join()
        assert results == [(None, None)]
    with pytest.raises(ControlError, match="unknown command"):
        send_command("explode", path)


def test_a_second_session_is_refused_and_a_stale_socket_replaced(tmp_path):
    path = tmp_path / "s.sock"
    with ControlServer(path):
        with pytest.raises(ControlError, match="already listening"):
            ControlServer(path)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    with ControlServer(path):
        pass


def test_a_shared_folder_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(ControlError, match="not a private directory"):
        ControlServer(shared / "s.sock")


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to connect as another user")
def test_another_users_connection_is_refused():
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp())  # reachable by other users (pytest's tmp_path is not)
    folder.chmod(0o755)
    path = folder / "s.sock"
    with ControlServer(path) as server:
        os.chmod(path, 0o666)  # even if the file mode let them in, the credentials check refuses
        thread, results = serve(server)
        pid = os.fork()
        if pid == 0:  # the child becomes "nobody" and tries to start a recording
            try:
                os.setgid(65534)
                os.setuid(65534)
                answer = send_command("begin", path)
                os._exit(0 if answer.startswith("ok") else 3)
            except ControlError:
                os._exit(4)
            except BaseException:
                os._exit(5)
        _, status = os.waitpid(pid, 0)
        thread.join()
    shutil.rmtree(folder)
    assert os.waitstatus_to_exitcode(status) == 4
    assert results == [(None, "control: refused a connection from uid 65534")]
    assert server.refused == 1


def test_default_path():
    assert str(default_socket_path({"XDG_RUNTIME_DIR": "/run/user/7"})) == "/run/user/7/voiceflow-dictate.sock"
    assert default_socket_path({}).name == "dictate.sock"
