"""`qabot eval` on a tiny made-up dataset with the hashing embedder."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qabot import eval as ev
from qabot.cli import app
from qabot.config import Settings

DOCS = [
    ("zebra", "Zebras", "Zebras live in Africa. Their stripes are black and white."),
    ("penguin", "Penguins", "Penguins live in Antarctica. Emperor penguins stand 1.1 metres tall."),
    ("volcano", "Volcanoes", "Mount Etna is a volcano in Sicily. It erupted in 2021."),
]
QUESTIONS = [
    ("q1", "Where do zebras live?", ["Africa"], ["zebra"]),
    ("q2", "How tall are emperor penguins?", ["1.1 metres"], ["penguin"]),
    ("q3", "When did Mount Etna erupt?", ["2021"], ["volcano"]),
    ("q4", "What colour are zebra stripes?", ["black and white"], ["zebra"]),
]
OTHER = [("o1", "Who painted Mona Lisa?", ["Leonardo"], ["x"])]


def _dataset(folder, docs, questions):
    folder.mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"doc_id": d, "title": t, "text": x}) + "\n" for d, t, x in docs)
    )
    (folder / "questions.jsonl").write_text(
        "".join(
            json.dumps({"qid": q, "question": s, "answers": a, "doc_ids": g}) + "\n"
            for q, s, a, g in questions
        )
    )
    return folder


@pytest.fixture
def dataset(tmp_path):
    return _dataset(tmp_path / "animals", DOCS, QUESTIONS)


@pytest.fixture
def other(tmp_path):
    return _dataset(tmp_path / "art", [("m", "Mona", "The Mona Lisa.")], OTHER)


def _settings(**kw):
    return Settings(embedder="hashing", **kw)


def test_normalize_answer():
    assert ev.normalize_answer("The  Eiffel-Tower!") == "eiffel tower"
    assert ev.contains_answer("It stands in Paris, France.", ("paris",))
    assert not ev.contains_answer("Parisian streets", ("Paris",))  # whole words only
    assert ev.contains_answer("Столица — Киев.", ("Киев",))


def test_sample_is_deterministic_and_ordered(dataset):
    a = ev.load_questions(dataset, limit=2)
    b = ev.load_questions(dataset, limit=2)
    assert a == b and len(a) == 2
    assert [q.qid for q in a] == sorted(q.qid for q in a)


def test_evaluate_reports_every_metric(dataset, other, tmp_path):
    index = ev.prepare_index(dataset, _settings(score_threshold=0.1), cache_dir=tmp_path / "c")
    report = ev.evaluate(
        index,
        ev.load_questions(dataset),
        k=3,
        threshold=0.1,
        out_of_scope=ev.load_questions(other),
    )
    assert report["hit@1"] == 1.0 and report["mrr@10"] == 1.0
    assert report["answer_in_first_passage"] == 1.0
    assert 0.5 <= report["answer_in_first_sentence"] <= 1.0
    assert report["not_found_rate"] == 0.0
    assert report["out_of_scope"]["questions"] == 1
    assert report["out_of_scope"]["false_answer_rate"] in (0.0, 1.0)
    assert report["index"]["chunks"] >= 3 and report["index"]["cached"] is False
    assert report["latency_ms"]["p50"] > 0
    assert {row["threshold"] for row in report["calibration"]} >= {0.0, 0.2, 1.0}


def test_index_is_cached_per_corpus_and_settings(dataset, tmp_path):
    cache = tmp_path / "c"
    first = ev.prepare_index(dataset, _settings(), cache_dir=cache)
    again = ev.prepare_index(dataset, _settings(retrieval_mode="dense"), cache_dir=cache)
    assert again.build["cached"] is True and again.folder == first.folder
    other = ev.prepare_index(dataset, _settings(chunk_tokens=32), cache_dir=cache)
    assert other.folder != first.folder


def test_missing_files_are_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ev.DatasetError, match=r"corpus\.jsonl"):
        ev.prepare_index(tmp_path / "empty", _settings(), cache_dir=tmp_path / "c")


def test_cli_json_and_text(dataset, other, tmp_path):
    runner = CliRunner()
    args = ["eval", str(dataset), "--embedder", "hashing", "--cache-dir", str(tmp_path / "c")]
    result = runner.invoke(
        app, [*args, "--json", "--out-of-scope", str(other), "--mode", "lexical"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mode"] == "lexical" and report["hit@1"] == 1.0
    text = runner.invoke(app, [*args, "--questions", "2", "--threshold", "0.99"])
    assert text.exit_code == 0, text.output
    assert "2 questions" in text.stdout and "not found 1.000" in text.stdout


def test_cli_help_has_an_example():
    result = CliRunner().invoke(app, ["eval", "--help"])
    assert result.exit_code == 0 and "Example: qabot eval" in result.stdout
