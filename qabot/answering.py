"""From ranked chunks to an answer: distinct passages, the answer sentence, an honest "not found"."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qabot.chunking import sentence_for_embedding, sentence_spans
from qabot.embedders import Embedder
from qabot.lexical import LexicalIndex, analyze
from qabot.types import Answer, Chunk, Hit


def distinct(candidates: list[tuple[Chunk, float]], k: int) -> list[tuple[Chunk, float]]:
    """The best `k` candidates, dropping a passage that mostly repeats a better one of the same
    document (neighbouring chunks share `overlap` sentences)."""
    kept: list[tuple[Chunk, float]] = []
    for chunk, score in candidates:
        dup = False
        for other, _ in kept:
            if other.doc_id != chunk.doc_id:
                continue
            overlap = min(other.end, chunk.end) - max(other.start, chunk.start)
            if overlap > 0.5 * (chunk.end - chunk.start):
                dup = True
                break
        if not dup:
            kept.append((chunk, score))
            if len(kept) == k:
                break
    return kept


def term_overlap(question: str, sentence: str, lexical: LexicalIndex | None) -> float:
    """The idf-weighted share of the question's terms (stemmed, as BM25 sees them) that the
    sentence contains: a shared name or number counts, a shared "year" barely does."""
    terms = set(analyze(question))
    if not terms:
        return 0.0
    have = set(analyze(sentence))
    weight = (lambda t: lexical.term_idf(t)) if lexical is not None else (lambda t: 1.0)
    total = sum(weight(t) for t in terms)
    return sum(weight(t) for t in terms & have) / total if total > 0 else 0.0


# Sentence score = cosine(question, "title: sentence") + OVERLAP_WEIGHT x term_overlap.
# Measured on all of xquad_en with MiniLM, hybrid retrieval (bench/RESULTS-quality.md):
# answer-in-first-sentence 0.734 by the bare sentence's cosine, 0.787 adding overlap x 1.0,
# 0.795 with the title before the sentence (it says what "it" and "he" are), 0.798 with x 0.5.
OVERLAP_WEIGHT = 0.5
# Picking the sentence, the question's terms that only the previous sentence holds count at
# this share: "It was re-established in 1991" answers a question naming what "it" is, and
# names it one sentence earlier. Below 1, so a sentence holding the terms itself still beats
# the one after it (at 1 both get the same overlap and the cosine alone decides). xquad_en
# 0.798 -> 0.807 (bench/RESULTS-quality.md section 4.1). The score returned (the not-found
# confidence) stays the passage's best sentence score without context: counted in, it moved
# no out-of-scope rate by more than 2 questions and would have needed a new threshold.
CONTEXT_WEIGHT = 0.5


def scored_sentence(
    question: str,
    qvec: np.ndarray,
    chunk: Chunk,
    embedder: Embedder,
    lexical: LexicalIndex | None = None,
    stored: np.ndarray | None = None,
) -> tuple[tuple[int, int], float]:
    """The sentence that best answers the question, as offsets into chunk.text, and a score:
    embedding similarity to the question plus OVERLAP_WEIGHT x the idf-weighted share of its
    words the sentence holds (names, numbers and rare words are where the answer sentence and
    the question meet). The sentence is picked with the question's terms that only the
    previous sentence holds added at CONTEXT_WEIGHT (what "it" or "he" refers to); the score
    is the best sentence's own, without them. The score is also a confidence
    (`Calibration.sentence`): a question about something the corpus does not hold finds no
    sentence that says it."""
    spans = sentence_spans(chunk)
    texts = [chunk.text[s:e] for s, e in spans]
    if stored is not None and len(stored) == len(spans):  # the index's sentence vectors
        sims = stored @ qvec
    else:
        titled = [sentence_for_embedding(chunk, span) for span in spans]
        sims = embedder.embed_passages(titled, batch_size=len(texts)) @ qvec
    own = [term_overlap(question, text, lexical) for text in texts]
    scores = [float(sim) + OVERLAP_WEIGHT * o for sim, o in zip(sims, own, strict=True)]
    # the overlap of a sentence with its predecessor minus its own: what only the previous holds
    inherited = [0.0] + [
        term_overlap(question, f"{prev} {text}", lexical) - o
        for prev, text, o in zip(texts[:-1], texts[1:], own[1:], strict=True)
    ]
    pick = [s + OVERLAP_WEIGHT * CONTEXT_WEIGHT * i for s, i in zip(scores, inherited, strict=True)]
    return spans[int(np.argmax(pick))], max(scores)


def best_sentence(
    question: str,
    qvec: np.ndarray,
    chunk: Chunk,
    embedder: Embedder,
    lexical: LexicalIndex | None = None,
    stored: np.ndarray | None = None,
) -> tuple[int, int]:
    """Offsets (into chunk.text) of the sentence that best answers the question
    (`scored_sentence`; a one-sentence chunk is its own answer, with no embedding)."""
    spans = sentence_spans(chunk)
    if len(spans) == 1:
        return spans[0]
    return scored_sentence(question, qvec, chunk, embedder, lexical, stored)[0]


def make_answer(
    *,
    question: str,
    qvec: np.ndarray,
    ranked: list[tuple[Chunk, float]],
    confidence: float | None,
    k: int,
    threshold: float,
    embedder: Embedder,
    lexical: LexicalIndex | None = None,
    gate: Chunk | None = None,
    sentence_weight: float = 0.0,
    stored: Callable[[Chunk], np.ndarray | None] | None = None,
) -> Answer:
    """`ranked` is best first, each chunk with its dense cosine. The confidence decides "not
    found", whatever order fusion put the chunks in: `confidence` (`Retrieval.confidence`, the
    best dense cosine and BM25 match as `Calibration` weighs them) plus `sentence_weight` x the
    score of the best sentence of `gate` (the chunk of `Retrieval.gate_row`). `stored` gives a
    chunk's sentence vectors when the index holds them (then no sentence is embedded here)."""
    vectors_of = stored or (lambda chunk: None)
    best = confidence
    gate_span = None
    if best is not None and sentence_weight and gate is not None:
        gate_span, score = scored_sentence(
            question, qvec, gate, embedder, lexical, vectors_of(gate)
        )
        best += sentence_weight * score
    if best is None or best < threshold:
        return Answer(question=question, found=False, best_score=best)
    hits: list[Hit] = []
    for rank, (chunk, score) in enumerate(distinct(ranked, k), 1):
        if rank == 1 and gate_span is not None and chunk == gate:
            start, end = gate_span  # the default ranking's first chunk: already scored
        elif rank == 1:
            start, end = best_sentence(question, qvec, chunk, embedder, lexical, vectors_of(chunk))
        else:
            start, end = 0, 0
        hits.append(Hit(chunk, score, rank, start, end))
    return Answer(question=question, found=True, hits=hits, best_score=best)
