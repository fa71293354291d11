"""Backend selection: ``available_backends``, ``active_backend``, ``use_backend`` and the
``VOICEFLOW_BACKEND`` environment variable; numba stays optional and unimported until chosen."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import voiceflow_core as vc

HAS_NUMBA = importlib.util.find_spec("numba") is not None


@pytest.fixture(autouse=True)
def _restore_backend():
    before = vc.active_backend()
    yield
    vc.use_backend(before)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "VOICEFLOW_BACKEND"}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=environment, timeout=120,
    )  # fmt: skip


def test_available_backends_lists_the_importable_ones_fastest_first():
    backends = vc.available_backends()
    assert backends[0] == "cython" and backends[-1] == "numpy"
    assert ("numba" in backends) == HAS_NUMBA
    assert vc.active_backend() in backends


def test_cython_is_the_default_and_numba_is_not_imported():
    result = run_python(
        """
        import sys, voiceflow_core as vc
        print(vc.active_backend(), "numba" in sys.modules)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cython", "False"]


@pytest.mark.parametrize("name", vc.available_backends())
def test_environment_variable_picks_the_backend(name):
    result = run_python(
        """
        import voiceflow_core as vc
        print(vc.active_backend(), vc.sanitize.__module__)
        """,
        VOICEFLOW_BACKEND=name.upper(),
    )
    assert result.returncode == 0, result.stderr
    active, module = result.stdout.split()
    assert active == name
    assert module.startswith("voiceflow_core._")


def test_unknown_environment_backend_fails_the_import_clearly():
    result = run_python("import voiceflow_core", VOICEFLOW_BACKEND="fortran")
    assert result.returncode != 0
    assert "ValueError" in result.stderr and "unknown backend 'fortran'" in result.stderr


def test_use_backend_rebinds_the_module_functions():
    for name in vc.available_backends():
        vc.use_backend(name)
        assert vc.active_backend() == name
        out, counts = vc.sanitize(np.array([[np.nan, 1.0]], np.float32), 1.0)
        assert out.tolist() == [0.0] and counts == vc.RepairCounts(1, 0, 0, 0)
        assert isinstance(vc.RingBuffer(4).write_sanitized(np.zeros(2, np.int16), 1.0),
                          vc.RepairCounts)  # fmt: skip
    vc.use_backend("numpy")
    assert vc.sanitize is vc._kernels_numpy.sanitize


def test_use_backend_rejects_unknown_and_unavailable_names():
    with pytest.raises(ValueError, match="unknown backend"):
        vc.use_backend("cuda")
    if not HAS_NUMBA:
        with pytest.raises(ValueError, match="not available"):
            vc.use_backend("numba")
    assert vc.active_backend() in vc.available_backends()


def test_without_numba_the_package_still_imports_and_omits_it():
    result = run_python(
        """
        import sys
        sys.modules["numba"] = None  # what an environment without numba looks like
        import voiceflow_core as vc
        print(",".join(vc.available_backends()))
        try:
            vc.use_backend("numba")
        except ValueError as exc:
            print("refused:", exc)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "cython,numpy"
    assert lines[1].startswith("refused:") and "pip install voiceflow[numba]" in lines[1]


def test_public_names_and_result_types():
    for name in vc.__all__:
        assert hasattr(vc, name)
    assert vc.ScanResult._fields == ("nan", "posinf", "neginf", "over_limit", "peak")
    assert vc.RepairCounts._fields == ("nan", "posinf", "neginf", "clipped")
