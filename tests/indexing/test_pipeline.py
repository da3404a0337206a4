import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexWriteError,
    NoDocumentsError,
)
from qabot.service import QAService
from qabot.stores.files.folders import VersionFolders
from tests.helpers import build_files, write


def _svc(settings, embedder=None):
    return QAService(settings, embedder=embedder or HashingEmbedder())


def test_build_then_ask_finds_the_passage(settings, seeds):
    write(seeds / "bread.txt", "Baking notes\nSourdough bread needs a starter of flour and water.")
    write(seeds / "cats.txt", "Cats\nCats sleep for most of the day in warm places.")
    svc = _svc(settings)
    report = svc.build()
    assert sorted(report.added) == ["bread.txt", "cats.txt"]
    answer = svc.ask("What does sourdough bread need?")
    assert answer.found
    assert answer.hits[0].chunk.source == "bread.txt"
    assert "starter" in answer.sentence


def test_incremental_build_embeds_only_new_and_changed(settings, seeds):
    for i in range(5):
        write(seeds / f"doc{i}.txt", f"Title {i}\nDocument {i} talks about topic {i}.")
    embedder = HashingEmbedder()
    svc = _svc(settings, embedder)
    first = svc.build()
    assert first.chunks_embedded == 5
    before = embedder.passages_embedded

    write(seeds / "doc5.txt", "Title 5\nA new document about volcanoes.")
    write(seeds / "doc1.txt", "Title 1\nDocument 1 now talks about glaciers instead.")
    (seeds / "doc2.txt").unlink()
    report = svc.build()
    assert report.added == ["doc5.txt"]
    assert report.changed == ["doc1.txt"]
    assert report.deleted == ["doc2.txt"]
    assert report.unchanged == 3
    assert report.chunks_embedded == 2
    # Only the two new/changed documents went through the model (answer sentences aside).
    assert embedder.passages_embedded - before == 2

    data = VersionFolders(settings.index_dir).load()
    assert sorted(d.doc_id for d in data.docs) == [f"doc{i}.txt" for i in (0, 1, 3, 4, 5)]
    # Reused vectors still belong to their own chunks.
    for i in range(len(data.chunks)):
        chunk = data.chunk(i)
        expected = embedder.embed_passages([f"{chunk.title}\n{chunk.text}"])[0]
        if not chunk.text.startswith(chunk.title):
            assert np.allclose(data.vectors[i], expected)
    assert svc.ask("volcanoes").hits[0].chunk.source == "doc5.txt"
    assert svc.ask("glaciers").hits[0].chunk.source == "doc1.txt"


