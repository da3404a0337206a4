"""End to end with the real packaged model (all-MiniLM-L6-v2) and real FAISS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from qabot.config import Settings
from qabot.service import QAService
from qabot.stores.files.folders import VersionFolders
from tests.helpers import SEED, SEED_QUESTION
from tests.indexing.test_pipeline import kill_build_midway

pytestmark = pytest.mark.slow


@pytest.fixture
def real_settings(tmp_path, seeds):
    shutil.copy(SEED, seeds / SEED.name)
    # The ONNX export (~10 s) is exercised once, by the CLI process test.
    return Settings(seeds_dir=seeds, index_dir=tmp_path / "index", onnx_query=False)


def test_seed_question_answered_with_sybiha_sentence_first(real_settings, minilm):
    svc = QAService(real_settings, embedder=minilm)
    svc.build()
    answer = svc.ask(SEED_QUESTION)
    assert answer.found
    assert "Sybiha" in answer.sentence
    assert "NATO-Ukraine Council" in answer.sentence
    assert answer.hits[0].chunk.source == SEED.name
    assert answer.hits[0].chunk.title.startswith("Alliance must help Ukraine")


def test_saved_and_loaded_index_gives_same_results(real_settings, minilm):
    first = QAService(real_settings, embedder=minilm)
    first.build()
    questions = [SEED_QUESTION, "How much security assistance was promised?", "Who is Kaja Kallas?"]
    before = [first.ask(q, k=3).to_dict() for q in questions]
    again = QAService(real_settings, embedder=minilm)
    after = [again.ask(q, k=3).to_dict() for q in questions]
    assert before == after


def test_killed_real_build_leaves_old_index_answering(real_settings, seeds, minilm):
    QAService(real_settings, embedder=minilm).build()
    good = VersionFolders(real_settings.index_dir).current_version()
    output = kill_build_midway(real_settings, seeds, embedder="sentence-transformers")
    assert b"Embedding" in output, output.decode(errors="replace")
    svc = QAService(real_settings, embedder=minilm)
    assert svc.index_version == good
    assert "Sybiha" in svc.ask(SEED_QUESTION).sentence


def test_cli_process_answers_from_seeds(real_settings):
    """What the README's first command does: a fresh process, no index, one question."""
    env = {
        **os.environ,
        "QABOT_SEEDS_DIR": str(real_settings.seeds_dir),
        "QABOT_INDEX_DIR": str(real_settings.index_dir),
    }
    cmd = [sys.executable, "-m", "qabot", "ask", SEED_QUESTION, "--json"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "No index yet" in result.stderr
    payload = json.loads(result.stdout)
    assert "Sybiha" in payload["answer"]
    assert payload["results"][0]["source"] == SEED.name
    assert (real_settings.index_dir / "onnx" / "model.onnx").exists()

    # The second ask uses the ONNX export: same answer, and torch is never imported.
    probe = (
        "import sys, json; from qabot.cli.main import main; sys.argv = ['qabot', 'ask', "
        f"{SEED_QUESTION!r}, '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') "
        "if m in sys.modules)))"
    )
    again = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    *answer_lines, modules = again.stdout.strip().splitlines()
    assert json.loads("\n".join(answer_lines)) == payload
    assert json.loads(modules) == []
