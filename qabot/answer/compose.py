"""From ranked chunks to an answer: the answer sentence among the first distinct passages, an
honest "not found"."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qabot.answer.params import DEFAULT_ANSWER, AnswerParams
from qabot.answer.wording import asked_for
from qabot.embedders import Embedder
from qabot.ingest.chunking import sentence_for_embedding, sentence_spans
from qabot.search.lexical import LexicalIndex, analyze
from qabot.search.retrieval import distinct
from qabot.timing import span
from qabot.types import Answer, Chunk, Hit


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


# A line ending in a dash is a dateline ("New York CNN Business —"), never an answer.
_DASHES = ("—", "–", "-")


@dataclass
class ScoredSentences:
    """A chunk's sentences: offsets into chunk.text, each one's own score (cosine of "title:
    sentence" with the question + `AnswerParams.overlap_weight` x its idf share of the
    question's terms) and the score it is picked by (plus the terms only the previous sentence
    holds, at `context_weight`), whether it may be shown as an answer (`answerable`), the score
    it is chosen by (`choose`: `pick` less what the question's wording rules out) and whether it
    is shown from its predecessor on (`from_previous`)."""

    spans: list[tuple[int, int]]
    own: list[float]
    pick: list[float]
    answerable: list[bool]
    choose: list[float]
    from_previous: list[bool]

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
    params: AnswerParams = DEFAULT_ANSWER,
) -> list[ScoredSentences]:
    """The sentences of `chunks` scored (`ScoredSentences`): of the first `full` chunks (all
    chunks when None) the `params.first_sentences` of each that share most of the question's
    terms, and of the rest only the `params.other_sentences` answerable ones that share most
    (the others score -inf: never picked). Sentences without stored vectors are embedded in one
    call."""
    full = len(chunks) if full is None else full
    with span("sentence_split"):
        spans_of = [sentence_spans(chunk) for chunk in chunks]
    texts_of = [
        [chunk.text[s:e] for s, e in spans] for chunk, spans in zip(chunks, spans_of, strict=True)
    ]
    with span("term_overlap"):
        own_of = [[term_overlap(question, t, lexical) for t in texts] for texts in texts_of]
    terms = set(analyze(question))
    asked = asked_for(question)
    answerable_of = []
    for chunk, texts in zip(chunks, texts_of, strict=True):
        title = _plain(chunk.title)
        answerable_of.append(
            [
                len(t.split()) >= params.min_answer_words
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
        wanted += [(c, i) for i in sorted(by_overlap[: params.first_sentences])]
    others = [
        (c, i)
        for c in range(full, len(chunks))
        for i in range(len(spans_of[c]))
        if answerable_of[c][i]
    ]
    others.sort(key=lambda ci: -own_of[ci[0]][ci[1]])  # stable: ties keep passage order
    wanted += others[: params.other_sentences]
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
        with span("embed_sentences"):
            sims = embedder.embed_passages(texts, batch_size=params.embed_batch) @ qvec
        cosine.update(zip(missing, map(float, sims), strict=True))
    out = []
    for c, (spans, texts, own) in enumerate(zip(spans_of, texts_of, own_of, strict=True)):
        scores = [
            cosine[c, i] + params.overlap_weight * own[i] if (c, i) in cosine else -math.inf
            for i in range(len(spans))
        ]
        # the overlap of a sentence with its predecessor minus its own: what only the previous
        # holds
        with span("term_overlap"):
            inherited = [0.0] + [
                term_overlap(question, f"{prev} {text}", lexical) - o
                for prev, text, o in zip(texts[:-1], texts[1:], own[1:], strict=True)
            ]
        pick = [
            s + params.overlap_weight * params.context_weight * i
            for s, i in zip(scores, inherited, strict=True)
        ]
        lacks = [params.quantity_penalty * asked.lacks_quantity(t) for t in texts]
        choose = [p - x for p, x in zip(pick, lacks, strict=True)]
        plain = [s - x for s, x in zip(scores, lacks, strict=True)]  # the choice, context aside
        answerable = answerable_of[c]
        pool = [i for i in range(len(spans)) if answerable[i] and scores[i] > -math.inf]
        from_previous = [
            i > 0
            and answerable[i - 1]
            and (
                # the predecessor's terms decided it: without them another would be chosen
                (
                    params.extend_on_context
                    and inherited[i] > 0
                    and any(plain[j] > plain[i] for j in pool)
                )
                or (params.extend_on_reference and asked.refers_back(texts[i]))
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
    params: AnswerParams = DEFAULT_ANSWER,
) -> Answer:
    """`ranked` is best first, each chunk with its dense cosine. The answer sentence is the best
    among the first `params.answer_passages` distinct passages (a lower one paying
    `params.rank_penalty` per rank), and its passage is the first hit. The confidence decides
    "not found", whatever order fusion put the chunks in: `confidence` (`Retrieval.confidence`, the best dense cosine and
    BM25 match as `Calibration` weighs them) plus `sentence_weight` x the answer sentence's
    score with its context (what it was picked by), divided by `ceiling`
    (`Calibration.ceiling`: what those terms can add up to) into 0..1. `stored` gives a chunk's
    sentence vectors when the index holds them (then no sentence is embedded here)."""
    passages = distinct(ranked, max(k, params.answer_passages))
    shown = min(len(passages), params.answer_passages)
    chunks = [chunk for chunk, _ in passages[:shown]]
    # Of the first passage its best sentences by overlap; of the next ones, fewer (see above).
    with span("score_sentences"):
        scored = score_sentences(
            question,
            qvec,
            chunks,
            embedder,
            lexical,
            stored,
            full=min(1, len(chunks)),
            params=params,
        )
    first = max(
        range(shown),
        key=lambda i: scored[i].choose[scored[i].best()] - params.rank_penalty * i,
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
