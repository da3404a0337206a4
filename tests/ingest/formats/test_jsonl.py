import json

import pytest

from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import DocumentError
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


def test_a_jsonl_whose_only_line_is_too_long_says_so_and_names_the_setting(seeds):
    path = write(seeds / "big.jsonl", json.dumps({"doc_id": "a", "text": "word " * 300}))
    with pytest.raises(DocumentError) as raised:
        read_file(entry(path), max_chars=1000)
    assert str(raised.value) == (
        "no usable lines: line 1 has more text than QABOT_MAX_DOCUMENT_CHARS allows (1,000 "
        "characters): split the text over several lines (a document each), or raise "
        "QABOT_MAX_DOCUMENT_CHARS"
    )


def test_a_jsonl_without_usable_lines_names_each_problem(seeds):
    lines = ["{not json", json.dumps({"doc_id": "b"}), json.dumps({"text": "x" * 50})]
    path = write(seeds / "bad.jsonl", "\n".join(lines))
    with pytest.raises(DocumentError) as raised:
        read_file(entry(path), max_chars=10)
    assert str(raised.value) == (
        "no usable lines (each needs a JSON object with a 'text' string): not JSON: line 1; "
        "no 'text' field: line 2; more text than QABOT_MAX_DOCUMENT_CHARS allows (10 "
        "characters): line 3"
    )
