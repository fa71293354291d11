"""Shared test fixtures: hypothesis profiles and the speech corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

REPO_ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path | None:
    """The shared speech corpus (``$VOICEFLOW_CORPUS`` or ``../shared/corpus``), or None."""
    candidate = Path(os.environ.get("VOICEFLOW_CORPUS", REPO_ROOT.parent / "shared" / "corpus"))
    return candidate if (candidate / "clips").is_dir() else None


@pytest.fixture(scope="session")
def corpus() -> Path:
    """Path of the corpus root (holding ``clips/`` and ``originals/``); skips when absent."""
    found = corpus_dir()
    if found is None:
        pytest.skip("speech corpus not found (set VOICEFLOW_CORPUS or place it at ../shared/corpus)")
    return found
