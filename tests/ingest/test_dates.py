"""Documents' dates, and news ranked by nearness to the day a question is asked."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from qabot.embedders.hashing import HashingEmbedder
from qabot.ingest.dates import date_in_name, day_number, declared_date, parse_date
from qabot.ingest.formats import read_file
from qabot.ingest.scan import scan_folder
from qabot.search.lexical import LexicalIndex
from qabot.search.retrieval import MODES, NO_RECENCY, Recency, Retriever
from qabot.service import QAService
from qabot.stores.files.folders import VersionFolders
from tests.helpers import write


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2022/06/16", "2022-06-16"),
        ("2024-12-04T10:30:00+02:00", "2024-12-04"),
        ("20241204", "2024-12-04"),
        (" 2024.12.04", "2024-12-04"),
        ("2024-13-45", ""),  # digits, not a date
        ("yesterday", ""),
        (None, ""),
        (20241204, ""),
    ],
)
def test_parse_date(value, iso):
    assert parse_date(value) == iso


def test_a_date_in_a_file_name():
    assert date_in_name("ukrinform-nato-rutte-2024-12-04.txt") == "2024-12-04"
    assert date_in_name("news/20220617_monkeypox.md") == "2022-06-17"
    assert date_in_name("report-v2.txt") == ""
    assert date_in_name("id-120241204999.txt") == ""  # part of a longer number


def test_a_declared_date():
    assert declared_date("---\ntitle: NATO\ndate: 2024-12-04\n---\n# NATO\nText.") == "2024-12-04"
    assert (
        declared_date("NATO ministers meet\nPublished: 2024/12/04 18:00\n\nText.") == "2024-12-04"
    )
    assert declared_date("Text.\n" * 10 + "Date: 2024-12-04") == ""  # not in the header


def test_documents_carry_their_dates(seeds):
    write(seeds / "nato-2024-12-04.txt", "NATO\nRutte spoke in Brussels.")
    write(seeds / "front.md", "---\ndate: 2023-01-02\n---\n# Front\nText of a dated note.")
    write(seeds / "plain.txt", "Plain\nNo date anywhere.")
    write(
        seeds / "page.html",
        '<html><head><title>Page</title><meta property="article:published_time" '
        'content="2022-06-16T09:00:00Z"></head><body><article><p>'
        + "A long enough paragraph of page text for the extractor to keep it. " * 5
        + "</p></article></body></html>",
    )
    rows = [
        {"doc_id": "a", "title": "A", "text": "First article.", "date": "2022/06/16"},
        {"doc_id": "b", "title": "B", "text": "Second article, no date."},
    ]
    write(seeds / "corpus-2021-01-01.jsonl", "\n".join(json.dumps(r) for r in rows))
    docs = {d.doc_id: d.date for e in scan_folder(seeds).files for d in read_file(e)}
    assert docs == {
        "nato-2024-12-04.txt": "2024-12-04",
        "front.md": "2023-01-02",
        "plain.txt": "",
        "page.html": "2022-06-16",
        "corpus-2021-01-01.jsonl#a": "2022-06-16",
        "corpus-2021-01-01.jsonl#b": "2021-01-01",  # the file's date when the line has none
    }


def _retriever(days: list[int]) -> Retriever:
    """Three chunks, the first the best match by far on both sides; `days` their dates."""
    texts = [
        "valley storm: the valley storm",
        "a storm came over the farms near the valley yesterday evening",
        "weather report",
    ]
    vectors = np.array([[0.9, 0.436, 0, 0], [0.8, 0, 0.6, 0], [0.7, 0, 0, 0.714]], np.float32)

    def search(qvec, k):
        sims = vectors @ qvec
        return [(int(i), float(sims[i])) for i in np.argsort(-sims)[:k]]

    return Retriever(
        vectors=vectors,
        dense_search=search,
        lexical=LexicalIndex.build(texts),
        chunk_days=lambda rows: np.array(days, dtype=np.int64)[rows],
    )


QVEC = np.array([1, 0, 0, 0], np.float32)
TODAY = dt.date(2024, 12, 4).toordinal()


@pytest.mark.parametrize("mode", MODES)
def test_a_recent_article_outranks_an_old_one(mode):
    ret = _retriever([TODAY - 900, TODAY - 1, -1])
    ask = dict(question="storm valley", qvec=QVEC, n=3, mode=mode)
    assert ret.retrieve(**ask).candidates[0].row == 0  # no recency: the best match
    strong = Recency(half_life_days=14, weight=0.5)
    got = ret.retrieve(**ask, recency=strong, as_of=TODAY)
    assert got.candidates[0].row == 1
    # The confidence ("not found") is not the ranking's: recency does not change it.
    assert got.confidence == ret.retrieve(**ask).confidence


def test_recency_fades_with_distance_and_skips_undated():
    r = Recency(half_life_days=14, weight=0.2)
    bonus = r.bonus(np.array([TODAY, TODAY - 14, TODAY + 14, TODAY - 140, -1]), TODAY)
    assert bonus == pytest.approx([0.2, 0.1, 0.1, 0.2 / 1024, 0.0])


def test_no_dates_or_no_recency_ranks_as_before():
    undated = _retriever([-1, -1, -1])
    dated = _retriever([TODAY - 900, TODAY - 1, TODAY - 1])
    ask = dict(question="storm valley", qvec=QVEC, n=3)
    plain = [c.row for c in undated.retrieve(**ask).candidates]
    assert [c.row for c in undated.retrieve(**ask, recency=Recency(), as_of=TODAY).candidates] == (
        plain
    )
    off = Recency(weight=0.0)
    assert [c.row for c in dated.retrieve(**ask, recency=off, as_of=TODAY).candidates] == plain
    assert [c.row for c in dated.retrieve(**ask, recency=NO_RECENCY).candidates] == plain


def test_the_service_asks_on_the_day_given(settings, seeds):
    # Two articles on the same kind of event, years apart: the one near the question's day wins.
    text = "Floods\nHeavy rain flooded the river town of {town} and closed its bridges."
    write(seeds / "floods-2019-06-01.txt", text.format(town="Millbrook"))
    write(seeds / "floods-2024-06-01.txt", text.format(town="Ashford"))
    svc = QAService(settings, embedder=HashingEmbedder())
    svc.build()
    question = "Which river town was flooded?"
    sources = {
        day: svc.ask(question, as_of=dt.date.fromisoformat(day)).hits[0].chunk.source
        for day in ("2019-06-03", "2024-06-03")
    }
    assert sources == {
        "2019-06-03": "floods-2019-06-01.txt",
        "2024-06-03": "floods-2024-06-01.txt",
    }
    answer = svc.ask(question, as_of=dt.date(2024, 6, 3))
    assert answer.to_dict()["results"][0]["date"] == "2024-06-01"


def test_an_index_from_before_dates_gets_them_without_embedding(settings, seeds, monkeypatch):
    write(seeds / "nato-2024-12-04.txt", "NATO\nRutte spoke in Brussels about the winter.")
    write(seeds / "plain.txt", "Plain\nNo date anywhere in this one.")
    import qabot.ingest.text as text

    # The build as it was: no dates read, none in the manifest.
    with monkeypatch.context() as m:
        m.setattr(text, "date_in_name", lambda name: "")
        embedder = HashingEmbedder()
        QAService(settings, embedder=embedder).build()
    store = VersionFolders(settings.index_dir)
    path = settings.index_dir / store.current_version() / "manifest.json"
    raw = json.loads(path.read_text())
    del raw["dates"]
    path.write_text(json.dumps(raw))
    assert not store.read_manifest().dates
    assert not any(d.date for d in store.load().docs)

    report = QAService(settings, embedder=embedder).build()
    assert report.chunks_embedded == 0
    assert store.read_manifest().dates is True
    assert {d.doc_id: d.date for d in store.load().docs} == {
        "nato-2024-12-04.txt": "2024-12-04",
        "plain.txt": "",
    }
    assert day_number("2024-12-04") == dt.date(2024, 12, 4).toordinal()


def test_the_cli_asks_as_of_a_day(seeds, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from qabot.cli.main import app

    monkeypatch.setenv("QABOT_EMBEDDER", "hashing")
    monkeypatch.setenv("QABOT_SCORE_THRESHOLD", "0.05")
    monkeypatch.setenv("QABOT_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("QABOT_INDEX_DIR", str(tmp_path / "index"))
    text = "Floods\nHeavy rain flooded the river town of {town} and closed its bridges."
    write(seeds / "floods-2019-06-01.txt", text.format(town="Millbrook"))
    write(seeds / "floods-2024-06-01.txt", text.format(town="Ashford"))
    runner = CliRunner()
    question = "Which river town was flooded?"
    for day, town in (("2019-06-02", "Millbrook"), ("2024-06-02", "Ashford")):
        result = runner.invoke(app, ["ask", question, "--as-of", day, "--json"])
        assert result.exit_code == 0, result.output
        first = json.loads(result.stdout)["results"][0]
        assert town in first["passage"]
        assert first["date"] == day[:-1] + "1"
    shown = runner.invoke(app, ["ask", question, "--as-of", "2024-06-02"])
    assert "floods-2024-06-01.txt, 2024-06-01)" in shown.stdout
    bad = runner.invoke(app, ["ask", question, "--as-of", "next week"])
    assert bad.exit_code == 2
    assert "YYYY-MM-DD" in bad.output
