"""Transcribe files on a Dask distributed cluster (``voiceflow transcribe --scheduler ADDRESS``).

Needs the optional extra ``pip install 'voiceflow[dask]'`` here and on every worker (the
workers import ``voiceflow`` to run the model).

* **One model per worker process, loaded once**: a :class:`TranscriberPlugin` (a Dask
  ``WorkerPlugin``) builds a :class:`~voiceflow.asr.transcriber.Transcriber` with one CPU
  thread in its ``setup`` -- on every worker when it is registered and on workers that join
  later -- and every task on that worker reuses it. Start workers with one thread each
  (``dask worker ADDRESS --nthreads 1``) and as many processes as cores
  (``--nworkers N``); a worker with several threads shares its one model between them.
* **The client reads the files** and sends their bytes, so workers need no shared filesystem;
  a worker writes the bytes to a private temporary file, decodes it as
  :func:`~voiceflow.audio.file.read_audio` does and deletes it. Error messages name the
  client's path.
* **Input order, bounded memory**: at most ``2 x`` (worker threads) files are in flight; results
  are handed back in input order.
* **Failures per file**: a file that cannot be read or transcribed yields its one-line error,
  as a local run does; a worker that dies has its task retried elsewhere by Dask, and a file
  that kills workers repeatedly fails alone (``KilledWorker``).

Threading: :func:`transcribe_on_cluster` is a generator driven by one thread; closing it early
cancels the files not yet done and closes the client.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections import deque
from pathlib import Path
from typing import Any, Iterator

try:
    from distributed import Client, get_worker
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as _missing:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        f"--scheduler needs Dask distributed ({_missing}); pip install 'voiceflow[dask]'"
    ) from _missing

__all__ = ["TranscriberPlugin", "transcribe_on_cluster"]

Outcome = tuple[str, Any, "str | None"]  # (path, transcript or None, one-line error or None)

IN_FLIGHT_PER_THREAD = 2
"""Files submitted per worker thread ahead of the result being written: one running, one queued."""


class TranscriberPlugin(WorkerPlugin):
    """Loads one :class:`~voiceflow.asr.transcriber.Transcriber` per worker process, once.

    ``model`` must resolve on the worker (``"tiny.en"`` is bundled with voiceflow; a directory
    must exist at that path there). ``name`` identifies the plugin per model and mode, so
    clients with other settings register their own.
    """

    def __init__(self, model: str, mode: str) -> None:
        self.model = model
        self.mode = mode
        self.name = plugin_name(model, mode)
        self.transcriber: Any = None

    def setup(self, worker: Any) -> None:
        from voiceflow.asr.transcriber import Transcriber

        self.transcriber = Transcriber(self.model, mode=self.mode, cpu_threads=1, workers=1)
        model_loads[self.name] = model_loads.get(self.name, 0) + 1

    def teardown(self, worker: Any) -> None:
        if self.transcriber is not None:
            self.transcriber.close()
            self.transcriber = None


model_loads: dict[str, int] = {}
"""In a worker process: how many times each plugin (by name) loaded its model."""


def _registered_worker_plugins(dask_scheduler: Any) -> list[str]:
    return list(dask_scheduler.worker_plugins)


def plugin_name(model: str, mode: str) -> str:
    """The plugin's name on the workers for ``model`` in ``mode``."""
    digest = hashlib.sha1(f"{model}\0{mode}".encode()).hexdigest()[:12]
    return f"voiceflow-transcriber-{mode}-{digest}"


def transcribe_file_bytes(name: str, data: bytes, plugin: str) -> tuple[Any, str | None]:
    """Worker side: ``(Transcript, None)`` or ``(None, "name: reason")`` for one file's bytes."""
    from voiceflow.cli.transcribe import _describe

    transcriber = getattr(get_worker().plugins[plugin], "transcriber")  # a TranscriberPlugin
    folder = tempfile.mkdtemp(prefix="voiceflow-")
    local = os.path.join(folder, Path(name).name or "audio")
    try:
        with open(local, "wb") as out:
            out.write(data)
        return transcriber.transcribe(local), None
    except Exception as error:  # noqa: BLE001 - one line per file, as locally
        return None, _describe(local, error).replace(local, name)
    finally:
        if os.path.exists(local):
            os.unlink(local)
        os.rmdir(folder)


def transcribe_on_cluster(paths: list[str], address: str, *, model: str, mode: str) -> Iterator[Outcome]:
    """``(path, transcript, error)`` for each of ``paths``, in order, transcribed on the Dask
    cluster whose scheduler listens at ``address`` (``tcp://host:8786``)."""
    from voiceflow.cli.transcribe import _one_line

    try:
        client = Client(address, set_as_default=False)  # connect timeout: Dask's config
    except Exception as exc:  # noqa: BLE001 - cannot reach the scheduler: every file says so
        message = f"cannot connect to the Dask scheduler at {address}: {_one_line(exc)}"
        for path in paths:
            yield path, None, f"{path}: {message}"
        return
    futures: deque[tuple[str, Any]] = deque()
    try:
        plugin = TranscriberPlugin(model, mode)
        try:
            # Registered once per cluster: a later run with the same model and mode reuses the
            # models already loaded (workers that join later get the plugin from the scheduler).
            if plugin.name not in client.run_on_scheduler(_registered_worker_plugins):
                client.register_plugin(plugin, name=plugin.name)
        except Exception as exc:  # noqa: BLE001
            message = f"cannot load model {model!r} on the cluster: {_one_line(exc)}"
            for path in paths:
                yield path, None, f"{path}: {message}"
            return
        threads = sum(client.nthreads().values())
        window = max(2, IN_FLIGHT_PER_THREAD * max(1, threads))
        pending = iter(paths)

        def submit_next() -> None:
            for path in pending:
                try:
                    data = Path(path).read_bytes()
                except OSError as exc:
                    futures.append((path, _one_line(exc)))
                    return
                key = f"voiceflow-transcribe-{uuid.uuid4().hex}"
                futures.append((path, client.submit(transcribe_file_bytes, path, data, plugin.name, key=key, pure=False)))
                return

        for _ in range(window):
            submit_next()
        while futures:
            path, future = futures.popleft()
            if isinstance(future, str):
                transcript, error = None, future if future.startswith(path) else f"{path}: {future}"
            else:
                try:
                    transcript, error = future.result()
                except Exception as failure:  # noqa: BLE001 - a killed worker fails this file only
                    transcript, error = None, f"{path}: worker failed: {type(failure).__name__}: {_one_line(failure)}"
                future.release()
            submit_next()
            yield path, transcript, error
    finally:
        for _, future in futures:
            if not isinstance(future, str):
                future.cancel()
        client.close()
