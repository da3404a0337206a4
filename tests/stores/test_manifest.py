"""The manifest reads and writes itself with the keys on disk as they have always been: an index
built before the Manifest dataclass loads unchanged, and so does one from before the newer
optional keys."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import IndexCorruptError
from qabot.indexing.pipeline import BuildOptions
from qabot.stores.files.folders import VersionFolders
from qabot.stores.files.manifest import Manifest
from tests.helpers import build_files

# Built by the code before the Manifest dataclass (commit ca7bc2f): build_version with
# HashingEmbedder(dim=8) and OPTIONS over seeds/ (a dated file, a copy of another, an empty one).
FIXTURE = Path(__file__).parent / "data" / "index_format1"
# Newer than the first format: an index without them must still load.
OPTIONAL_KEYS = ("dates", "checksums", "vector_files", "doc_files", "duplicates", "ann")


def _options(seeds: Path) -> BuildOptions:
    return BuildOptions(seeds_dir=seeds, chunk_tokens=64, chunk_overlap=0, sentences=True)


@pytest.fixture
def old_index(tmp_path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "old")
    return tmp_path / "old"


def _raw(store: VersionFolders) -> dict:
    return json.loads((store.root / store.current_version() / "manifest.json").read_text())


def test_an_index_built_before_the_dataclass_loads_and_reads_back_the_same(old_index):
    store = VersionFolders(old_index / "index")
    raw = _raw(store)
    data = store.load(expect_model_id="hashing:8")
    assert data.manifest.to_dict() == raw
    assert list(data.manifest.to_dict()) == list(raw)  # the same keys in the same order
    assert (data.manifest.dates, data.manifest.sentences, data.manifest.ann_kind) == (
        True,
        5,
        "flat",
    )
    assert sorted(data.manifest.files) == ["copy.md", "nato-2024-12-04.txt"]
    assert store.verify().ok


def test_a_build_on_an_old_index_reuses_everything_and_writes_the_same_keys(old_index):
    store = VersionFolders(old_index / "index")
    before = _raw(store)
    report, _ = build_files(
        store, embedder=HashingEmbedder(dim=8), options=_options(old_index / "seeds")
    )
    assert report.chunks_embedded == 0 and report.unchanged == 2  # nothing to do
    (old_index / "seeds" / "new.txt").write_text("New\nA volcano erupted in the north.\n")
    report, data = build_files(
        store, embedder=HashingEmbedder(dim=8), options=_options(old_index / "seeds")
    )
    assert report.added == ["new.txt"] and report.chunks_embedded == 1
    after = _raw(store)
    assert list(after) == list(before)
    assert {k for k in after if after[k] != before[k]} == {
        "built_at", "files", "chunks", "documents", "vector_files", "doc_files", "sentences",
        "checksums",
        "lexical",  # the BM25 analyzer changed since (irregular verbs): analysed again
    }  # fmt: skip
    # What the build holds in memory is what it wrote (tuples there, lists in JSON).
    assert json.loads(json.dumps(data.manifest.to_dict())) == after
    assert store.load().manifest == Manifest.from_dict(after)


def test_a_manifest_without_the_newer_keys_still_loads_and_builds(old_index):
    store = VersionFolders(old_index / "index")
    path = store.root / store.current_version() / "manifest.json"
    raw = _raw(store)
    for key in OPTIONAL_KEYS:
        del raw[key]
    path.write_text(json.dumps(raw))
    manifest = store.read_manifest()
    assert (manifest.dates, manifest.checksums, manifest.ann_kind) == (False, None, "flat")
    assert manifest.to_dict() == raw | {"dates": False}
    data = store.load()
    assert len(data.docs) == 2 and len(data.vectors) == 2
    assert not store.verify().recorded  # no checksums to check
    # Without "dates" the files are read again for their dates, their vectors reused.
    report, data = build_files(
        store, embedder=HashingEmbedder(dim=8), options=_options(old_index / "seeds")
    )
    assert report.chunks_embedded == 0 and data.manifest.dates
    assert set(OPTIONAL_KEYS) <= set(_raw(store))


def test_unknown_keys_are_kept_and_damaged_fields_name_the_rebuild(old_index):
    store = VersionFolders(old_index / "index")
    raw = _raw(store) | {"from_the_future": {"x": 1}}
    assert Manifest.from_dict(raw).to_dict() == raw
    path = store.root / store.current_version() / "manifest.json"
    path.write_text(json.dumps({**raw, "dim": "eight"}))
    with pytest.raises(IndexCorruptError, match=r"fields missing.*qabot index rebuild"):
        store.read_manifest()
