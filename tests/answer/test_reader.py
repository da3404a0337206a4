"""The optional extractive reader, with a tiny random question-answering model built by the test."""

from __future__ import annotations

import pytest

from qabot.answer.reader import MAX_ANSWER_TOKENS, Reader, sentence_around
from qabot.errors import ModelLoadError
from qabot.ingest.chunking import split_sentences
from tests.helpers.tiny_models import QUESTIONS, corpus_service


def _oracle(model_path, question: str, passage: str) -> tuple[float, str]:
    """The model's best span computed without qabot: every (start, end) pair of passage tokens
    within MAX_ANSWER_TOKENS, scored P(start) x P(end) over the passage's tokens."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForQuestionAnswering.from_pretrained(model_path).eval()
    enc = tok(question, passage, return_offsets_mapping=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0].tolist()
    with torch.no_grad():
        out = model(**enc)
    ctx = [i for i, s in enumerate(enc.sequence_ids(0)) if s == 1]
    p_start = torch.softmax(out.start_logits[0, ctx], 0).tolist()
    p_end = torch.softmax(out.end_logits[0, ctx], 0).tolist()
    best = max(
        (p_start[a] * p_end[b], a, b)
        for a in range(len(ctx))
        for b in range(a, min(len(ctx), a + MAX_ANSWER_TOKENS))
    )
    score, a, b = best
    return score, passage[offsets[ctx[a]][0] : offsets[ctx[b]][1]]


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_span_is_the_models_best_over_the_passages_shown(settings, tiny_models, question):
    """settings.top_k is 3: the reader reads the three passages a default ask shows."""
    plain = corpus_service(settings).ask(question, k=3)
    answer = corpus_service(settings, reader_model=str(tiny_models["reader"])).ask(question, k=3)
    assert answer.found and len(answer.hits) == 3

    oracle = [_oracle(tiny_models["reader"], question, h.chunk.text) for h in plain.hits]
    winner = max(range(3), key=lambda i: oracle[i][0])
    first = answer.hits[0]
    # Its passage goes first, the others keep their order.
    assert first.chunk == plain.hits[winner].chunk
    rest = [h.chunk for i, h in enumerate(plain.hits) if i != winner]
    assert [h.chunk for h in answer.hits[1:]] == rest
    assert [h.rank for h in answer.hits] == [1, 2, 3]
    # The span is the model's own, and the highlighted sentence is the one holding it.
    assert answer.span == first.span == oracle[winner][1]
    assert first.span_score == pytest.approx(oracle[winner][0], rel=1e-4)
    text = first.chunk.text
    assert text[first.span_start : first.span_end] == answer.span
    assert first.sentence_start <= first.span_start < first.span_end <= first.sentence_end
    assert answer.span in answer.sentence
    starts = {s for s, _ in split_sentences(text)}
    assert first.sentence_start in starts
    # to_dict (qabot ask --json) carries the span and its offsets into the passage.
    data = answer.to_dict()
    assert data["span"] == answer.span and data["answer"] == answer.sentence
    row = data["results"][0]
    assert row["passage"][row["span_start"] : row["span_end"]] == answer.span


def test_without_a_reader_nothing_changes(settings, tiny_models):
    answer = corpus_service(settings).ask(QUESTIONS[0])
    assert answer.span is None
    data = answer.to_dict()
    assert "span" not in data and "span_start" not in data["results"][0]
    assert "rerank_score" not in data["results"][0]


def test_a_longer_list_keeps_the_same_answer_first(settings, tiny_models):
    """The bot asks for 2 passages, then again for more ("More results"): the reader reads the
    first QABOT_TOP_K passages either way, so the answer and its order stay put."""
    svc = corpus_service(settings, reader_model=str(tiny_models["reader"]))
    plain = corpus_service(settings)
    for question in QUESTIONS:
        short, long = svc.ask(question, k=2), svc.ask(question, k=5)
        assert [h.chunk for h in short.hits] == [h.chunk for h in long.hits[:2]]
        assert short.span == long.span
        read = {h.chunk for h in plain.ask(question, k=3).hits}
        assert {h.chunk for h in long.hits[:3]} == read
        assert [h.chunk for h in long.hits[3:]] == [
            h.chunk for h in plain.ask(question, k=5).hits[3:]
        ]


def test_the_reader_does_not_run_when_nothing_is_found(settings, tiny_models):
    svc = corpus_service(settings, reader_model=str(tiny_models["reader"]), score_threshold=1.0)
    answer = svc.ask(QUESTIONS[0])
    assert not answer.found and answer.span is None
    assert svc._reader is None  # not even loaded


def test_a_question_longer_than_the_window_is_cut_not_an_error(tiny_models):
    reader = Reader(str(tiny_models["reader"]))  # a 128-token model
    question = " ".join(["apples"] * 300)
    passage = "Apples grow on old trees in the orchard. " * 30
    [span] = reader.read(question, [passage])
    assert span is not None and 0 <= span.start < span.end <= len(passage)


def test_sentence_around_a_span():
    text = "First one here. The span sits here. Last one."
    at = text.index("span")
    assert text[slice(*sentence_around(text, at, at + 4))] == "The span sits here."
    across = sentence_around(text, text.index("sits"), text.index("Last") + 4)
    assert text[slice(*across)] == "The span sits here. Last one."


def test_a_model_that_cannot_load_names_the_setting(tmp_path):
    with pytest.raises(ModelLoadError, match=r"^QABOT_READER_MODEL=.*unset it to turn the reader"):
        Reader(str(tmp_path / "missing"))


def test_a_cross_encoder_is_not_a_reader(tiny_models):
    with pytest.raises(ModelLoadError, match="not an extractive question-answering model"):
        Reader(str(tiny_models["reranker"]))


def test_the_reader_changes_the_first_passage(settings, tiny_models):
    """For this seed the random reader prefers another passage: proof that it acted."""
    plain = corpus_service(settings)
    read = corpus_service(settings, reader_model=str(tiny_models["reader"]))
    moved = sum(plain.ask(q).hits[0].chunk != read.ask(q).hits[0].chunk for q in QUESTIONS)
    assert moved >= 2
