# ruff: noqa: B023, E741  (an experiment: each lambda runs inside its own loop turn)
"""Retrieval variants on a cached `qabot eval` index, news and Wikipedia alike (issue 10).

Usage: .venv/bin/python bench/experiments/sweep_news.py DATASET [DATASET ...]
(XDG_CACHE_HOME as for `qabot eval`; the first run of a dataset builds its eval index.)

For every question it scores *all* chunks exactly (dense cosine, BM25) once, then ranks them
by each variant and reports document hit@1/10, MRR@10 and whether a gold answer is in the
first passage. Variants: the candidate set, the fusion (linear with min-max dense, RRF),
document-level evidence (a document's second-best passage, BM25 over the whole article).

Ran at afd18b8 (`--prf` at 30e3e10); backs bench/RESULTS-quality.md section 7.2 (Retrieval
variants).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from qabot.config import get_settings
from qabot.evaluation import contains_answer, default_cache_dir, load_questions, prepare_index
from qabot.search.lexical import LexicalIndex, analyze


def rank_docs(doc_of: np.ndarray, order: np.ndarray, limit: int = 10) -> list[int]:
    seen: list[int] = []
    for r in order:
        d = int(doc_of[r])
        if d not in seen:
            seen.append(d)
            if len(seen) == limit:
                break
    return seen


def main() -> None:
    settings = get_settings()
    out = {}
    for dataset in map(Path, [a for a in sys.argv[1:] if not a.startswith("--")]):
        index = prepare_index(dataset, settings, cache_dir=default_cache_dir(), progress=True)
        svc = index.service
        loaded = svc.loaded_index()
        data = loaded.data
        lex: LexicalIndex = loaded.retriever.lexical
        vectors = data.vectors
        doc_of = data.chunks["doc"].astype(np.int64)
        n_docs = len(data.docs)
        doc_ids = [d.doc_id.split("#", 1)[-1] for d in data.docs]
        doc_lex = LexicalIndex.build([f"{d.title}\n{d.text}" for d in data.docs])
        title_lex = LexicalIndex.build([d.title for d in data.docs])
        questions = load_questions(dataset)
        rows = []
        for q in questions:
            qvec = svc.query_embedder.embed_query(q.question)
            dense = vectors @ qvec
            terms = list(dict.fromkeys(analyze(q.question)))
            res = lex.search(q.question, 1)
            max_score = res.max_score or 1.0
            bm = lex.scores(terms) / max_score
            dres = doc_lex.search(q.question, 1)
            dbm = doc_lex.scores(terms) / (dres.max_score or 1.0)
            tbm = title_lex.scores(terms) / (dres.max_score or 1.0)
            gold = {doc_ids.index(g) for g in q.doc_ids if g in doc_ids}
            rows.append((q, dense, bm, dbm, tbm, gold, terms))
        print(f"{dataset.name}: {len(rows)} questions, {len(vectors)} chunks, {n_docs} docs")

        def run(name, fn):
            h1 = h10 = rr = ps = 0
            for q, dense, bm, dbm, tbm, gold, terms in rows:
                prf.q_terms = terms
                order = fn(dense, bm, dbm, tbm)
                ranked = rank_docs(doc_of, order)
                rank = next((i for i, d in enumerate(ranked, 1) if d in gold), None)
                h1 += rank == 1
                h10 += rank is not None
                rr += 1 / rank if rank else 0
                ps += contains_answer(data.chunk(int(order[0])).text, q.answers)
            n = len(rows)
            res = (h1 / n, h10 / n, rr / n, ps / n)
            out[f"{dataset.name}:{name}"] = res
            print(
                f"  {name:48s} hit@1 {res[0]:.3f} hit@10 {res[1]:.3f} mrr {res[2]:.3f} "
                f"passage {res[3]:.3f}",
                flush=True,
            )

        def candidates(dense, bm, c):
            d_top = np.argpartition(-dense, c)[:c]
            l_top = np.argpartition(-bm, c)[:c]
            l_top = l_top[bm[l_top] > 0]
            return np.unique(np.concatenate([d_top, l_top]))

        def fused(dense, bm, *, c=50, w=0.5, fusion="linear", norm="minmax"):
            cand = candidates(dense, bm, c)
            d = dense[cand]
            if fusion == "rrf":
                dr = np.empty(len(cand))
                dr[np.argsort(-d)] = np.arange(1, len(cand) + 1)
                lr = np.empty(len(cand))
                lr[np.argsort(-bm[cand])] = np.arange(1, len(cand) + 1)
                s = 1 / (60 + dr) + w / (60 + lr) * (bm[cand] > 0)
                return cand, s
            if norm == "minmax":
                d = (d - d.min()) / (d.max() - d.min() or 1)
                l = np.minimum(bm[cand], 1.0)
            elif norm == "minmax2":
                d = (d - d.min()) / (d.max() - d.min() or 1)
                b = bm[cand]
                l = (b - b.min()) / (b.max() - b.min() or 1)
            elif norm == "raw":
                l = np.minimum(bm[cand], 1.0)
            return cand, (1 - w) * d + w * l

        def doc_level(cand, s, dbm, tbm, *, second=0.0, whole=0.0, title=0.0, top=False):
            docs = doc_of[cand]
            order = np.argsort(-s)
            best = np.full(n_docs, -np.inf)
            sec = np.zeros(n_docs)
            cnt = np.zeros(n_docs, dtype=int)
            for i in order:
                d = docs[i]
                if cnt[d] == 0:
                    best[d] = s[i]
                elif cnt[d] == 1:
                    sec[d] = s[i]
                cnt[d] += 1
            lo = s.min()
            bonus = second * np.where(cnt > 1, sec - lo, 0.0)
            dd = np.minimum(dbm, 1.0)
            if top:  # scale doc BM25 over the candidate docs
                present = cnt > 0
                m = dd[present].max() or 1
                dd = dd / m
            bonus = bonus + whole * dd + title * np.minimum(tbm, 1.0)
            final = s + bonus[docs]
            return cand[np.argsort(-final, kind="stable")]

        def chunk_only(fn):
            return lambda dense, bm, dbm, tbm: (
                lambda c_s: c_s[0][np.argsort(-c_s[1], kind="stable")]
            )(fn(dense, bm))

        def prf(dense, bm, *, top=3, n_terms=10, beta=0.3):
            """Pseudo-relevance feedback (RM3-like, on BM25): the first ranking's `top` passages
            give their `n_terms` highest tf x idf terms the question lacks; BM25 over those is
            added to the lexical side at `beta`, then fused again."""
            cand, sc = fused(dense, bm)
            first = cand[np.argsort(-sc)[:top]]
            q_terms = set(prf.q_terms)
            weights: dict[str, float] = {}
            for r in first:
                for t in analyze(data.chunk(int(r)).text):
                    if t not in q_terms:
                        weights[t] = weights.get(t, 0.0) + lex.term_idf(t)
            terms = sorted(weights, key=lambda t: -weights[t])[:n_terms]
            if not terms:
                return cand, sc
            exp = lex.scores(terms)
            exp = exp / (max(float(exp.max()), 1e-9))
            return fused(dense, bm + beta * exp)

        if "--prf" in sys.argv:
            for top, n_terms, beta in ((3, 10, 0.2), (3, 10, 0.4), (5, 20, 0.3), (1, 10, 0.3)):

                def fn(dense, bm, dbm, tbm, top=top, n_terms=n_terms, beta=beta):
                    c, sc = prf(dense, bm, top=top, n_terms=n_terms, beta=beta)
                    return c[np.argsort(-sc, kind="stable")]

                run(f"PRF top {top}, {n_terms} terms, beta {beta}", fn)
            continue
        run("dense", lambda dense, bm, dbm, tbm: np.argsort(-dense)[:200])
        run("bm25", lambda dense, bm, dbm, tbm: np.argsort(-bm)[:200])
        for c in (50, 100, 200):
            run(f"linear w.5 c{c} (current c50)", chunk_only(lambda d, b: fused(d, b, c=c)))
        for w in (0.3, 0.4, 0.6, 0.7):
            run(f"linear w{w} c50", chunk_only(lambda d, b: fused(d, b, w=w)))
        run("linear minmax both w.5", chunk_only(lambda d, b: fused(d, b, norm="minmax2")))
        run("linear raw cos w.5", chunk_only(lambda d, b: fused(d, b, norm="raw")))
        for w in (0.5, 1.0):
            run(f"rrf w{w} c100", chunk_only(lambda d, b: fused(d, b, c=100, fusion="rrf", w=w)))
        for c in (50, 100):
            for sec in (0.1, 0.2, 0.3, 0.5):
                run(
                    f"linear c{c} + second {sec}",
                    lambda d, b, dbm, tbm: doc_level(*fused(d, b, c=c), dbm, tbm, second=sec),
                )
            for wh in (0.1, 0.2, 0.3, 0.5):
                run(
                    f"linear c{c} + whole-doc bm25 {wh}",
                    lambda d, b, dbm, tbm: doc_level(*fused(d, b, c=c), dbm, tbm, whole=wh),
                )
            for wh in (0.1, 0.2, 0.3):
                run(
                    f"linear c{c} + whole-doc bm25/top {wh}",
                    lambda d, b, dbm, tbm: doc_level(
                        *fused(d, b, c=c), dbm, tbm, whole=wh, top=True
                    ),
                )
            for t in (0.1, 0.2):
                run(
                    f"linear c{c} + title bm25 {t}",
                    lambda d, b, dbm, tbm: doc_level(*fused(d, b, c=c), dbm, tbm, title=t),
                )
            for sec, wh in ((0.2, 0.2), (0.3, 0.2), (0.2, 0.3)):
                run(
                    f"linear c{c} + second {sec} + whole {wh}",
                    lambda d, b, dbm, tbm: doc_level(
                        *fused(d, b, c=c), dbm, tbm, second=sec, whole=wh
                    ),
                )
    if "--json" in sys.argv:
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
