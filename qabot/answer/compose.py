"""From ranked chunks to an answer: distinct passages, the answer sentence, an honest "not found"."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qabot.answer.wording import asked_for
from qabot.embedders import Embedder
from qabot.ingest.chunking import sentence_for_embedding, sentence_spans
from qabot.search.lexical import LexicalIndex, analyze
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


# The answer sentence is chosen among the sentences of the first ANSWER_PASSAGES distinct
# passages, not only the first one: the passage ranking weighs a whole passage, and on news
# several passages of several articles tell the same event, one of them in the sentence that
# answers. A sentence of a lower passage pays RANK_PENALTY per rank, so a tie stays with the
# better passage. bench/experiments/sweep_answer_news.py, RESULTS-quality section 7.
ANSWER_PASSAGES = 3
RANK_PENALTY = 0.03
# A line this short is a byline, a dateline or a caption ("CNN —", "USA TODAY"), not an answer;
# nor is a line ending in a dash (a longer dateline: "New York CNN Business —"), the document's
# title repeated as its first line, or a sentence whose every term is the question's
# (`_restates`). Chosen only when nothing else is left, and never shown before the answer.
MIN_ANSWER_WORDS = 4
_DASHES = ("—", "–", "-")
# Of the passages after the first, only this many sentences are scored: those sharing most of
# the question's terms. Embedding every sentence of three news passages tripled the time of an
# answer (~20 sentences); on the news dev set and xquad_en the two best by overlap chose the
# same sentences (bench/experiments/sweep_answer_news.py --cascade-only).
OTHER_SENTENCES = 2
# And of the first passage, the FIRST_SENTENCES sharing most (a 256-token news passage holds ~10):
# news p50 93 -> 78 ms, the same answers on news and xquad_en (4 cost xquad_en 2 sentences).
FIRST_SENTENCES = 6
# A question asking for a number ("how many", "what year"): a sentence holding no number the
# question lacks pays this in the choice (not in the confidence), so the sentence with the
# count beats the one restating the premise (`answer_types`).
QUANTITY_PENALTY = 0.1
# The sentence shown starts one earlier when it leans on its predecessor: the question's terms
# only the predecessor holds (CONTEXT_WEIGHT) decided its choice (without them another sentence
# of the passage scores higher), or it calls the asked-for thing "the <noun>" (`answer_types`).
# The predecessor names what "it" or "the show" is.
EXTEND_ON_CONTEXT = True
EXTEND_ON_REFERENCE = True
# Sentences embedded per batch: batches of similar length pad less.
EMBED_BATCH = 16


@dataclass
class ScoredSentences:
    """A chunk's sentences: offsets into chunk.text, each one's own score (cosine of "title:
    sentence" with the question + OVERLAP_WEIGHT x its idf share of the question's terms) and
    the score it is picked by (plus the terms only the previous sentence holds, at
    CONTEXT_WEIGHT), whether it may be shown as an answer (`answerable`), the score it is
    chosen by (`choose`: `pick` less what the question's wording rules out) and whether it is
    shown from its predecessor on (`from_previous`)."""

    spans: list[tuple[int, int]]
    own: list[float]
    pick: list[float]
    answerable: list[bool]
    choose: list[float]
    from_previous: list[bool]

    @property
    def best_own(self) -> float:
        return max(self.own)

    def best(self) -> int:
        """The sentence to show: the best choice among the answerable ones (any, if none is)."""
        scored = [i for i in range(len(self.spans)) if self.own[i] > -math.inf]
        pool = [i for i in scored if self.answerable[i]] or scored or range(len(self.spans))
        return max(pool, key=lambda i: self.choose[i])

    def shown(self, i: int) -> tuple[int, int]:
        """Offsets of what is shown for sentence `i`: it, or its predecessor and it."""
        start, end = self.spans[i]
        return (self.spans[i - 1][0] if self.from_previous[i] else start), end


def score_sentences(
    question: str,
    qvec: np.ndarray,
    chunks: list[Chunk],
    embedder: Embedder,
    lexical: LexicalIndex | None = None,
    stored: Callable[[Chunk], np.ndarray | None] | None = None,
    *,
    full: int | None = None,
) -> list[ScoredSentences]:
    """The sentences of `chunks` scored (`ScoredSentences`): of the first `full` chunks (all
    chunks when None) the FIRST_SENTENCES of each that share most of the question's terms, and
    of the rest only the OTHER_SENTENCES answerable ones that share most (the others score
    -inf: never picked). Sentences without stored vectors are embedded in one call."""
    full = len(chunks) if full is None else full
    spans_of = [sentence_spans(chunk) for chunk in chunks]
    texts_of = [
        [chunk.text[s:e] for s, e in spans] for chunk, spans in zip(chunks, spans_of, strict=True)
    ]
    own_of = [[term_overlap(question, t, lexical) for t in texts] for texts in texts_of]
    terms = set(analyze(question))
    asked = asked_for(question)
    answerable_of = []
    for chunk, texts in zip(chunks, texts_of, strict=True):
        title = _plain(chunk.title)
        answerable_of.append(
            [
                len(t.split()) >= MIN_ANSWER_WORDS
                and not t.rstrip().endswith(_DASHES)
                and _plain(t) != title
                and not _restates(t, terms)
                for t in texts
            ]
        )
    # Which sentences get a cosine: (chunk, sentence) pairs.
    wanted = []
    for c in range(full):  # stable: ties keep sentence order
        by_overlap = sorted(range(len(spans_of[c])), key=lambda i: -own_of[c][i])
        wanted += [(c, i) for i in sorted(by_overlap[:FIRST_SENTENCES])]
    others = [
        (c, i)
        for c in range(full, len(chunks))
        for i in range(len(spans_of[c]))
        if answerable_of[c][i]
    ]
    others.sort(key=lambda ci: -own_of[ci[0]][ci[1]])  # stable: ties keep passage order
    wanted += others[:OTHER_SENTENCES]
    cosine: dict[tuple[int, int], float] = {}
    missing = []
    for c, i in wanted:
        vectors = stored(chunks[c]) if stored is not None else None
        if vectors is not None and len(vectors) == len(spans_of[c]):  # the index's vectors
            cosine[c, i] = float(vectors[i] @ qvec)
        else:
            missing.append((c, i))
    if missing:
        texts = [sentence_for_embedding(chunks[c], spans_of[c][i]) for c, i in missing]
        sims = embedder.embed_passages(texts, batch_size=EMBED_BATCH) @ qvec
        cosine.update(zip(missing, map(float, sims), strict=True))
    out = []
    for c, (spans, texts, own) in enumerate(zip(spans_of, texts_of, own_of, strict=True)):
        scores = [
            cosine[c, i] + OVERLAP_WEIGHT * own[i] if (c, i) in cosine else -math.inf
            for i in range(len(spans))
        ]
        # the overlap of a sentence with its predecessor minus its own: what only the previous
        # holds
        inherited = [0.0] + [
            term_overlap(question, f"{prev} {text}", lexical) - o
            for prev, text, o in zip(texts[:-1], texts[1:], own[1:], strict=True)
        ]
        pick = [
            s + OVERLAP_WEIGHT * CONTEXT_WEIGHT * i for s, i in zip(scores, inherited, strict=True)
        ]
        lacks = [QUANTITY_PENALTY * asked.lacks_quantity(t) for t in texts]
        choose = [p - x for p, x in zip(pick, lacks, strict=True)]
        plain = [s - x for s, x in zip(scores, lacks, strict=True)]  # the choice, context aside
        answerable = answerable_of[c]
        pool = [i for i in range(len(spans)) if answerable[i] and scores[i] > -math.inf]
        from_previous = [
            i > 0
            and answerable[i - 1]
            and (
                # the predecessor's terms decided it: without them another would be chosen
                (EXTEND_ON_CONTEXT and inherited[i] > 0 and any(plain[j] > plain[i] for j in pool))
                or (EXTEND_ON_REFERENCE and asked.refers_back(texts[i]))
            )
            for i in range(len(spans))
        ]
        out.append(ScoredSentences(spans, scores, pick, answerable, choose, from_previous))
    return out


def _restates(sentence: str, asked: set[str]) -> bool:
    """Whether a sentence holds no term the question lacks: the question printed in the text (a
    news quiz) or a headline that only repeats it cannot hold its answer."""
    terms = set(analyze(sentence))
    return bool(terms) and terms <= asked


def _plain(text: str) -> str:
    return " ".join(text.lower().split())


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
    sentence_weight: float = 0.0,
    ceiling: float = 1.0,
    stored: Callable[[Chunk], np.ndarray | None] | None = None,
    answer_passages: int = ANSWER_PASSAGES,
) -> Answer:
    """`ranked` is best first, each chunk with its dense cosine. The answer sentence is the best
    among the first `answer_passages` distinct passages (a lower one paying RANK_PENALTY per
    rank), and its passage is the first hit. The confidence decides "not found", whatever order
    fusion put the chunks in: `confidence` (`Retrieval.confidence`, the best dense cosine and
    BM25 match as `Calibration` weighs them) plus `sentence_weight` x the answer sentence's
    score with its context (what it was picked by), divided by `ceiling`
    (`Calibration.ceiling`: what those terms can add up to) into 0..1. `stored` gives a chunk's
    sentence vectors when the index holds them (then no sentence is embedded here)."""
    passages = distinct(ranked, max(k, answer_passages))
    shown = min(len(passages), answer_passages)
    chunks = [chunk for chunk, _ in passages[:shown]]
    # Of the first passage its best sentences by overlap; of the next ones, fewer (see above).
    scored = score_sentences(
        question, qvec, chunks, embedder, lexical, stored, full=min(1, len(chunks))
    )
    first = max(
        range(shown),
        key=lambda i: scored[i].choose[scored[i].best()] - RANK_PENALTY * i,
        default=None,
    )
    best = confidence
    if best is not None and sentence_weight and first is not None:
        best += sentence_weight * scored[first].pick[scored[first].best()]
    if best is not None:  # what users see and the threshold means: 0..1
        best = min(1.0, max(0.0, best / ceiling))
    if best is None or best < threshold or first is None:
        return Answer(question=question, found=False, best_score=best)
    order = [first, *(i for i in range(len(passages)) if i != first)][:k]
    hits: list[Hit] = []
    for rank, i in enumerate(order, 1):
        chunk, score = passages[i]
        start, end = scored[i].shown(scored[i].best()) if rank == 1 else (0, 0)
        hits.append(Hit(chunk, score, rank, start, end))
    return Answer(question=question, found=True, hits=hits, best_score=best)
