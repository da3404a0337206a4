"""From ranked chunks to an answer: distinct passages, the answer sentence, an honest "not found"."""

from __future__ import annotations

import re

import numpy as np

from qabot.chunking import split_sentences
from qabot.embedders import Embedder
from qabot.types import Answer, Chunk, Hit

_WORD = re.compile(r"\w+", re.UNICODE)


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


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


def best_sentence(
    question: str, qvec: np.ndarray, chunk: Chunk, embedder: Embedder
) -> tuple[int, int]:
    """Offsets (into chunk.text) of the sentence that best answers the question: embedding
    similarity to the question, nudged by shared words (names, numbers)."""
    spans = split_sentences(chunk.text)
    if len(spans) <= 1:
        return spans[0] if spans else (0, len(chunk.text))
    texts = [chunk.text[s:e] for s, e in spans]
    vecs = embedder.embed_passages(texts, batch_size=len(texts))
    sims = vecs @ qvec
    qwords = _words(question)
    scores = []
    for text, sim in zip(texts, sims, strict=True):
        shared = len(qwords & _words(text)) / len(qwords) if qwords else 0.0
        scores.append(float(sim) + 0.1 * shared)
    return spans[int(np.argmax(scores))]


def make_answer(
    *,
    question: str,
    qvec: np.ndarray,
    ranked: list[tuple[Chunk, float]],
    confidence: float | None,
    k: int,
    threshold: float,
    embedder: Embedder,
) -> Answer:
    """`ranked` is best first, each chunk with its dense cosine; `confidence` (the best dense
    cosine) decides "not found", whatever order fusion put the chunks in."""
    best = confidence
    if best is None or best < threshold:
        return Answer(question=question, found=False, best_score=best)
    hits: list[Hit] = []
    for rank, (chunk, score) in enumerate(distinct(ranked, k), 1):
        if rank == 1:
            start, end = best_sentence(question, qvec, chunk, embedder)
        else:
            start, end = 0, 0
        hits.append(Hit(chunk, score, rank, start, end))
    return Answer(question=question, found=True, hits=hits, best_score=best)
