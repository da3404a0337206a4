"""The index on Qdrant (qabot/stores/qdrant/index.py, qabot/stores/qdrant/build.py): the same answers as the
FAISS store, incremental builds, generations, and the errors a user can act on.

Every test runs on Qdrant's local mode; with QABOT_QDRANT_URL set (a real server, e.g.
`docker run -p 6333:6333 qdrant/qdrant`) the same tests run against it too.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import subprocess
import sys
import threading
import uuid

import pytest
from pydantic import SecretStr

from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import (
    ConfigError,
    IndexMismatchError,
    IndexMissingError,
    StoreUnavailableError,
)
from qabot.service import QAService
from qabot.stores.qdrant.index import QdrantIndex, close_local
from tests.helpers import write

# Read before conftest's fixture clears every QABOT_ variable.
SERVER_URL = os.environ.get("QABOT_QDRANT_URL", "")
SERVER_KEY = os.environ.get("QABOT_QDRANT_API_KEY", "")

DOCS = {
    "eiffel.txt": "Eiffel Tower\nThe Eiffel Tower stands in Paris. Gustave Eiffel's company "
    "built it for the 1889 World's Fair. It is 330 metres tall.",
    "rhine.txt": "Rhine\nThe Rhine flows from the Swiss Alps to the North Sea. It passes "
    "Basel, Cologne and Rotterdam. Barges carry coal and grain on it.",
    "tea.md": "# Tea\nTea is brewed from the leaves of Camellia sinensis. Green tea is not "
    "oxidised; black tea is. China and India grow most of it.",
    "kyiv.txt": "Київ\nКиїв стоїть на Дніпрі. Софійський собор збудовано в XI столітті.",
}
QUESTIONS = [
    "Who built the Eiffel Tower?",
    "How tall is the tower in Paris?",
    "Where does the Rhine flow?",
    "What do barges carry?",
    "Which plant gives tea?",
    "Is green tea oxidised?",
    "Де стоїть Київ?",
    "What is the capital of Australia?",
]


@pytest.fixture(params=["local", "server"])
def qdrant(request, settings, tmp_path):
    """Settings for the Qdrant store: local mode in tmp_path, or a fresh collection on the
    server of QABOT_QDRANT_URL."""
    if request.param == "server":
        if not SERVER_URL:
            pytest.skip("QABOT_QDRANT_URL not set: no Qdrant server to test against")
        name = f"qabot-test-{uuid.uuid4().hex[:8]}"
        s = settings.model_copy(
            update={
                "vector_store": "qdrant",
                "qdrant_url": SERVER_URL,
                "qdrant_api_key": SecretStr(SERVER_KEY),
                "qdrant_collection": name,
            }
        )
        yield s
        index = QdrantIndex.from_settings(s)
        for collection in index.versions():
            index.client.delete_collection(collection)
        return
    s = settings.model_copy(update={"vector_store": "qdrant"})
    yield s
    close_local(str(s.qdrant_local_path))


def _faiss(settings, tmp_path):
    return QAService(
        settings.model_copy(update={"index_dir": tmp_path / "faiss-index"}),
        embedder=HashingEmbedder(),
    )


def _answers(svc):
    out = []
    for q in QUESTIONS:
        a = svc.ask(q)
        hits = [(h.chunk.doc_id, h.chunk.start, h.chunk.end, round(h.score, 4)) for h in a.hits]
        best = None if a.best_score is None else round(a.best_score, 4)
        out.append((q, a.found, a.sentence, best, hits))
    return out


def _seed(seeds, docs=DOCS):
    for name, text in docs.items():
        write(seeds / name, text)


def test_same_answers_as_faiss(qdrant, seeds, tmp_path):
    _seed(seeds)
    faiss_svc = _faiss(qdrant, tmp_path)
    faiss_svc.build()
    svc = QAService(qdrant, embedder=HashingEmbedder())
    report = svc.build()
    assert (report.documents_total, report.chunks_total) == (4, 4)
    assert _answers(svc) == _answers(faiss_svc)
    assert svc.documents() == faiss_svc.documents()
    assert svc.threshold == faiss_svc.threshold


def test_incremental_builds_embed_only_what_changed_and_answer_as_a_fresh_build(
    qdrant, seeds, tmp_path
):
    _seed(seeds)
    svc = QAService(qdrant, embedder=HashingEmbedder())
    svc.build()
    first = svc.index_version

    write(seeds / "nile.txt", "Nile\nThe Nile flows north through Egypt into the Mediterranean.")
    write(seeds / "tea.md", DOCS["tea.md"].replace("India", "Kenya"))
    (seeds / "rhine.txt").unlink()
    report = svc.build()
    assert (report.added, report.changed, report.deleted) == (
        ["nile.txt"],
        ["tea.md"],
        ["rhine.txt"],
    )
    assert report.chunks_embedded == 2 and report.chunks_total == 4
    assert svc.index_version != first
    assert svc.index_version.split("#")[0] == first.split("#")[0]  # same collection

    fresh = _faiss(qdrant, tmp_path)
    fresh.build()
    got, want = _answers(svc), _answers(fresh)
    # The same answers; BM25's average passage length stays the full build's (qabot/
    # qdrant_build.py), so lower passages may swap places on a corpus this small.
    assert [(q, f, s, hits[:1]) for q, f, s, _, hits in got] == [
        (q, f, s, hits[:1]) for q, f, s, _, hits in want
    ]
    assert svc.ask("Where does the Rhine flow?").hits[0].chunk.doc_id != "rhine.txt"
    assert svc.status().new == svc.status().changed == svc.status().deleted == []

    unchanged = svc.build()
    assert unchanged.chunks_embedded == 0 and not unchanged.changed_anything


def test_rebuild_swaps_the_alias_and_keeps_the_previous_collection_one_build_longer(qdrant, seeds):
    _seed(seeds)
    svc = QAService(qdrant, embedder=HashingEmbedder())
    svc.build()
    index = svc.store.index
    v1 = index.target()
    svc.build(full=True)
    v2 = index.target()
    assert v1 != v2 and index.versions() == [v1, v2]
    svc.build(full=True)
    v3 = index.target()
    assert index.versions() == [v2, v3]
    assert svc.ask(QUESTIONS[0]).hits[0].chunk.doc_id == "eiffel.txt"


def test_readers_see_one_generation_while_a_build_writes_the_next(qdrant, seeds):
    """The server's protocol, run in local mode with the generation filter on: points of an
    uncommitted generation and points it retires stay as they were for readers."""
    _seed(seeds)
    svc = QAService(qdrant, embedder=HashingEmbedder())
    svc.build()
    svc.store.index.filters = True
    svc.reload_if_changed()
    svc._loaded = None
    before = _answers(svc)
    data = svc._index()
    # Half of a build of the next generation: tea.md's points retired, a new text written.
    from qabot.indexing import pipeline

    write(seeds / "tea.md", "Tea\nCoffee is what this file is about now.")
    real_manifest = svc.store.index.write_manifest
    svc.store.index.write_manifest = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        pipeline.build(store=svc.store, embedder=HashingEmbedder(), options=_options(svc))
    svc.store.index.write_manifest = real_manifest
    assert svc.index_version == data.version
    assert _answers(svc) == before
    # A reader loading now still sees the committed generation only.
    svc._loaded = None
    assert _answers(svc) == before
    # The next build removes what the killed one left and commits its own generation.
    report = svc.build()
    assert report.changed == ["tea.md"]
    assert "Coffee" in svc.ask("What is the file about now?").hits[0].chunk.text


def test_strays_of_a_killed_local_build_are_gone_before_questions(qdrant, seeds):
    if qdrant.qdrant_url:
        pytest.skip("local mode only: a server's readers filter strays instead")
    _seed(seeds)
    svc = QAService(qdrant, embedder=HashingEmbedder())
    svc.build()
    before = _answers(svc)
    from qabot.indexing import pipeline

    write(seeds / "nile.txt", "Nile\nThe Nile flows north through Egypt.")
    svc.store.index.write_manifest = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        pipeline.build(store=svc.store, embedder=HashingEmbedder(), options=_options(svc))
    close_local(str(qdrant.qdrant_local_path))  # as after a kill: a new process opens it
    (seeds / "nile.txt").unlink()
    again = QAService(qdrant, embedder=HashingEmbedder())
    after = _answers(again)
    # Passages tied at cosine 0 (the hashing embedder) may come in another order once the
    # folder is reopened: compare the answers, and that no stray passage shows.
    assert [(*a[:4], a[4][:1]) for a in after] == [(*b[:4], b[4][:1]) for b in before]
    assert not [h for a in after for h in a[4] if h[0] == "nile.txt"]
    assert again.verify().summary


def _options(svc):
    from qabot.indexing.pipeline import BuildOptions

    s = svc.settings
    return BuildOptions(
        seeds_dir=s.seeds_dir, chunk_tokens=s.chunk_tokens, chunk_overlap=s.chunk_overlap
    )


def test_a_process_elsewhere_answers_from_the_payload_alone(qdrant, seeds, tmp_path):
    import shutil

    if not qdrant.qdrant_url:
        qdrant = qdrant.model_copy(update={"qdrant_path": tmp_path / "shared-qdrant"})
    _seed(seeds)
    svc = QAService(qdrant, embedder=HashingEmbedder())
    svc.build()
    hit = svc.ask(QUESTIONS[0]).hits[0]
    shutil.rmtree(seeds)
    shutil.rmtree(qdrant.index_dir, ignore_errors=True)
    elsewhere = QAService(
        qdrant.model_copy(update={"seeds_dir": tmp_path / "none", "index_dir": tmp_path / "no"}),
        embedder=HashingEmbedder(),
    )
    answer = elsewhere.ask(QUESTIONS[0])
    assert answer.hits[0].chunk == hit.chunk
    around = elsewhere.context(hit.chunk.doc_id, hit.chunk.start, hit.chunk.end)
    assert "Gustave Eiffel" in around
    if not qdrant.qdrant_url:
        close_local(str(qdrant.qdrant_local_path))


def test_another_model_or_dimension_is_refused_with_the_fix(qdrant, seeds):
    _seed(seeds)
    QAService(qdrant, embedder=HashingEmbedder()).build()
    other = QAService(qdrant, embedder=HashingEmbedder(dim=128))
    with pytest.raises(IndexMismatchError, match=r"hashing:256.*hashing:128.*index rebuild"):
        other.ask(QUESTIONS[0])
    # A rebuild with the new model makes a new collection of the new dimension.
    other.build(full=True)
    assert other.ask(QUESTIONS[0]).hits[0].chunk.doc_id == "eiffel.txt"


def test_a_collection_qabot_did_not_make_is_not_touched(qdrant, seeds):
    _seed(seeds)
    svc = QAService(qdrant, embedder=HashingEmbedder())
    from qdrant_client import models as m

    svc.store.index.client.create_collection(
        qdrant.qdrant_collection, vectors_config=m.VectorParams(size=4, distance=m.Distance.DOT)
    )
    try:
        with pytest.raises(ConfigError, match=r"did not make.*QABOT_QDRANT_COLLECTION"):
            svc.build()
    finally:
        svc.store.index.client.delete_collection(qdrant.qdrant_collection)


def test_an_unreachable_server_names_the_setting(settings, seeds):
    _seed(seeds)
    s = settings.model_copy(update={"vector_store": "qdrant", "qdrant_url": "http://127.0.0.1:9"})
    with pytest.raises(StoreUnavailableError, match=r"cannot reach.*127.0.0.1:9.*QABOT_QDRANT_URL"):
        QAService(s, embedder=HashingEmbedder()).ask(QUESTIONS[0])


class _Refusing(http.server.BaseHTTPRequestHandler):
    """A stand-in Qdrant server that refuses every API key, as a real one does (401)."""

    def _refuse(self):
        body = b'{"status":{"error":"Must provide an API key or an Authorization bearer token"}}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _refuse

    def log_message(self, *args):
        pass


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_a_wrong_api_key_names_the_setting(settings, seeds):
    _seed(seeds)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s = settings.model_copy(
            update={
                "vector_store": "qdrant",
                "qdrant_url": f"http://127.0.0.1:{server.server_address[1]}",
                "qdrant_api_key": SecretStr("wrong"),
            }
        )
        svc = QAService(s, embedder=HashingEmbedder())
        for call in (svc.build, lambda: svc.ask(QUESTIONS[0])):
            with pytest.raises(StoreUnavailableError, match=r"refused the API key.*HTTP 401"):
                call()
    finally:
        server.shutdown()
        server.server_close()


def test_a_local_folder_open_in_another_process_names_the_way_out(settings, seeds, tmp_path):
    folder = tmp_path / "held"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from qdrant_client import QdrantClient; "
            f"c = QdrantClient(path={str(folder)!r}); print('open', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        s = settings.model_copy(update={"vector_store": "qdrant", "qdrant_path": folder})
        with pytest.raises(StoreUnavailableError, match=r"another process.*QABOT_QDRANT_URL"):
            QAService(s, embedder=HashingEmbedder()).ask(QUESTIONS[0])
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_cli_status_and_verify_name_the_collection(qdrant, seeds, monkeypatch):
    from typer.testing import CliRunner

    from qabot.cli.main import app

    _seed(seeds)
    env = {
        "QABOT_VECTOR_STORE": "qdrant",
        "QABOT_EMBEDDER": "hashing",
        "QABOT_SEEDS_DIR": str(seeds),
        "QABOT_INDEX_DIR": str(qdrant.index_dir),
        "QABOT_QDRANT_URL": qdrant.qdrant_url,
        "QABOT_QDRANT_API_KEY": qdrant.qdrant_api_key.get_secret_value(),
        "QABOT_QDRANT_COLLECTION": qdrant.qdrant_collection,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    assert runner.invoke(app, ["index", "build"]).exit_code == 0
    status = runner.invoke(app, ["index", "status"])
    assert status.exit_code == 0, status.output
    assert "Stored in: Qdrant collection" in status.output and "Checksums" not in status.output
    if not qdrant.qdrant_url:
        assert svc_size(qdrant) > 0
    verify = runner.invoke(app, ["index", "verify"])
    assert verify.exit_code == 0 and "is intact: 4 chunks of 4 documents" in verify.output
    ask = runner.invoke(app, ["ask", "--json", QUESTIONS[0]])
    assert ask.exit_code == 0 and '"doc_id": "eiffel.txt"' in ask.output


@pytest.mark.parametrize("first", [True, False], ids=["first-build", "incremental"])
def test_a_build_killed_while_writing_leaves_the_previous_index_whole(settings, seeds, first):
    """SIGKILL a real `qabot index build` (local mode) while it writes its points: the next
    process sees the previous index exactly (or none, for a first build), and builds on."""
    import signal
    import time

    s = settings.model_copy(update={"vector_store": "qdrant"})
    write(seeds / "eiffel.txt", DOCS["eiffel.txt"])
    before = None
    if not first:
        svc = QAService(s, embedder=HashingEmbedder())
        svc.build()
        before = _answers(svc)
        close_local(str(s.qdrant_local_path))
    for i in range(300):
        write(seeds / f"bulk{i:03}.txt", f"Bulk {i}\n" + f"Sentence {i} about rivers. " * 120)
    env = {
        **os.environ,
        "QABOT_VECTOR_STORE": "qdrant",
        "QABOT_EMBEDDER": "hashing",
        "QABOT_SEEDS_DIR": str(seeds),
        "QABOT_INDEX_DIR": str(s.index_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "qabot", "-v", "index", "build"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    buf = b""
    deadline = time.monotonic() + 120
    while b"writing" not in buf and time.monotonic() < deadline:
        chunk = proc.stderr.read1(4096)
        if not chunk:
            break
        buf += chunk
    time.sleep(0.3)  # into the writes (~1 ms a point in local mode)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert b"writing" in buf and proc.returncode == -signal.SIGKILL, buf[-2000:]

    svc = QAService(s, embedder=HashingEmbedder())
    if first:
        assert not svc.has_index()
    else:
        assert _answers(svc) == before
        assert svc.status().documents == 1
        assert svc.verify().summary
    report = svc.build()
    assert report.documents_total == 301
    assert svc.ask("Sentence 123 about rivers").hits
    assert svc.verify().summary
    assert len(svc.store.index.versions()) == 1
    close_local(str(s.qdrant_local_path))


def svc_size(settings) -> int:
    return QAService(settings, embedder=HashingEmbedder()).status().size_bytes


def test_a_collection_deleted_behind_qabots_back_names_the_build(qdrant, seeds):
    _seed(seeds)
    svc = QAService(qdrant, embedder=HashingEmbedder())
    svc.build()
    index = svc.store.index
    index.client.delete_collection(index.target())  # by hand, or another tool
    fresh = QAService(qdrant, embedder=HashingEmbedder())
    with pytest.raises(IndexMissingError, match="qabot index build"):
        fresh.ask(QUESTIONS[0])
    assert fresh.build().documents_total == 4
    assert fresh.ask(QUESTIONS[0]).hits[0].chunk.doc_id == "eiffel.txt"


def test_dated_news_ranks_as_on_faiss(qdrant, seeds, tmp_path):
    # Two articles on the same kind of event, years apart, and an undated one: the one near the
    # question's day first, as with FAISS (qabot/search/retrieval.py Recency), the date in the answer.
    text = "Floods\nHeavy rain flooded the river town of {town} and closed its bridges."
    write(seeds / "floods-2019-06-01.txt", text.format(town="Millbrook"))
    write(seeds / "floods-2024-06-01.txt", text.format(town="Ashford"))
    write(seeds / "undated.txt", text.format(town="Fernley"))
    faiss_svc = _faiss(qdrant, tmp_path)
    faiss_svc.build()
    svc = QAService(qdrant, embedder=HashingEmbedder())
    svc.build()
    question = "Which river town was flooded?"
    for day in ("2019-06-03", "2024-06-03"):
        as_of = dt.date.fromisoformat(day)
        got = svc.ask(question, as_of=as_of)
        want = faiss_svc.ask(question, as_of=as_of)
        assert [(h.chunk.doc_id, h.chunk.date) for h in got.hits] == [
            (h.chunk.doc_id, h.chunk.date) for h in want.hits
        ]
        assert got.hits[0].chunk.doc_id == f"floods-{day[:4]}-06-01.txt"


def test_an_older_analyzers_collection_is_analysed_again_without_embedding(
    qdrant, seeds, tmp_path, monkeypatch
):
    import qabot.search.lexical as lexical
    import qabot.stores.qdrant.build as qdrant_build

    _seed(seeds)
    write(seeds / "nato.txt", "NATO\nRutte said the winter will be the hardest since 2022.")
    # Built as an older qabot did: irregular verbs not mapped to their base form.
    with monkeypatch.context() as m:
        m.setattr(lexical, "BASE_FORM", {})
        m.setattr(lexical, "_TERMS", {})
        m.setattr(qdrant_build, "ANALYZER", "qabot-bm25/1:older")
        QAService(qdrant, embedder=HashingEmbedder()).build()
    index = QdrantIndex.from_settings(qdrant)
    first = index.target()
    assert index.manifest(first)["lexical"]["analyzer"] == "qabot-bm25/1:older"

    write(seeds / "nile.txt", "Nile\nThe Nile flows north through Egypt into the Mediterranean.")
    svc = QAService(qdrant, embedder=HashingEmbedder())
    report = svc.build()
    assert report.chunks_embedded == 1  # the new file only; the others' vectors carried over
    assert report.documents_total == report.chunks_total == len(DOCS) + 2
    second = index.target()
    assert second != first  # a new collection, the alias moved
    manifest = index.manifest(second)
    assert manifest["lexical"]["analyzer"] == lexical.ANALYZER
    assert "say" in manifest["lexical"]["terms"] and "said" not in manifest["lexical"]["terms"]

    fresh = _faiss(qdrant, tmp_path)
    fresh.build()
    got, want = _answers(svc), _answers(fresh)
    assert [(q, f, s, hits[:1]) for q, f, s, _, hits in got] == [
        (q, f, s, hits[:1]) for q, f, s, _, hits in want
    ]
    assert svc.ask("What did Rutte say about the winter?").hits[0].chunk.doc_id == "nato.txt"
    assert svc.build().chunks_embedded == 0


def test_an_older_analyzers_collection_with_every_file_changed_builds(qdrant, seeds, monkeypatch):
    import qabot.search.lexical as lexical
    import qabot.stores.qdrant.build as qdrant_build

    write(seeds / "a.txt", "Alpha\nRutte said the winter will be hard.")
    with monkeypatch.context() as m:
        m.setattr(lexical, "BASE_FORM", {})
        m.setattr(lexical, "_TERMS", {})
        m.setattr(qdrant_build, "ANALYZER", "qabot-bm25/1:older")
        QAService(qdrant, embedder=HashingEmbedder()).build()
    write(seeds / "a.txt", "Alpha\nRutte told allies the winter will be hard.")  # nothing kept
    svc = QAService(qdrant, embedder=HashingEmbedder())
    report = svc.build()
    assert report.changed == ["a.txt"] and report.chunks_embedded == report.chunks_total == 1
    assert svc.ask("What did Rutte tell the allies?").hits[0].chunk.doc_id == "a.txt"


def test_a_second_builder_anywhere_is_refused_while_one_writes(qdrant, seeds, tmp_path):
    """Two builders on one collection (two machines: each its own index/ and file lock):
    while A writes, B is refused by the lease in Qdrant with who holds it, and loses nothing;
    A's build then commits whole."""
    import threading

    from qabot.errors import IndexLockedError

    _seed(seeds)
    a = QAService(qdrant, embedder=HashingEmbedder())
    a.build()
    # Machine B: its own index/ (and file lock), the same Qdrant.
    other = qdrant.model_copy(
        update={"index_dir": tmp_path / "machine-b", "qdrant_path": qdrant.qdrant_local_path}
    )
    b = QAService(other, embedder=HashingEmbedder())
    write(seeds / "nile.txt", "Nile\nThe Nile flows north through Egypt.")
    writing, go_on = threading.Event(), threading.Event()
    real_upsert = a.store.index.upsert

    def paused_upsert(*args, **kwargs):
        writing.set()
        assert go_on.wait(30)
        return real_upsert(*args, **kwargs)

    a.store.index.upsert = paused_upsert
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("a", a.build()))
    thread.start()
    assert writing.wait(30)
    with pytest.raises(IndexLockedError, match=r"another build holds the Qdrant index.*pid"):
        b.build()
    go_on.set()
    thread.join(30)
    assert result["a"].added == ["nile.txt"]
    assert a.verify().summary
    assert b.build().chunks_embedded == 0  # A's commit is whole: nothing left for B to do
    assert b.ask("Where does the Nile flow?").hits[0].chunk.doc_id == "nile.txt"


