"""What tests share besides fixtures: the repository's paths, the seed, writing a file.
Fixtures stay in tests/conftest.py; helpers for one kind of test sit beside this file (pdf.py,
tiny_models.py, web.py)."""

from __future__ import annotations

from pathlib import Path

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
