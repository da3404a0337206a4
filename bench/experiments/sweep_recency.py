"""Recency on news: ranking alone, every chunk scored exactly, with and without the bonus for
a document's nearness to the question's date (issue 10; bench/RESULTS-quality.md 7.8).

Usage: .venv/bin/python bench/experiments/sweep_recency.py DATASET
(XDG_CACHE_HOME as for `qabot eval`; the dataset's questions need a "date", its documents one
too, as the news dev set's have.) Prints document hit@1/5/10 and the answer in the first passage
for each half-life x weight x candidates-per-side, beside the ranking without recency.

Ran at 15b6ae8; backs bench/RESULTS-quality.md section 7.8 (Recency).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from qabot.config import get_settings
from qabot.evaluation import contains_answer, default_cache_dir, load_questions, prepare_index
from qabot.search.lexical import analyze
from qabot.search.retrieval import Recency


def main() -> None:
    dataset = Path(sys.argv[1])
    index = prepare_index(dataset, get_settings(), cache_dir=default_cache_dir(), progress=True)
    loaded = index.service.loaded_index()
    data, lex = loaded.data, loaded.retriever.lexical
    doc_of = data.chunks["doc"].astype(np.int64)
    days = data.chunk_days()
    if days is None:
        sys.exit(f"{dataset}: no document has a date")
    doc_ids = [d.doc_id.split("#", 1)[-1] for d in data.docs]
    rows = []
    for q in load_questions(dataset):
        if q.date is None:
            continue
        qvec = index.service.query_embedder.embed_query(q.question)
        terms = list(dict.fromkeys(analyze(q.question)))
        bm = lex.scores(terms) / (lex.search(q.question, 1).max_score or 1.0)
        gold = {doc_ids.index(g) for g in q.doc_ids if g in doc_ids}
        rows.append((q, data.vectors @ qvec, bm, gold, q.date.toordinal()))
    print(f"{dataset.name}: {len(rows)} dated questions, {len(data.vectors)} chunks")

    def fused(dense, bm, c):
        # As `Retriever.retrieve`: the best c of each side (BM25's with a match), min-max cosines.
        lexical = np.argsort(-bm)[:c]
        cand = np.unique(np.concatenate([np.argsort(-dense)[:c], lexical[bm[lexical] > 0]]))
        d = dense[cand]
        d = (d - d.min()) / (d.max() - d.min() or 1)
        return cand, 0.5 * d + 0.5 * np.minimum(bm[cand], 1.0)

    def run(name, recency, c):
        hits = {1: 0, 5: 0, 10: 0}
        passage = 0
        for q, dense, bm, gold, as_of in rows:
            cand, s = fused(dense, bm, c)
            if recency.active:
                s = s + recency.bonus(days[cand], as_of)
            order = cand[np.argsort(-s, kind="stable")]
            ranked: list[int] = []
            for r in order:
                if int(doc_of[r]) not in ranked:
                    ranked.append(int(doc_of[r]))
                if len(ranked) == 10:
                    break
            rank = next((i for i, d in enumerate(ranked, 1) if d in gold), None)
            for h in hits:
                hits[h] += rank is not None and rank <= h
            passage += contains_answer(data.chunk(int(order[0])).text, q.answers)
        n = len(rows)
        print(
            f"  {name:36s} hit@1 {hits[1] / n:.3f} @5 {hits[5] / n:.3f} @10 {hits[10] / n:.3f} "
            f"passage {passage / n:.3f}",
            flush=True,
        )

    run("no recency, 50 candidates a side", Recency(weight=0.0), 50)
    for half_life in (3, 7, 14, 30, 90):
        for weight in (0.05, 0.1, 0.2, 0.3):
            for c in (50, 200):
                run(
                    f"half-life {half_life} d, weight {weight}, {c}",
                    Recency(half_life_days=half_life, weight=weight),
                    c,
                )


if __name__ == "__main__":
    main()