def test_a_builder_that_lost_its_lease_does_not_commit(qdrant, seeds):
    """A builder paused past its lease's expiry, whose lease another builder took over, stops
    before its commit: the live version stays the other's."""
    from qabot.errors import IndexLockedError
    from qabot.stores.qdrant.lease import LEASE_ID

    _seed(seeds)
    svc = QAService(qdrant, embedder=HashingEmbedder())
    svc.build()
    version = svc.index_version
    write(seeds / "nile.txt", "Nile\nThe Nile flows north through Egypt.")
    lease = svc.store.lease
    real_upsert = svc.store.index.upsert

    def taken_over(*args, **kwargs):  # meanwhile another builder took the expired lease
        svc.store.index.client.set_payload(
            lease.collection, payload={"holder": "elsewhere:1:x"}, points=[LEASE_ID]
        )
        return real_upsert(*args, **kwargs)

    svc.store.index.upsert = taken_over
    with pytest.raises(IndexLockedError, match="lost its hold"):
        svc.build()
    svc.store.index.upsert = real_upsert
    assert QAService(qdrant, embedder=HashingEmbedder()).index_version == version
    # The one who lost it did not remove the other's lease on its way out.
    [point] = svc.store.index.client.retrieve(lease.collection, ids=[LEASE_ID], with_payload=True)
    assert point.payload["holder"] == "elsewhere:1:x"


