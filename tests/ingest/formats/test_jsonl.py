import json

from qabot.embedders.hashing import HashingEmbedder
from qabot.ingest.formats import read_file
from qabot.service import QAService
from tests.helpers import write
from tests.ingest.formats import entry, read_one


def test_jsonl_corpus_one_document_per_line(seeds, caplog):
    rows = [
        {"doc_id": "a", "title": "Alpha", "text": "Alpha text."},
        {"doc_id": "b", "title": "Beta", "text": "Beta text."},
    ]
    lines = [json.dumps(r) for r in rows] + ["{not json", json.dumps({"doc_id": "c"})]
    write(seeds / "corpus.jsonl", "\n".join(lines) + "\n")
    docs = read_one(seeds, "corpus.jsonl")
    assert [(d.doc_id, d.title, d.text) for d in docs] == [
        ("corpus.jsonl#a", "Alpha", "Alpha text."),
        ("corpus.jsonl#b", "Beta", "Beta text."),
    ]
    assert "skipped 2 bad" in caplog.text


def test_jsonl_text_that_is_not_a_string_is_skipped_and_named(seeds, caplog):
    lines = [
        {"doc_id": "a", "text": "Alpha text."},
        {"doc_id": "b", "text": None},
        {"doc_id": "c", "text": {"nested": "object"}},
        {"doc_id": "d", "text": 42},
        ["not", "an", "object"],
        {"doc_id": "e", "title": {"x": 1}, "text": "Lone \ud800 surrogate."},
    ]
    path = seeds / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    docs = read_file(entry(path))
    assert [(d.doc_id, d.title, d.text) for d in docs] == [
        ("corpus.jsonl#a", "a", "Alpha text."),
        ("corpus.jsonl#e", "e", "Lone \ufffd surrogate."),
    ]
    assert "skipped 4 bad line(s)" in caplog.text
    for reason in ("'text' is null: line 2", "'text' is an object: line 3", "not an object"):
        assert reason in caplog.text


def test_jsonl_with_a_lone_surrogate_builds(settings, seeds):
    write(seeds / "c.jsonl", json.dumps({"doc_id": "x\ud800", "text": "Harbour \udcff ships."}))
    svc = QAService(settings, embedder=HashingEmbedder())
    assert svc.build().documents_total == 1
    assert QAService(settings, embedder=HashingEmbedder()).ask("harbour ships").found
