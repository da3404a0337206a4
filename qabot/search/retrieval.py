"""Ranking chunks for a question: dense (cosine), lexical (BM25) or both fused.

Every candidate carries its dense cosine whatever the mode, and the "not found" decision uses
one number (`Calibration` says which, per embedder): the cosine of the best dense match plus a
share of the best BM25 match scaled to 0..1 (the idf share of the question a chunk matches), or -
for MiniLM - the score of the answer sentence shown, with its context (`make_answer` adds that
term: it needs the embedder), all divided by what they can add up to. The
cosine alone cannot tell "about this corpus" from "about something similar": questions about
other Wikipedia articles reach cosines as high as real ones, but they name things the corpus
never mentions, and no sentence of the best passage says what they ask (bench/RESULTS-quality.md:
at a 5% false-answer rate MiniLM answers 90.9% of in-scope questions with the cosine alone, 97.3%
with the lexical term, 98.2% with the answer sentence's score).

Fusion is a weighted sum of the two scores, each brought to 0..1 in a way that keeps its
confidence: the dense cosines are min-max scaled over the candidates (so MiniLM's wide and e5's
narrow cosine ranges weigh alike), and BM25 is divided by what a chunk holding every query term
would score (`LexicalResult.max_score`), so a question whose words the corpus mostly lacks (a
Russian question over English text) gets small lexical scores and cannot reorder a good dense
ranking. Rank fusion (RRF) was measured too and loses exactly there: ranks carry no confidence
(bench/experiments/sweep_fusion.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qabot.embedders.calibration import FALLBACK, Calibration
from qabot.search.lexical import LexicalIndex
from qabot.timing import span
from qabot.types import Chunk

log = logging.getLogger("qabot")

MODES = ("dense", "lexical", "hybrid")
# Candidates taken from each side before fusing, whatever n the caller wants: min-max scaling
# depends on the candidate set, so a fixed set keeps the order independent of n.
CANDIDATES = 50

# Default lexical weight in linear fusion, chosen on xquad_en (MiniLM hit@1: 0.892 dense,
# 0.940 BM25, 0.948 at 0.3, 0.961 at 0.5) and checked cross-lingually (e5, Russian questions,
# English corpus: 0.811 dense, 0.821 at 0.5); see bench/RESULTS-quality.md.
LEXICAL_WEIGHT = 0.5


@dataclass(frozen=True)
class Recency:
    """News is asked about near its time: a dated passage's ranking score gains `weight` x
    0.5 ** (days between its document's date and the question's / `half_life_days`), added to
    the fused score (0..1), so a same-day article gains `weight`, one a half-life away half of
    it, and undated documents nothing. With dated documents the candidates from each side grow
    to `candidates`, so that a recent article the first 50 missed can still rise.

    Section 7.8 of bench/RESULTS-quality.md: on the news dev set, where the article a question
    was written from is 0-6 days older than it and many an article on a similar event is months
    or years older, retrieval alone goes from hit@1 0.520 / hit@10 0.908 to 0.724 / 0.980 at a
    14-day half-life and weight 0.2, and stays within 0.694-0.745 for half-lives of 7 to 30
    days and weights 0.2-0.3. Collections without dates (xquad) are unchanged. The distance is
    absolute: a document dated after the question (which cannot exist when the question is
    asked live, only in an evaluation mixing weeks) counts as far as one as much older."""

    half_life_days: float = 14.0
    weight: float = 0.2
    candidates: int = 200

    @property
    def active(self) -> bool:
        return self.half_life_days > 0 and self.weight > 0

    def bonus(self, days: np.ndarray, as_of: int) -> np.ndarray:
        """The bonus for passages whose documents' day numbers are `days` (-1: undated)."""
        age = np.abs(as_of - days).astype(np.float64)
        return np.where(days >= 0, self.weight * np.exp2(-age / self.half_life_days), 0.0)


NO_RECENCY = Recency(weight=0.0)


_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LETTER = re.compile(r"[^\W\d_]")


def script(text: str) -> str:
    """ "cyrillic" or "latin": enough to tell a cross-lingual question from a same-language one
    for the languages qabot serves."""
    sample = text[:1000]
    letters = len(_LETTER.findall(sample))
    return "cyrillic" if letters and len(_CYRILLIC.findall(sample)) > 0.3 * letters else "latin"


