"""Retrieval-only sweep of fusion settings over a cached eval index (no answer sentences).

    .venv/bin/python bench/experiments/sweep_fusion.py DATASET [--embedder E] [--questions N]

Embeds each question once, then ranks with every (mode, fusion, weight) and prints document
hit@1/@5 and MRR@10 per setting: the numbers behind the defaults in qabot/search/retrieval.py.

Ran at 5858f14; backs bench/RESULTS-quality.md section 3 (Fusion). qabot ships the linear fusion
only; the RRF variants fuse here the dense and the BM25 rankings the retriever gives in its
"dense" and "lexical" modes (its CANDIDATES from each side, as the linear fusion takes).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qabot import evaluation as ev
from qabot.config import get_settings
from qabot.search.retrieval import CANDIDATES, Retriever

SETTINGS = [("dense", "linear", 0.0), ("lexical", "linear", 1.0)]
SETTINGS += [("hybrid", "rrf", 1.0), ("hybrid", "rrf", 0.5)]
SETTINGS += [("hybrid", "linear", w) for w in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)]
RRF_K = 60  # the usual RRF constant (Cormack et al. 2009)


def rrf(retriever: Retriever, *, question: str, qvec, n: int, weight: float) -> list[int]:
    """The best `n` rows by reciprocal rank fusion of the dense and the BM25 ranking, BM25's
    ranks weighing `weight`."""
    scores: dict[int, float] = {}
    for side, w in (("dense", 1.0), ("lexical", weight)):
        ranked = retriever.retrieve(question=question, qvec=qvec, n=CANDIDATES, mode=side)
        for rank, c in enumerate(ranked.candidates, 1):
            scores[c.row] = scores.get(c.row, 0.0) + w / (RRF_K + rank)
    return [r for r, _ in sorted(scores.items(), key=lambda x: -x[1])[:n]]


def ranked_rows(
    retriever: Retriever, *, question: str, qvec, mode: str, fusion: str, weight: float
) -> list[int]:
    """The best 40 rows for one setting."""
    if fusion == "rrf":
        return rrf(retriever, question=question, qvec=qvec, n=40, weight=weight)
    r = retriever.retrieve(question=question, qvec=qvec, n=40, mode=mode, lexical_weight=weight)
    return [c.row for c in r.candidates]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("dataset", type=Path)
    p.add_argument("--embedder", default="sentence-transformers")
    p.add_argument("--questions", type=int)
    p.add_argument("--chunk-tokens", type=int, default=128)
    p.add_argument("--chunk-overlap", type=int, default=1)
    a = p.parse_args()
    settings = get_settings(
        embedder=a.embedder, chunk_tokens=a.chunk_tokens, chunk_overlap=a.chunk_overlap
    )
    index = ev.prepare_index(a.dataset, settings, cache_dir=ev.default_cache_dir())
    service = index.service
    questions = ev.load_questions(a.dataset, limit=a.questions)
    qvecs = [service.embedder.embed_query(q.question) for q in questions]
    retriever = service.loaded_index().retriever
    print(f"{a.dataset} {service.embedder.model_id} chunks={index.build['chunks']}")
    for mode, fusion, weight in SETTINGS:
        h1 = h5 = rr = 0.0
        for q, qv in zip(questions, qvecs, strict=True):
            rows = ranked_rows(
                retriever, question=q.question, qvec=qv, mode=mode, fusion=fusion, weight=weight
            )
            docs: list[str] = []
            for row in rows:
                d = service.chunk(row).doc_id.split("#", 1)[-1]  # corpus.jsonl#<doc_id>
                if d not in docs:
                    docs.append(d)
            rank = next((i for i, d in enumerate(docs[:10], 1) if d in q.doc_ids), None)
            h1 += rank == 1
            h5 += rank is not None and rank <= 5
            rr += 1 / rank if rank else 0
        n = len(questions)
        print(
            f"  {mode:8s} {fusion:6s} w={weight:.1f}  hit@1 {h1 / n:.3f}  hit@5 {h5 / n:.3f}  MRR@10 {rr / n:.3f}"
        )


if __name__ == "__main__":
    main()
