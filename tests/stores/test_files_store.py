"""A damaged index: every file read is guarded, checksums catch silent damage, rebuild repairs."""

import json
import os

import numpy as np
import pytest

import qabot.stores.files.folders as store_mod
from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import ConfigError, IndexCorruptError, IndexWriteError
from qabot.service import QAService
from qabot.stores.files.folders import VersionFolders
from tests.helpers import write


def _svc(settings):
    return QAService(settings, embedder=HashingEmbedder())


@pytest.fixture
def built(settings, seeds):
    """An index of two documents with sentence vectors (so every kind of file exists)."""
    write(seeds / "a.txt", "Rivers\nThe Rhine flows north. It reaches the sea near Rotterdam.")
    write(seeds / "b.txt", "Cats\nCats sleep for most of the day in warm places.")
    settings = settings.model_copy(update={"sentence_vectors": True})
    _svc(settings).build()
    store = VersionFolders(settings.index_dir)
    return settings, store, settings.index_dir / store.current_version()


def _rebuild_repairs(settings):
    report = _svc(settings).build(full=True)  # what the messages say to do
    assert report.documents_total == 2
    assert _svc(settings).ask("Where do cats sleep?").hits[0].chunk.source == "b.txt"
    assert VersionFolders(settings.index_dir).verify().ok


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00garbage", b"../../etc", b"v-20240101T000000.000000-abc\x00\xff"],
)
def test_garbage_current_names_the_rebuild_and_rebuild_works(built, content):
    settings, _store, _ = built
    (settings.index_dir / "CURRENT").write_bytes(content)
    with pytest.raises(IndexCorruptError, match="qabot index rebuild"):
        _svc(settings).ask("Where do cats sleep?")
    with pytest.raises(IndexCorruptError, match="qabot index rebuild"):
        _svc(settings).status()
    _rebuild_repairs(settings)


def test_an_incremental_build_over_garbage_current_embeds_everything(built):
    settings, _, _ = built
    (settings.index_dir / "CURRENT").write_bytes(b"\xff\xfe")
    assert _svc(settings).build().chunks_embedded > 0
    assert _svc(settings).ask("Where do cats sleep?").found


@pytest.mark.parametrize("content", [b"[]", b"\xff\xfe{", b'{"format_version": 1}', b""])
def test_garbage_manifest_names_the_rebuild_and_rebuild_works(built, content):
    settings, _, folder = built
    (folder / "manifest.json").write_bytes(content)
    with pytest.raises(IndexCorruptError, match="qabot index rebuild"):
        _svc(settings).ask("Where do cats sleep?")
    _rebuild_repairs(settings)


FILES = [
    "vectors.npy",
    "chunks.npy",
    "docs.jsonl",
    "bm25/tf_rows.npy",
    "bm25/tf_data.npy",
    "bm25/vocab.txt",
    "sentence_vectors.npy",
    "sentence_offsets.npy",
]


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("damage", ["empty", "random-middle"])
def test_damaged_files_are_caught_on_load_and_by_verify(built, name, damage):
    settings, store, folder = built
    path = folder / name
    data = bytearray(path.read_bytes())
    if damage == "empty":
        data = bytearray()
    else:  # same size, random bytes over the middle: only a checksum sees it
        mid = len(data) // 2
        data[mid : mid + 8] = os.urandom(8)
    path.write_bytes(bytes(data))
    assert not store.verify().ok
    assert name in "; ".join(store.verify().problems)
    with pytest.raises(IndexCorruptError, match=f"{name}.*qabot index rebuild"):
        _svc(settings).ask("Where do cats sleep?")
    assert _svc(settings).status().damaged
    _rebuild_repairs(settings)


def test_large_files_are_checked_by_size_on_load_and_hashed_by_verify(built, monkeypatch):
    settings, store, folder = built
    monkeypatch.setattr(store_mod, "HASH_ON_LOAD_BYTES", 0)
    path = folder / "vectors.npy"
    data = bytearray(path.read_bytes())
    data[-4:] = b"\x00\x00\x00\x3f"  # the last float becomes 0.5: a valid, wrong array
    path.write_bytes(bytes(data))
    assert _svc(settings).ask("Where do cats sleep?").found  # not hashed on load: cheap
    assert store.verify().problems == ["vectors.npy is damaged (its checksum differs)"]
    path.write_bytes(bytes(data[:-4]))
    with pytest.raises(IndexCorruptError, match=r"vectors\.npy has"):
        _svc(settings).ask("Where do cats sleep?")