@dataclass
class Candidate:
    """One ranked chunk: `row` in the index, its dense cosine, its BM25 score scaled 0..1 (0
    when not a lexical match) and the score it was ranked by; `rerank`, the cross-encoder's
    score (0..1), when a reranker re-scored it (qabot/search/reranking.py)."""

    row: int
    dense: float
    lexical: float
    score: float
    rerank: float | None = None


@dataclass
class Retrieval:
    """Ranked candidates (best first) and `confidence`, the part of what the threshold is
    compared with that retrieval knows: `Calibration.dense` x `dense_top` + `Calibration.lexical`
    x `lexical_top` (+ the cross-script lift); `make_answer` adds the answer sentence's term.
    `coverage` is the idf share of the question's terms the corpus holds at all
    (None without a lexical index)."""

    candidates: list[Candidate]
    confidence: float | None
    coverage: float | None = None
    dense_top: float | None = None
    lexical_top: float = 0.0


class Retriever:
    """Searches one index version. `dense_search(qvec, n)` returns (row, cosine) best first.
    `sentence_vectors` / `sentence_offsets`: the chunks' sentence vectors, chunk i's being rows
    offsets[i]:offsets[i + 1] (every chunk has at least one), or None.

    The index behind it is a seam: `vectors` (the stored rows, in memory) or `cosines(rows,
    qvec)` for a store that keeps them elsewhere (Qdrant); `lexical` is anything with
    LexicalIndex's `search` and `term_idf`."""

    def __init__(
        self,
        *,
        vectors: np.ndarray | None = None,
        dense_search,
        lexical: LexicalIndex | None,
        chunk_text: Callable[[int], str] | None = None,
        sentence_vectors: np.ndarray | None = None,
        sentence_offsets: np.ndarray | None = None,
        chunk_days: Callable[[np.ndarray], np.ndarray] | None = None,
        cosines: Callable[[list[int], np.ndarray], np.ndarray] | None = None,
    ) -> None:
        if cosines is None:
            if vectors is None:
                raise ValueError("a Retriever needs `vectors` or `cosines`")
            cosines = lambda rows, qvec: vectors[rows] @ qvec  # noqa: E731
        self.cosines = cosines
        self.dense_search = dense_search
        self.lexical = lexical
        self.chunk_text = chunk_text  # row -> text, for the cross-script calibration
        self.sentence_vectors = sentence_vectors
        self.sentence_offsets = sentence_offsets
        # rows -> their documents' dates (day numbers, -1 undated); None when nothing is dated
        self.chunk_days = chunk_days

    def _sentence_best(self, qvec: np.ndarray) -> np.ndarray:
        """Each chunk's best sentence cosine (unit vectors: inner product = cosine). Searched
        exhaustively: 0.08 ms for 1k sentences, ~50 ms for 50k on one busy core; a corpus of
        100k chunks would want an ANN index over the sentences."""
        return np.maximum.reduceat(self.sentence_vectors @ qvec, self.sentence_offsets[:-1])

    def retrieve(
        self,
        *,
        question: str,
        qvec: np.ndarray,
        n: int,
        mode: str = "hybrid",
        lexical_weight: float = LEXICAL_WEIGHT,
        calib: Calibration = FALLBACK,
        recency: Recency = NO_RECENCY,
        as_of: int | None = None,
    ) -> Retrieval:
        """The best `n` candidates for a question in `mode`, and the confidence `calib`
        defines; dated passages gain `recency`'s bonus for nearness to `as_of` (a day
        number)."""
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; expected one of {MODES}")
        days = self.chunk_days if recency.active and as_of is not None else None
        pool = max(n, recency.candidates if days is not None else CANDIDATES)

        def ranked_by(scores: dict[int, float]) -> list[tuple[int, float]]:
            """(row, score) best first, each score with its recency bonus."""
            if days is not None and scores:
                rows = np.fromiter(scores, dtype=np.int64, count=len(scores))
                extra = recency.bonus(days(rows), as_of)
                scores = {
                    r: s + float(b)
                    for (r, s), b in zip(scores.items(), extra.tolist(), strict=True)
                }
            return sorted(scores.items(), key=lambda x: -x[1])

        with span("dense_search"):
            dense = self.dense_search(qvec, pool)
        dense_top = dense[0][1] if dense else None
        base = None if dense_top is None else calib.dense * dense_top
        if (
            dense
            and calib.cross_script
            and self.chunk_text is not None
            and script(question) != script(self.chunk_text(dense[0][0]))
        ):
            base += calib.cross_script
        cosines = dict(dense)  # what candidates report as `dense`, whatever ranks them
        best = None  # each chunk's best sentence cosine, when sentences take part

        def ranking_score(row: int) -> float:
            if best is None:
                return cosines[row]
            return (1 - calib.sentences) * cosines[row] + calib.sentences * float(best[row])

        if dense and calib.sentences and self.sentence_vectors is not None:
            # Candidates: the passage search's plus the chunks of the best sentences.
            with span("sentence_search"):
                best = self._sentence_best(qvec)
            k = min(pool, len(best))
            extra_rows = [int(r) for r in np.argpartition(-best, k - 1)[:k] if r not in cosines]
            if extra_rows:
                for r, s in zip(extra_rows, self.cosines(extra_rows, qvec), strict=True):
                    cosines[r] = float(s)
            dense = sorted(((r, ranking_score(r)) for r in cosines), key=lambda x: -x[1])
            dense = dense[:pool]
        if self.lexical is None:
            if mode != "dense":
                log.warning("no lexical index loaded; ranking by dense similarity only")
            ranked = [Candidate(r, cosines[r], 0.0, s) for r, s in ranked_by(dict(dense))[:n]]
            return Retrieval(ranked, base, None, dense_top)

        # BM25 runs in every mode (about 1 ms): the confidence needs it.
        with span("bm25_search"):
            lex = self.lexical.search(question, pool)
        lex_scaled = {
            int(r): min(1.0, float(s) / lex.max_score) if lex.max_score > 0 else 0.0
            for r, s in zip(lex.rows, lex.scores, strict=True)
        }
        lexical_top = max(lex_scaled.values(), default=0.0)
        confidence = None if base is None else base + calib.lexical * lexical_top
        dense_of = dict(dense)
        rows = list(dense_of) + [r for r in lex_scaled if r not in dense_of]
        missing = [r for r in rows if r not in dense_of]
        if missing:  # exact cosines for lexical-only candidates, from the stored vectors
            for r, s in zip(missing, self.cosines(missing, qvec), strict=True):
                cosines[r] = float(s)
                dense_of[r] = ranking_score(r)
        cyrillic_only_bm25 = calib.latin_only and script(question) == "cyrillic"
        extra = {"coverage": lex.coverage, "dense_top": dense_top, "lexical_top": lexical_top}
        if mode == "dense":
            ranked = [
                Candidate(r, cosines[r], lex_scaled.get(r, 0.0), s)
                for r, s in ranked_by(dict(dense))[:n]
            ]
            return Retrieval(ranked, confidence, **extra)

        if mode == "lexical":
            ranked = [
                Candidate(r, cosines[r], lex_scaled[r], s) for r, s in ranked_by(lex_scaled)[:n]
            ]
            return Retrieval(ranked, confidence, **extra)

        if cyrillic_only_bm25:
            lexical_weight = 1.0
        with span("fusion"):
            scores = _linear(rows, dense_of, lex_scaled, weight=lexical_weight)
        ranked = [
            Candidate(r, cosines[r], lex_scaled.get(r, 0.0), s) for r, s in ranked_by(scores)[:n]
        ]
        return Retrieval(ranked, confidence, **extra)


def _linear(
    rows: list[int], dense: dict[int, float], lexical: dict[int, float], *, weight: float
) -> dict[int, float]:
    values = np.array([dense[r] for r in rows], dtype=np.float64)
    lo, hi = float(values.min()), float(values.max())
    spread = hi - lo if hi > lo else 1.0
    return {r: (1 - weight) * (dense[r] - lo) / spread + weight * lexical.get(r, 0.0) for r in rows}


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
