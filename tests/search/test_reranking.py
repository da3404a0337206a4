"""The optional cross-encoder reranker, with a tiny random cross-encoder built by the test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qabot.config import get_settings
from qabot.errors import ConfigError, ModelLoadError
from qabot.search.reranking import Reranker, pair_text, rerank
from qabot.search.retrieval import Candidate
from qabot.types import Chunk
from tests.helpers.tiny_models import CORPUS, QUESTIONS, corpus_service

K = len(CORPUS)  # one chunk per document: every passage is shown


def _oracle(model_path, question: str, chunks: list[Chunk]) -> list[float]:
    """The cross-encoder's scores computed without qabot or sentence-transformers: the raw
    model, one pair at a time, through a sigmoid."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSequenceClassification.from_pretrained(model_path).eval()
    scores = []
    with torch.no_grad():
        for c in chunks:
            logit = model(**tok(question, f"{c.title}: {c.text}", return_tensors="pt")).logits
            scores.append(1 / (1 + math.exp(-float(logit[0, 0]))))
    return scores


@pytest.mark.parametrize("question", QUESTIONS)
def test_reranked_order_is_the_cross_encoders_own(settings, tiny_models, question):
    plain = corpus_service(settings).ask(question, k=K)
    svc = corpus_service(settings, reranker_model=str(tiny_models["reranker"]))
    answer = svc.ask(question, k=K)
    assert answer.found and len(answer.hits) == K == len(plain.hits)

    chunks = [h.chunk for h in plain.hits]
    expected = _oracle(tiny_models["reranker"], question, chunks)
    by_oracle = [c for _, c in sorted(zip(expected, chunks, strict=True), key=lambda t: -t[0])]
    assert [h.chunk for h in answer.hits] == by_oracle
    # The dense cosine is kept as `score`; the cross-encoder's score is a field of its own.
    dense = {h.chunk: h.score for h in plain.hits}
    oracle = dict(zip(chunks, expected, strict=True))
    for h in answer.hits:
        assert h.score == pytest.approx(dense[h.chunk], abs=1e-6)
        assert h.rerank_score == pytest.approx(oracle[h.chunk], abs=1e-5)
    assert [h.rank for h in answer.hits] == list(range(1, K + 1))
    assert answer.to_dict()["results"][0]["rerank_score"] == round(answer.hits[0].rerank_score, 4)


def test_the_reranker_changes_the_order(settings, tiny_models):
    """For this seed the random cross-encoder disagrees with retrieval: proof that it acted."""
    changed = 0
    for question in QUESTIONS:
        plain = corpus_service(settings).ask(question, k=K)
        svc = corpus_service(settings, reranker_model=str(tiny_models["reranker"]))
        changed += [h.chunk for h in svc.ask(question, k=K).hits] != [h.chunk for h in plain.hits]
    assert changed >= 2


def test_rerank_scores_only_the_first_distinct_candidates():
    chunks = {
        0: Chunk("a", "A", "a", 0, 100, "a0"),
        1: Chunk("a", "A", "a", 10, 100, "a1"),  # mostly repeats chunk 0: not re-scored
        2: Chunk("b", "B", "b", 0, 100, "b"),
        3: Chunk("c", "C", "c", 0, 100, "c"),
        4: Chunk("d", "D", "d", 0, 100, "d"),
    }
    seen = []

    def scorer(question, picked):
        seen.append([pair_text(c) for c in picked])
        return np.array([0.1, 0.9, 0.5])

    cands = [Candidate(r, 1 - r / 10, 0.0, 1 - r / 10) for r in chunks]
    out = rerank("q", cands, chunk=chunks.__getitem__, scorer=scorer, n=3)
    assert seen == [["A: a0", "B: b", "C: c"]]
    assert [c.row for c in out] == [2, 3, 0, 1, 4]
    assert [c.rerank for c in out] == [0.9, 0.5, 0.1, None, None]


def test_reranker_threshold_decides_not_found(settings, tiny_models):
    model = str(tiny_models["reranker"])
    top = corpus_service(settings, reranker_model=model).ask(QUESTIONS[0]).hits[0].rerank_score
    above = corpus_service(settings, reranker_model=model, reranker_threshold=top + 1e-4)
    answer = above.ask(QUESTIONS[0])
    assert not answer.found and answer.best_score == pytest.approx(top, abs=1e-6)
    assert above.threshold == top + 1e-4
    below = corpus_service(settings, reranker_model=model, reranker_threshold=top - 1e-4)
    answer = below.ask(QUESTIONS[0])
    assert answer.found and answer.best_score == pytest.approx(top, abs=1e-6)


def test_threshold_without_a_reranker_is_refused():
    with pytest.raises(ConfigError, match="QABOT_RERANKER_MODEL"):
        get_settings(reranker_threshold=0.5)


def test_a_model_that_cannot_load_names_the_setting(tmp_path):
    with pytest.raises(ModelLoadError) as info:
        Reranker(str(tmp_path / "no-such-model"))
    message = str(info.value)
    assert message.startswith(f"QABOT_RERANKER_MODEL={tmp_path / 'no-such-model'} could not")
    assert "unset it" in message and "\n" not in message


def test_a_reader_is_not_a_reranker(tiny_models):
    with pytest.raises(ModelLoadError, match="is a BertForQuestionAnswering, not a cross-encoder"):
        Reranker(str(tiny_models["reader"]))