@pytest.mark.parametrize(
    "name, array",
    [
        # Valid .npy files that do not fit the rest: rows pointing past the documents.
        ("chunks.npy", np.array([(7, 0, 5)] * 2, dtype=store_mod.CHUNK_DTYPE)),
        ("chunks.npy", np.array([(0, 5, 99999)] * 2, dtype=store_mod.CHUNK_DTYPE)),
        ("chunks.npy", np.zeros(2, dtype=np.float64)),
        ("vectors.npy", np.zeros((2, 3), dtype=np.float32)),
    ],
)
def test_files_that_do_not_fit_are_caught_without_checksums(built, name, array):
    """The structural checks hold on their own (an index from before checksums)."""
    _settings, store, folder = built
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["checksums"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    np.save(folder / name, array)
    with pytest.raises(IndexCorruptError, match="qabot index rebuild"):
        store.load()


@pytest.mark.parametrize("name", ["tf_rows", "tf_indptr", "doc_len", "tf_data"])
def test_a_bm25_file_that_does_not_fit_is_rebuilt_in_memory(built, name, caplog):
    settings, store, folder = built
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["checksums"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    path = folder / "bm25" / f"{name}.npy"
    array = np.load(path)
    if name == "tf_data":
        np.save(path, np.full_like(array, np.nan))
    elif name == "tf_rows":  # rows past the last chunk
        np.save(path, np.full_like(array, 10**6))
    else:
        np.save(path, np.full_like(array, -1))
    assert store.load().lexical is None
    assert "BM25 index" in caplog.text
    assert _svc(settings).ask("Where do cats sleep?").hits[0].chunk.source == "b.txt"


def test_checksums_cover_every_file_and_reuse_linked_ones(settings, seeds, monkeypatch):
    write(seeds / "a.txt", "A\nAlpha text.")
    _svc(settings).build()
    store = VersionFolders(settings.index_dir)
    folder = settings.index_dir / store.current_version()
    listed = set(store.read_manifest().checksums)
    on_disk = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert listed == on_disk and "bm25/tf_rows.npy" in listed
    hashed = []
    monkeypatch.setattr(store_mod, "HASH_ON_LOAD_BYTES", 0)  # count the write's hashing only
    real = store_mod._digest
    monkeypatch.setattr(store_mod, "_digest", lambda p: hashed.append(p.name) or real(p))
    write(seeds / "b.txt", "B\nBeta text.")  # an add: vectors.npy is linked, not rewritten
    _svc(settings).build()
    assert "vectors.npy" not in hashed and "vectors.1.npy" in hashed
    check = store.verify()
    assert check.ok and check.files == len(store.read_manifest().checksums)


def test_index_dir_that_is_a_file_is_one_message(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text.")
    settings.index_dir.write_text("not a folder")
    with pytest.raises(ConfigError, match="is a file, not a folder: point QABOT_INDEX_DIR"):
        _svc(settings).build()
    with pytest.raises(ConfigError, match="QABOT_INDEX_DIR"):
        _svc(settings).ask("alpha")


def test_lock_that_is_a_folder_is_one_message(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text.")
    (settings.index_dir / ".lock").mkdir(parents=True)
    with pytest.raises(IndexWriteError, match=r"index/\.lock is a folder.*remove that folder"):
        _svc(settings).build()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_index_folder_is_one_message(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text.")
    _svc(settings).build()
    write(seeds / "b.txt", "B\nBeta text.")
    settings.index_dir.chmod(0o555)
    try:
        with pytest.raises(IndexWriteError, match=r"Permission denied.*make it writable"):
            _svc(settings).build()
    finally:
        settings.index_dir.chmod(0o755)


@pytest.mark.parametrize(
    "err, fix",
    [
        (28, "free some space on that disk"),
        (13, "make it writable for this user, or point QABOT_INDEX_DIR"),
        (30, "make it writable"),
        (21, "a folder stands where qabot writes a file"),
    ],
)
def test_write_errors_name_the_folder_and_the_fix(tmp_path, err, fix):
    from qabot.fsutil import write_error

    exc = write_error(tmp_path / "index", OSError(err, os.strerror(err), str(tmp_path / "x")))
    message = str(exc)
    assert message.startswith(f"cannot write to {tmp_path / 'index'}/: {os.strerror(err)}")
    assert fix in message and "\n" not in message