def test_cluster_settings_shape_the_collection(qdrant, seeds):
    """QABOT_QDRANT_SHARDS ... reach create_collection (local mode accepts and ignores the
    cluster ones); the same answers as without them."""
    s = qdrant.model_copy(
        update={
            "qdrant_shards": 2,
            "qdrant_replication": 2,
            "qdrant_write_consistency": 1,
            "qdrant_on_disk": True,
            "qdrant_hnsw_m": 32,
            "qdrant_hnsw_ef_construct": 200,
            "qdrant_quantization": "int8",
        }
    )
    index = QdrantIndex.from_settings(s)
    options = index.layout.create_options(8)
    assert (options["shard_number"], options["replication_factor"]) == (2, 2)
    assert options["write_consistency_factor"] == 1 and options["on_disk_payload"] is True
    dense = options["vectors_config"]["dense"]
    assert (dense.on_disk, dense.hnsw_config.m, dense.hnsw_config.ef_construct) == (True, 32, 200)
    assert dense.quantization_config.scalar.type == "int8"
    assert QdrantIndex.from_settings(qdrant).layout.create_options(8).keys() == {
        "vectors_config",
        "sparse_vectors_config",
    }
    _seed(seeds)
    svc = QAService(s, embedder=HashingEmbedder())
    svc.build()
    assert svc.ask(QUESTIONS[0]).hits[0].chunk.doc_id == "eiffel.txt"


def test_verify_finds_a_live_point_outside_the_catalogue(qdrant, seeds):
    from qdrant_client import models as m

    from qabot.errors import IndexCorruptError

    _seed(seeds)
    svc = QAService(qdrant, embedder=HashingEmbedder())
    svc.build()
    assert "none outside it" in svc.verify().summary
    index = svc.store.index
    gen = svc.store.load().current.gen
    stray = m.PointStruct(id=999_999, vector={}, payload={"doc_id": "ghost.txt", "gen": gen})
    index.client.upsert(index.target(), points=[stray], wait=True)
    with pytest.raises(IndexCorruptError, match=r"holds 10 points, its catalogue 9"):
        svc.verify()
