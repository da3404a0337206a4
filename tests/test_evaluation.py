"""`qabot eval` on a tiny made-up dataset with the hashing embedder."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qabot import evaluation as ev
from qabot.cli.main import app
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


def test_cli_dump_writes_one_line_per_question(dataset, tmp_path):
    dump = tmp_path / "misses.jsonl"
    args = ["eval", str(dataset), "--embedder", "hashing", "--cache-dir", str(tmp_path / "c")]
    result = CliRunner().invoke(app, [*args, "--dump", str(dump), "--threshold", "0.1"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    assert [r["qid"] for r in rows] == ["q1", "q2", "q3", "q4"]
    zebra = rows[0]
    assert zebra["gold_doc_ids"] == ["zebra"] and zebra["gold_rank"] == 1
    assert zebra["docs"][0] == "zebra" and zebra["first_title"] == "Zebras"
    assert "Africa" in zebra["passage"] and zebra["sentence"] in zebra["passage"]
    assert zebra["answer_in_passage"] is True
    assert zebra["found"] is (zebra["confidence"] >= 0.1)


def test_cli_help_has_an_example():
    result = CliRunner().invoke(app, ["eval", "--help"])
    assert result.exit_code == 0 and "Example: qabot eval" in result.stdout


def test_eval_measures_the_reranker(dataset, tmp_path, tiny_models):
    """The documents eval ranks are the reranked ones: hit@1 is what `ask` shows first."""
    reranked = _settings(score_threshold=0.0, reranker_model=str(tiny_models["reranker"]))
    index = ev.prepare_index(dataset, reranked, cache_dir=tmp_path / "c")
    questions = ev.load_questions(dataset)
    report = ev.evaluate(index, questions, k=3, threshold=-1.0)
    firsts = [index.service.ask(q.question).hits[0].chunk.doc_id for q in questions]
    shown = sum(f.split("#")[-1] in q.doc_ids for f, q in zip(firsts, questions, strict=True))
    assert report["hit@1"] == round(shown / len(questions), 4) < 1.0  # hashing alone: 1.0
    assert report["reranker"] == str(tiny_models["reranker"]) and report["rerank_candidates"] == 20
    assert report["reader"] is None and "answer_span_exact" not in report
    plain = ev.prepare_index(dataset, _settings(score_threshold=0.0), cache_dir=tmp_path / "c")
    assert plain.folder == index.folder  # the reranker changes no vector: same cached index
    assert ev.evaluate(plain, questions, k=3, threshold=-1.0)["reranker"] is None


def test_cli_eval_with_reader_and_reranker_threshold(
    dataset, other, tmp_path, monkeypatch, tiny_models
):
    monkeypatch.setenv("QABOT_RERANKER_MODEL", str(tiny_models["reranker"]))
    monkeypatch.setenv("QABOT_RERANKER_THRESHOLD", "0.3")
    monkeypatch.setenv("QABOT_READER_MODEL", str(tiny_models["reader"]))
    args = ["eval", str(dataset), "--embedder", "hashing", "--cache-dir", str(tmp_path / "c")]
    result = CliRunner().invoke(
        app, [*args, "--json", "--out-of-scope", str(other), "--threshold", "0.42"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # With QABOT_RERANKER_THRESHOLD set, --threshold replaces it (not QABOT_SCORE_THRESHOLD).
    assert report["threshold"] == 0.42
    assert report["reader"] == str(tiny_models["reader"])
    assert 0.0 <= report["answer_span_exact"] <= 1.0
    text = CliRunner().invoke(app, [*args, "--questions", "2"])
    assert text.exit_code == 0, text.output
    assert "reranker  " in text.stdout and "span exact match" in text.stdout
    assert "threshold 0.30" in text.stdout


def test_cli_sentence_vectors_get_their_own_cached_index(dataset, tmp_path):
    runner = CliRunner()
    args = ["eval", str(dataset), "--embedder", "hashing", "--cache-dir", str(tmp_path / "c")]
    plain = runner.invoke(app, [*args, "--json"])
    stored = runner.invoke(app, [*args, "--json", "--sentence-vectors"])
    assert plain.exit_code == 0 and stored.exit_code == 0, stored.output
    plain, stored = json.loads(plain.stdout), json.loads(stored.stdout)
    assert plain["sentence_vectors"] is False and stored["sentence_vectors"] is True
    assert stored["index"]["cached"] is False  # not the index built without them
    # The same answer sentences, picked from stored vectors instead of embedded per question.
    for key in ("hit@1", "answer_in_first_sentence", "not_found_rate"):
        assert stored[key] == plain[key]
    text = runner.invoke(app, [*args, "--sentence-vectors"])
    assert "sentence vectors" in text.stdout
