"""What a first-time user meets before any audio: licence, metadata, type information, the
development install, the CI script and the compiled core's namespace."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

import voiceflow
import voiceflow_core

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
HOMEPAGE = PROJECT["urls"]["Homepage"]


def _installed_files() -> list[str]:
    return [str(path) for path in importlib.metadata.files("voiceflow") or ()]


def _regular_install() -> bool:
    """True when voiceflow was installed from a wheel (not an editable install)."""
    return any(path.replace("\\", "/") == "voiceflow/__init__.py" for path in _installed_files())


# --- licence and metadata ----------------------------------------------------------------------
def test_license_file_is_mit_and_matches_the_metadata():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text
    assert PROJECT["license"] == {"text": "MIT"}
    assert "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]


def test_license_is_in_the_sdist_and_wheel_configuration():
    skbuild = PYPROJECT["tool"]["scikit-build"]
    assert "LICENSE" in skbuild["sdist"]["include"]
    assert "LICENSE" in skbuild["wheel"]["license-files"]


@pytest.mark.skipif(not _regular_install(), reason="editable install: the wheel's file list is not installed")
def test_installed_wheel_carries_license_and_py_typed():
    files = [path.replace("\\", "/") for path in _installed_files()]
    assert any(path.endswith(".dist-info/licenses/LICENSE") or path.endswith(".dist-info/LICENSE") for path in files), files
    assert "voiceflow/py.typed" in files
    assert "voiceflow_core/py.typed" in files


def test_installed_metadata_names_author_urls_and_classifiers():
    meta = importlib.metadata.metadata("voiceflow")
    assert "voiceflow developers" in (meta.get("Author") or "") + (meta.get("Author-email") or "")
    urls = dict(entry.split(", ", 1) for entry in meta.get_all("Project-URL") or ())
    assert urls.get("Homepage") == HOMEPAGE and HOMEPAGE.startswith("https://github.com/")
    assert "Typing :: Typed" in (meta.get_all("Classifier") or ())


def test_readme_links_work_on_a_package_index_page():
    """PyPI renders the README without the repository: links must be absolute."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)]+)\)", readme)
    assert targets, "the README links to its docs"
    for target in targets:
        assert target.startswith("https://"), f"relative link {target!r} breaks on a package index"
        if "/blob/main/" in target:
            assert target.startswith(HOMEPAGE + "/blob/main/")
            assert (ROOT / target.split("/blob/main/", 1)[1]).is_file(), target


# --- type information --------------------------------------------------------------------------
def test_both_packages_ship_py_typed():
    assert (Path(voiceflow.__file__).parent / "py.typed").is_file()
    assert (Path(voiceflow_core.__file__).parent / "py.typed").is_file()


_USER_SCRIPT = """
    import numpy as np
    import voiceflow
    import voiceflow_core as vc

    mono, counts = vc.sanitize(np.zeros((4, 2), np.int16), limit=1.0)
    reveal_type(mono)
    reveal_type(counts.nan)
    reveal_type(vc.frame_energy(mono, frame=2, hop=1))
    reveal_type(voiceflow.BoundedRingBuffer(1.0, 16000).get_data())
    reveal_type(voiceflow.Transcriber)
    n: int = voiceflow.BoundedRingBuffer(1.0, 16000).samples_written
    wrong: str = voiceflow.BoundedRingBuffer(1.0, 16000).samples_written
"""


def test_mypy_sees_real_types_in_a_user_script(tmp_path):
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install '.[test]'")
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(_USER_SCRIPT), encoding="utf-8")
    env = {**os.environ, "MYPY_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context", str(script)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    out = result.stdout + result.stderr
    assert "py.typed" not in out and "missing library stubs" not in out, out
    revealed = re.findall(r'Revealed type is "([^"]+)"', out)
    assert len(revealed) == 5, out
    assert all(kind != "Any" for kind in revealed), out
    assert revealed[0].startswith("numpy.ndarray"), out
    assert revealed[1] in ("int", "builtins.int"), out
    assert "Transcriber" in revealed[4], out
    # the one deliberate mistake is caught, so the types are really checked
    assert re.search(r'user_script\.py:13: error: Incompatible types in assignment .*"int".*"str"', out), out
    assert out.count(": error:") == 1, out


# --- the compiled core's namespace -------------------------------------------------------------
def test_voiceflow_core_namespace_is_its_api():
    public = {name for name in dir(voiceflow_core) if not name.startswith("_")}
    assert public == set(voiceflow_core.__all__)
    for leaked in ("os", "warnings", "types", "importlib", "annotations"):
        assert leaked not in dir(voiceflow_core)


# --- development install and CI ----------------------------------------------------------------
def test_editable_rebuild_is_quiet_on_stdout():
    """``editable.rebuild=true`` rebuilds at import; its "Running cmake --build" line must not
    reach stdout, where it would land inside redirected transcripts."""
    assert PYPROJECT["tool"]["scikit-build"]["editable"]["verbose"] is False
    result = subprocess.run(
        [sys.executable, "-c", "import voiceflow_core, voiceflow"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def _fake_toolchain(bin_dir: Path, record: Path, pytest_status: int) -> None:
    """``python3 -m venv DIR`` that records DIR and makes an ``activate`` whose ``pip`` and
    ``python`` do nothing (``python -m pytest`` exits ``pytest_status``); ``dpkg -s`` says yes."""
    bin_dir.mkdir()
    scripts = {
        "dpkg": "#!/bin/sh\nexit 0\n",
        "python3": textwrap.dedent(f"""\
            #!/bin/sh
            [ "$1" = -m ] && [ "$2" = venv ] || exit 99
            echo "$3" > '{record}'
            mkdir -p "$3/bin"
            printf '#!/bin/sh\\nexit 0\\n' > "$3/bin/pip"
            printf '#!/bin/sh\\n[ "$2" = pytest ] && exit {pytest_status}\\nexit 0\\n' > "$3/bin/python"
            chmod +x "$3/bin/pip" "$3/bin/python"
            echo 'PATH="'"$3"'/bin:$PATH"' > "$3/bin/activate"
            """),
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("pytest_status", [0, 1])
def test_ci_script_removes_the_venv_it_created(tmp_path, pytest_status):
    record = tmp_path / "venv-path"
    _fake_toolchain(tmp_path / "bin", record, pytest_status)
    env = {key: value for key, value in os.environ.items() if key != "VOICEFLOW_CI_VENV"}
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == pytest_status, result.stderr
    venv = Path(record.read_text().strip())
    assert venv.is_relative_to(tmp_path)
    assert not venv.exists() and not venv.parent.exists(), "the CI venv was left behind"