def test_nothing_changed_writes_no_new_version(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text.")
    svc = _svc(settings)
    svc.build()
    version = svc.index_version
    report = svc.build()
    assert not report.changed_anything and report.chunks_embedded == 0
    assert svc.index_version == version


def test_an_index_analysed_by_an_older_analyzer_is_reanalysed_without_embedding(
    settings, seeds, monkeypatch
):
    import qabot.search.lexical as lexical
    import qabot.stores.files.assemble as assemble

    write(seeds / "a.txt", "NATO\nRutte said the winter will be hard.")
    write(seeds / "b.txt", "Bread\nBakers told us the ovens were hot.")
    # Built as an older qabot did: irregular verbs not mapped to their base form.
    with monkeypatch.context() as m:
        m.setattr(lexical, "BASE_FORM", {})
        m.setattr(lexical, "_TERMS", {})
        m.setattr(lexical, "ANALYZER", "qabot-bm25/1:older")
        m.setattr(assemble, "ANALYZER", "qabot-bm25/1:older")
        _svc(settings).build()
    store = VersionFolders(settings.index_dir)
    assert store.read_manifest().lexical == "qabot-bm25/1:older"
    assert store.load().lexical is None  # another analyzer's BM25 is not used as it is

    svc = _svc(settings)
    report = svc.build()
    assert report.chunks_embedded == 0
    assert store.read_manifest().lexical == lexical.ANALYZER
    bm25 = store.load().lexical
    assert bm25 is not None and "say" in bm25.vocab and "said" not in bm25.vocab
    assert svc.ask("What did Rutte say about the winter?").hits[0].chunk.doc_id == "a.txt"


def test_rebuild_reembeds_everything(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text.")
    embedder = HashingEmbedder()
    svc = _svc(settings, embedder)
    svc.build()
    report = svc.build(full=True)
    assert report.chunks_embedded == 1


def test_skipped_files_are_counted_and_build_goes_on(settings, seeds):
    write(seeds / "good.txt", "Good\nReadable text.")
    (seeds / "bad.pdf").write_bytes(b"garbage")
    (seeds / "pic.jpg").write_bytes(b"\xff\xd8")
    report = _svc(settings).build()
    assert report.added == ["good.txt"]
    assert {name for name, _ in report.skipped} == {"bad.pdf", "pic.jpg"}


def test_no_documents_is_a_clear_error(settings):
    with pytest.raises(NoDocumentsError, match="no readable documents"):
        _svc(settings).build()


def test_model_mismatch_refuses_with_fix(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text.")
    _svc(settings, HashingEmbedder(dim=256)).build()
    other = _svc(settings, HashingEmbedder(dim=128))
    with pytest.raises(IndexMismatchError, match="qabot index rebuild"):
        other.ask("alpha")
    # Building with the other model re-embeds everything instead of mixing vectors.
    assert other.build().chunks_embedded == 1
    assert other.ask("alpha").found


def test_corrupt_index_gives_clear_error(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text.")
    svc = _svc(settings)
    svc.build()
    folder = settings.index_dir / svc.index_version
    (folder / "vectors.npy").write_bytes(b"not numpy")
    with pytest.raises(IndexCorruptError, match="qabot index rebuild"):
        _svc(settings).ask("alpha")
    (folder / "manifest.json").write_text("{broken")
    with pytest.raises(IndexCorruptError, match="rebuild"):
        _svc(settings).ask("alpha")
    # A build over a corrupt index recovers by embedding everything.
    assert _svc(settings).build().chunks_embedded == 1
    assert _svc(settings).ask("alpha").found


def test_format_version_mismatch(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text.")
    svc = _svc(settings)
    svc.build()
    path = settings.index_dir / svc.index_version / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 999
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format 999"):
        _svc(settings).ask("alpha")


def test_failed_write_leaves_previous_index(settings, seeds, monkeypatch):
    write(seeds / "a.txt", "A\nAlpha text.")
    svc = _svc(settings)
    svc.build()
    good = svc.index_version
    write(seeds / "b.txt", "B\nBeta text.")

    import qabot.stores.files.folders as store_mod

    real = store_mod._save_npy
    calls = []

    def failing(path, array):
        calls.append(path)
        if path.name.startswith("vectors"):  # vectors.npy, or vectors.1.npy after an add
            raise OSError(28, "No space left on device")
        real(path, array)

    monkeypatch.setattr(store_mod, "_save_npy", failing)
    with pytest.raises(IndexWriteError, match=r"cannot write to .*index/: No space left.*free"):
        _svc(settings).build()
    monkeypatch.setattr(store_mod, "_save_npy", real)
    fresh = _svc(settings)
    assert fresh.index_version == good
    assert fresh.ask("alpha").found
    assert not list(settings.index_dir.glob(".tmp-*"))


def test_second_build_is_refused_while_locked(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text.")
    store = VersionFolders(settings.index_dir)
    with store.lock(), pytest.raises(IndexLockedError, match="another build is running"):
        _svc(settings).build()


def test_old_versions_are_cleaned(settings, seeds):
    svc = _svc(settings)
    for i in range(5):
        write(seeds / f"d{i}.txt", f"D{i}\nText {i}.")
        svc.build()
    versions = [p for p in settings.index_dir.glob("v-*")]
    assert len(versions) == 2
    assert svc.index_version in {p.name for p in versions}


def test_reload_picks_up_a_build_by_another_service(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text about rivers.")
    reader = _svc(settings)
    reader.build()
    assert reader.ask("rivers").hits[0].chunk.source == "a.txt"
    write(seeds / "b.txt", "B\nBeta text about mountains.")
    _svc(settings).build()
    assert reader.reload_if_changed()
    assert reader.ask("mountains").hits[0].chunk.source == "b.txt"
    assert not reader.reload_if_changed()


def kill_build_midway(settings, seeds, *, embedder: str) -> bytes:
    """Start a real `qabot index build` over 400 new documents and SIGKILL it mid-embedding."""
    for i in range(400):
        write(seeds / f"bulk{i:03}.txt", f"Bulk {i}\n" + f"Sentence {i} about many things. " * 200)
    env = {
        **os.environ,
        "QABOT_EMBEDDER": embedder,
        "QABOT_SEEDS_DIR": str(seeds),
        "QABOT_INDEX_DIR": str(settings.index_dir),
        "QABOT_BATCH_SIZE": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "qabot", "index", "build"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    buf = b""
    deadline = time.monotonic() + 120
    while b"Embedding" not in buf and time.monotonic() < deadline:
        chunk = proc.stderr.read1(4096)
        if not chunk:
            break
        buf += chunk
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return buf


def test_killed_build_leaves_old_index_loadable(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text about rivers.")
    _svc(settings).build()
    good = VersionFolders(settings.index_dir).current_version()
    output = kill_build_midway(settings, seeds, embedder="hashing")
    assert b"Embedding" in output, output.decode(errors="replace")
    svc = _svc(settings)
    assert svc.index_version == good
    assert svc.ask("rivers").found
    # The next build cleans up after the killed one and completes.
    report = _svc(settings).build()
    assert len(report.added) == 400
    assert not list(settings.index_dir.glob(".tmp-*"))


def test_adding_documents_links_the_files_it_keeps(settings, seeds):
    from qabot.stores.files.folders import MAX_ROW_FILES

    store = VersionFolders(settings.index_dir)
    for i in range(3):
        write(seeds / f"doc{i}.txt", f"Doc {i}\nTopic word{i} with filler{i}.")
    _svc(settings).build()
    first = store.current_version()
    first_file = (settings.index_dir / first / "vectors.npy").stat().st_ino
    for i in range(3, 3 + MAX_ROW_FILES + 1):
        write(seeds / f"doc{i}.txt", f"Doc {i}\nTopic word{i} with filler{i}.")
        _svc(settings).build()
        manifest = store.read_manifest()
        files = [name for name, _ in manifest.vector_files]
        assert 2 <= len(files) <= MAX_ROW_FILES
        assert len(manifest.doc_files) == len(files)
        folder = settings.index_dir / store.current_version()
        # The first file is the first build's, shared (a hard link), never written again.
        assert (folder / "vectors.npy").stat().st_ino == first_file
        assert (folder / "vectors.npy").stat().st_nlink >= 2
    assert not (settings.index_dir / first).exists()  # cleaned; its file lives on in the links
    appended = store.load()
    _svc(settings).build(full=True)
    full = store.load()
    assert store.read_manifest().vector_files == [["vectors.npy", len(full.chunks)]]

    def by_chunk(data):  # a full build orders documents by file name, not by when added
        return {
            (c.doc_id, c.start, c.end): data.vectors[i]
            for i, c in enumerate(map(data.chunk, range(len(data.chunks))))
        }

    a, b = by_chunk(appended), by_chunk(full)
    assert a.keys() == b.keys()
    for key, vector in a.items():
        np.testing.assert_allclose(vector, b[key], atol=1e-6)
    assert _svc(settings).ask("word11 filler11").hits[0].chunk.source == "doc11.txt"

    # A deletion rewrites the vectors as one file.
    (seeds / "doc0.txt").unlink()
    write(seeds / "new.txt", "New\nA brand new volcano document.")
    _svc(settings).build()
    manifest = store.read_manifest()
    assert [name for name, _ in manifest.vector_files] == ["vectors.npy"]
    assert [name for name, _ in manifest.doc_files] == ["docs.jsonl"]
    assert _svc(settings).ask("brand new volcano").hits[0].chunk.source == "new.txt"


def test_approximate_index_is_stored_appended_and_rebuilt(settings, seeds, monkeypatch):
    import qabot.search.ann as ann_mod

    settings = settings.model_copy(update={"vector_index": "ivf"})
    for i in range(120):
        write(seeds / f"doc{i:03}.txt", f"Doc {i}\nTopic word{i} appears here with filler{i}.")
    svc = _svc(settings)
    svc.build()
    folder = settings.index_dir / svc.index_version
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["ann"]["kind"] == "ivf" and (folder / "faiss.index").exists()
    assert svc.ask("word42 filler42").hits[0].chunk.source == "doc042.txt"

    # Adding a document appends to the trained index instead of training a new one.
    trained = []
    real_build = ann_mod.build_index
    monkeypatch.setattr(
        ann_mod, "build_index", lambda v, *, kind: trained.append(kind) or real_build(v, kind=kind)
    )
    write(seeds / "zzz.txt", "Zeta\nA brand new volcano document.")
    svc.build()
    assert trained == []
    assert svc.ask("brand new volcano").hits[0].chunk.source == "zzz.txt"
    assert svc.ask("word7 filler7").hits[0].chunk.source == "doc007.txt"

    # A deletion shifts rows: the index is trained again, and the deleted text is gone.
    (seeds / "doc042.txt").unlink()
    svc.build()
    assert trained == ["ivf"]
    answer = svc.ask("word42 filler42")
    assert all(h.chunk.source != "doc042.txt" for h in answer.hits)
    assert svc.ask("word43 filler43").hits[0].chunk.source == "doc043.txt"


def test_damaged_approximate_index_names_the_fix(settings, seeds):
    settings = settings.model_copy(update={"vector_index": "ivf"})
    for i in range(60):
        write(seeds / f"doc{i:03}.txt", f"Doc {i}\nTopic word{i}.")
    svc = _svc(settings)
    svc.build()
    (settings.index_dir / svc.index_version / "faiss.index").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="rebuild"):
        _svc(settings).ask("word1")


def test_build_with_nothing_to_do_never_touches_the_model(settings, seeds):
    class Watched(HashingEmbedder):
        touched = 0

        @property
        def max_tokens(self):
            Watched.touched += 1
            return super().max_tokens

    write(seeds / "a.txt", "A\nAlpha text.")
    _svc(settings, Watched()).build()
    Watched.touched = 0
    report = _svc(settings, Watched()).build()
    assert report.chunks_embedded == 0
    assert Watched.touched == 0  # for a real model, reading max_tokens loads it (seconds)


def test_sentence_vectors_are_built_reused_and_loaded(settings, seeds):
    from qabot.indexing.pipeline import BuildOptions
    from qabot.ingest.chunking import sentences_for_embedding

    write(seeds / "a.txt", "Rivers\nThe Rhine flows north. It reaches the sea.\n\nBarges use it.")
    emb = HashingEmbedder()
    store = VersionFolders(settings.index_dir)
    options = BuildOptions(seeds_dir=seeds, chunk_tokens=12, chunk_overlap=0, sentences=True)

    def check(data):
        offsets = data.sentence_offsets
        assert offsets[0] == 0 and offsets[-1] == len(data.sentence_vectors)
        for i in range(len(data.chunks)):
            expected = emb.embed_passages(sentences_for_embedding(data.chunk(i)))
            np.testing.assert_allclose(
                data.sentence_vectors[offsets[i] : offsets[i + 1]], expected, atol=1e-6
            )

    _, first = build_files(store, embedder=emb, options=options)
    assert len(first.chunks) >= 2 and len(first.sentence_vectors) >= 3
    check(first)
    write(seeds / "b.txt", "Mountains\nThe Alps are high. Snow stays all year.")
    before = emb.passages_embedded
    _, second = build_files(store, embedder=emb, options=options, held=first)
    new_chunks = [c for i in range(len(second.chunks)) if (c := second.chunk(i)).source == "b.txt"]
    new_sentences = sum(len(sentences_for_embedding(c)) for c in new_chunks)
    assert emb.passages_embedded - before == len(new_chunks) + new_sentences  # a.txt reused
    check(second)
    check(store.load())


def test_an_index_without_sentences_has_no_sentence_files(settings, seeds):
    write(seeds / "a.txt", "Rivers\nThe Rhine flows north. It reaches the sea.")
    svc = _svc(settings)  # the hashing embedder: no sentence ranking
    svc.build()
    data = svc.store.folders.load()
    assert data.sentence_vectors is None and data.manifest.sentences is None
    assert "sentences" not in data.manifest.chunking


@pytest.mark.parametrize("damage", ["truncate", "mismatch"])
def test_damaged_sentence_vectors_are_a_clear_error(settings, seeds, damage):
    write(seeds / "a.txt", "Rivers\nThe Rhine flows north. It reaches the sea. Barges use it.")
    settings = settings.model_copy(update={"sentence_vectors": True})
    _svc(settings).build()
    store = VersionFolders(settings.index_dir)
    folder = settings.index_dir / store.current_version()
    if damage == "truncate":
        path = folder / "sentence_vectors.npy"
        path.write_bytes(path.read_bytes()[:100])
    else:  # a valid file that does not fit the manifest
        np.save(folder / "sentence_offsets.npy", np.array([0, 1], dtype=np.int64))
    with pytest.raises(IndexCorruptError, match="qabot index rebuild"):
        store.load()
    report = _svc(settings).build(full=True)  # what the message says to do
    assert report.chunks_total > 0 and store.load().sentence_vectors is not None


def test_a_chunking_change_says_which_setting_changed(settings, seeds, caplog):
    write(seeds / "a.txt", "Rivers\nThe Rhine flows north. It reaches the sea. Barges use it.")
    _svc(settings.model_copy(update={"chunk_tokens": 64})).build()
    with caplog.at_level("WARNING", logger="qabot"):
        report = _svc(settings.model_copy(update={"chunk_tokens": 32})).build()
    assert report.chunks_embedded == report.chunks_total > 0
    assert "chunking changed since the last build (chunk_tokens 64 -> chunk_tokens 32)" in (
        caplog.text
    )
