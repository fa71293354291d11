"""Fixtures of the dictation tests: a private X server (see ``_desktop.py``)."""

from __future__ import annotations

import os

import pytest

from tests.dictation import _desktop


@pytest.fixture(scope="session")
def xserver():
    """A running ``Xvfb`` (skips when the tools are missing; in CI that is a failure)."""
    reason = _desktop.missing_requirements()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"desktop tests need {reason}")
        pytest.skip(reason)
    server = _desktop.XServer().start()
    yield server
    server.stop()
