"""The store contract (qabot/stores/base.py): every store passes the same tests, through the
service as users reach it. A new store is done when it passes them: add it to STORES.

Runs on the files store and Qdrant's local mode; with QABOT_QDRANT_URL set (a real server), on
the server too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid

import pytest
from pydantic import SecretStr

from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import IndexCorruptError
from qabot.service import QAService
from tests.helpers import write

# Read before conftest's fixture clears every QABOT_ variable.
SERVER_URL = os.environ.get("QABOT_QDRANT_URL", "")
SERVER_KEY = os.environ.get("QABOT_QDRANT_API_KEY", "")

STORES = ["files", "qdrant-local", "qdrant-server"]

DOCS = {
    "eiffel.txt": "Eiffel Tower\nThe Eiffel Tower stands in Paris. Gustave Eiffel's company "
    "built it for the 1889 World's Fair. It is 330 metres tall.",
    "rhine.txt": "Rhine\nThe Rhine flows from the Swiss Alps to the North Sea. It passes "
    "Basel, Cologne and Rotterdam. Barges carry coal and grain on it.",
    "tea.md": "# Tea\nTea is brewed from the leaves of Camellia sinensis. Green tea is not "
    "oxidised; black tea is. China and India grow most of it.",
    "news/kyiv-2024-12-04.txt": "Kyiv\nKyiv stands on the Dnipro. Saint Sophia Cathedral was "
    "built in the eleventh century.",
}
QUESTIONS = [
    "Who built the Eiffel Tower?",
    "Where does the Rhine flow?",
    "What do barges carry?",
    "Which plant gives tea?",
    "Where does Kyiv stand?",
    "What is the capital of Australia?",
]


def settings_for(kind: str, settings, tmp_path):
    """Settings selecting the store `kind`, everything in tmp_path (a fresh collection on the
    server)."""
    if kind == "files":
        return settings
    if kind == "qdrant-local":
        return settings.model_copy(update={"vector_store": "qdrant"})
    if not SERVER_URL:
        pytest.skip("QABOT_QDRANT_URL not set: no Qdrant server to test against")
    return settings.model_copy(
        update={
            "vector_store": "qdrant",
            "qdrant_url": SERVER_URL,
            "qdrant_api_key": SecretStr(SERVER_KEY),
            "qdrant_collection": f"qabot-test-{uuid.uuid4().hex[:8]}",
        }
    )


@pytest.fixture(params=STORES)
def store_settings(request, settings, tmp_path):
    s = settings_for(request.param, settings, tmp_path)
    yield s
    if s.vector_store == "qdrant":
        from qabot.stores.qdrant.index import QdrantIndex, close_local

        if s.qdrant_url:
            index = QdrantIndex.from_settings(s)
            for collection in index.versions():
                index.client.delete_collection(collection)
        else:
            close_local(str(s.qdrant_local_path))


def service(s) -> QAService:
    return QAService(s, embedder=HashingEmbedder())


def seed(seeds, docs=DOCS) -> None:
    for name, text in docs.items():
        write(seeds / name, text)


def answers(svc: QAService) -> list:
    out = []
    for q in QUESTIONS:
        a = svc.ask(q)
        hits = [(h.chunk.doc_id, h.chunk.start, h.chunk.end, round(h.score, 4)) for h in a.hits]
        best = None if a.best_score is None else round(a.best_score, 4)
        out.append((q, a.found, a.sentence, best, hits[:1]))
    return out


def test_first_build_indexes_every_document_and_answers(store_settings, seeds):
    seed(seeds)
    svc = service(store_settings)
    assert not svc.has_index() and not svc.status().built
    report = svc.build()
    assert sorted(report.added) == sorted(DOCS)
    assert (report.documents_total, report.chunks_total) == (4, 4)
    assert report.chunks_embedded == 4
    assert svc.has_index() and svc.index_version
    assert svc.ask(QUESTIONS[0]).hits[0].chunk.doc_id == "eiffel.txt"
    assert sorted(d for d, _, _ in svc.documents()) == sorted(DOCS)
    st = svc.status()
    assert (st.built, st.documents, st.chunks, st.new, st.changed, st.deleted) == (
        True,
        4,
        4,
        [],
        [],
        [],
    )
    assert st.model_id == HashingEmbedder().model_id
    assert svc.verify().ok
    # Nothing changed: nothing is written and the version stays.
    version = svc.index_version
    again = svc.build()
    assert (again.chunks_embedded, again.unchanged, again.changed_anything) == (0, 4, False)
    assert (again.documents_total, again.chunks_total) == (4, 4)
    assert svc.index_version == version


def test_add_change_delete_embed_only_what_changed_and_answer_as_a_fresh_build(
    store_settings, seeds, tmp_path
):
    seed(seeds)
    svc = service(store_settings)
    svc.build()
    write(seeds / "nile.txt", "Nile\nThe Nile flows north through Egypt to the sea.")
    write(seeds / "tea.md", "# Tea\nTea is brewed from Camellia sinensis. Assam is in India.")
    (seeds / "rhine.txt").unlink()
    st = svc.status()
    assert (st.new, st.changed, st.deleted) == (["nile.txt"], ["tea.md"], ["rhine.txt"])
    report = svc.build()
    assert (report.added, report.changed, report.deleted) == (
        ["nile.txt"],
        ["tea.md"],
        ["rhine.txt"],
    )
    assert report.chunks_embedded == 2 and report.unchanged == 2
    assert (report.documents_total, report.chunks_total) == (4, 4)
    assert svc.verify().ok
    incremental = answers(svc)
    assert svc.ask("Where does the Nile flow?").hits[0].chunk.doc_id == "nile.txt"
    assert "rhine.txt" not in {d for d, _, _ in svc.documents()}
    fresh = service(
        settings_for("files", store_settings, tmp_path).model_copy(
            update={"index_dir": tmp_path / "fresh", "vector_store": "faiss"}
        )
    )
    fresh.build()
    # Qdrant keeps BM25's average passage length from its last full build (no stored vector is
    # rewritten): scores may differ a little from a fresh build's, the answers may not.
    assert [(*a[:3], a[4][0][0] if a[4] else None) for a in incremental] == [
        (*a[:3], a[4][0][0] if a[4] else None) for a in answers(fresh)
    ]


def test_copies_are_indexed_once_and_named(store_settings, seeds):
    seed(seeds)
    write(seeds / "zz-copy-of-eiffel.txt", DOCS["eiffel.txt"])
    svc = service(store_settings)
    report = svc.build()
    assert report.duplicates == [("zz-copy-of-eiffel.txt", "eiffel.txt")]
    assert report.documents_total == 4
    assert "zz-copy-of-eiffel.txt" not in {d for d, _, _ in svc.documents()}
    st = svc.status()
    assert st.duplicates == [("zz-copy-of-eiffel.txt", "eiffel.txt")] and st.new == []
    from qabot.ingest.scan import file_sha256

    assert svc.indexed_as(file_sha256(seeds / "eiffel.txt")) == "eiffel.txt"
    assert svc.indexed_as("0" * 64) is None
    # A rebuild from scratch keeps the same file indexed.
    again = svc.build(full=True)
    assert again.duplicates == [("zz-copy-of-eiffel.txt", "eiffel.txt")]


def test_dates_reach_the_passages(store_settings, seeds):
    seed(seeds)
    svc = service(store_settings)
    svc.build()
    hit = svc.ask("Where does Kyiv stand?").hits[0]
    assert (hit.chunk.doc_id, hit.chunk.date) == ("news/kyiv-2024-12-04.txt", "2024-12-04")
    assert svc.ask(QUESTIONS[0]).hits[0].chunk.date == ""


def test_context_and_documents_come_from_the_store(store_settings, seeds):
    seed(seeds)
    svc = service(store_settings)
    svc.build()
    hit = svc.ask("What do barges carry?").hits[0]
    around = svc.context(hit.chunk.doc_id, hit.chunk.start, hit.chunk.end)
    assert "Barges carry coal" in around
    counts = {d: (title, n) for d, title, n in svc.documents()}
    assert counts["rhine.txt"] == ("Rhine", 1)


def test_a_new_model_embeds_everything_again(store_settings, seeds):
    seed(seeds)
    service(store_settings).build()
    other = QAService(store_settings, embedder=HashingEmbedder(dim=32))
    report = other.build()
    assert report.chunks_embedded == 4
    assert other.ask(QUESTIONS[0]).hits[0].chunk.doc_id == "eiffel.txt"


def test_an_index_of_an_older_analyzer_is_counted_again_without_embedding(
    store_settings, seeds, monkeypatch
):
    import qabot.search.lexical as lexical
    import qabot.stores.files.assemble as assemble
    import qabot.stores.qdrant.build as qdrant_build

    seed(seeds)
    with monkeypatch.context() as m:  # written as an older qabot did
        m.setattr(lexical, "BASE_FORM", {})
        m.setattr(lexical, "_TERMS", {})
        for module in (lexical, assemble, qdrant_build):
            m.setattr(module, "ANALYZER", "qabot-bm25/1:older")
        service(store_settings).build()
    svc = service(store_settings)
    report = svc.build()
    assert report.chunks_embedded == 0 and not report.changed_anything
    assert report.documents_total == 4
    # Now BM25 matches what a fresh build counts: "said" is "say".
    write(seeds / "rutte.txt", "Rutte\nRutte said the winter will be hard.")
    svc.build()
    assert svc.ask("What did Rutte say about winter?").hits[0].chunk.doc_id == "rutte.txt"
    assert svc.build().chunks_embedded == 0  # and it stays upgraded


def test_verify_finds_damage_and_the_rebuild_repairs_it(store_settings, seeds):
    seed(seeds)
    svc = service(store_settings)
    svc.build()
    assert svc.verify().ok
    damage(store_settings)
    fresh = service(store_settings)
    with pytest.raises(IndexCorruptError, match="qabot index rebuild"):
        fresh.verify()
    fresh.build(full=True)
    assert fresh.verify().ok
    assert fresh.ask(QUESTIONS[0]).hits[0].chunk.doc_id == "eiffel.txt"


def damage(s) -> None:
    """Break the live version the way a disk or an operator would."""
    if s.vector_store != "qdrant":
        from qabot.stores.files.folders import VersionFolders

        folder = s.index_dir / VersionFolders(s.index_dir).current_version()
        (folder / "vectors.npy").write_bytes(b"garbage")
        return
    from qabot.stores.qdrant.index import QdrantIndex

    index = QdrantIndex.from_settings(s)
    index.client.delete(index.target(), points_selector=[0], wait=True)


def test_the_same_answers_on_every_store(store_settings, seeds, tmp_path):
    seed(seeds)
    svc = service(store_settings)
    svc.build()
    files = service(
        store_settings.model_copy(update={"index_dir": tmp_path / "files", "vector_store": "faiss"})
    )
    files.build()
    assert answers(svc) == answers(files)
    assert svc.threshold == files.threshold


# A build in another process, killed with SIGKILL while the store writes: after `delay`
# seconds inside Store.write (0: as it starts), whatever it had written by then.
KILLED_BUILD = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from qabot.config import Settings
    from qabot.embedders.hashing import HashingEmbedder
    from qabot.service import QAService

    settings = Settings.model_validate_json(sys.argv[1])
    delay = float(sys.argv[2])
    svc = QAService(settings, embedder=HashingEmbedder())
    real = type(svc.store).write

    def write(self, **kwargs):
        def kill():
            time.sleep(delay)
            os.kill(os.getpid(), signal.SIGKILL)

        print("writing", flush=True)
        threading.Thread(target=kill, daemon=True).start()
        real(self, **kwargs)
        time.sleep(60)  # the write finished first: the kill still lands before the return

    type(svc.store).write = write
    svc.build()
    """
)


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.02])
def test_a_build_killed_while_writing_leaves_the_previous_index_whole(store_settings, seeds, delay):
    seed(seeds)
    svc = service(store_settings)
    svc.build()
    before = answers(svc)
    version = svc.index_version
    if store_settings.vector_store == "qdrant" and not store_settings.qdrant_url:
        from qabot.stores.qdrant.index import close_local

        close_local(str(store_settings.qdrant_local_path))  # local mode: one process at a time
    for i in range(200):
        write(seeds / f"bulk/{i:03}.txt", f"Bulk {i}\nSentence {i} about rivers and tea. " * 20)
    (seeds / "rhine.txt").unlink()
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_BUILD, store_settings.model_dump_json(), str(delay)],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode(errors="replace")[-2000:]
    assert b"writing" in proc.stdout
    after = service(store_settings)
    if after.index_version == version:  # the kill landed before the commit: all as it was
        assert answers(after) == before
        assert after.status().documents == 4
    else:  # the commit landed: the whole new version
        assert after.status().documents == 203
    assert after.verify().ok
    report = after.build()
    assert report.documents_total == 203
    assert after.verify().ok
    assert "rhine.txt" not in {d for d, _, _ in after.documents()}
    assert after.ask("Sentence 123 about rivers").hits


def test_a_reader_survives_two_full_rebuilds_by_another_process(store_settings, seeds):
    """The version a reader loaded is removed two full builds later (a Qdrant collection
    dropped, a version folder deleted): its next question reads the live version."""
    seed(seeds)
    builder = service(store_settings)
    builder.build()
    reader = service(store_settings)
    loaded = reader.index_version
    assert reader.ask(QUESTIONS[0]).hits[0].chunk.doc_id == "eiffel.txt"
    write(seeds / "nile.txt", "Nile\nThe Nile flows north through Egypt to the sea.")
    builder.build(full=True)
    builder.build(full=True)
    # Whichever version it answers from (the files store's stays in memory), no error.
    assert reader.ask(QUESTIONS[0]).hits[0].chunk.doc_id == "eiffel.txt"
    reader.reload_if_changed()  # what the bot does before each question
    assert reader.ask("Where does the Nile flow?").hits[0].chunk.doc_id == "nile.txt"
    assert reader.index_version != loaded
