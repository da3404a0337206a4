"""What tests share besides fixtures: the repository's paths, the seed, writing a file.
Fixtures stay in tests/conftest.py; helpers for one kind of test sit beside this file (pdf.py,
tiny_models.py, web.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "ukrinform-nato-rutte-2024-12-04.txt"
SEED_QUESTION = "Who attended the NATO-Ukraine Council?"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def build_files(folders, *, embedder, options, held=None, full: bool = False):
    """A build of the files store below `folders` (a VersionFolders) through the pipeline, as
    the service runs it: (report, the new version's IndexData or None when nothing changed).
    `held`: the IndexData of the caller's loaded version."""
    from qabot.indexing import pipeline
    from qabot.stores.files.store import FilesStore, FilesView

    store = FilesStore(folders.root)
    view = FilesView(held) if held is not None else None
    report, written = pipeline.build(
        store=store, embedder=embedder, options=options, held=view, full=full
    )
    return report, written.data if written is not None else None


def once_per_run(tmp_path_factory, name: str, build: Callable[[Path], object]) -> Path:
    """The folder `name`, filled by `build(folder)` once per test run even across pytest-xdist
    workers (which share the run's base temporary folder): the first builds it under a file
    lock, the others wait and reuse it. For files tests only read, like an ONNX export."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's, above each worker's own
    folder = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (root / f"{name}.done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            (root / f"{name}.done").touch()
    return folder
