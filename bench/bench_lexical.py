"""BM25 at N chunks: qabot's LexicalIndex against bm25s over the same chunks (what qabot used
before it stored raw term counts): build time, ms per search, and whether both rank the same.

The chunks are those of a cached bench index (see benchlib.cached_index). bm25s is searched the
way qabot searched it (analysed distinct terms -> get_scores -> top k); the two searches of each
question run back to back, so both see the same machine load.

    .venv/bin/python bench/bench_lexical.py --chunks 100000
"""

from __future__ import annotations

import argparse
import statistics
import time

import benchlib
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=None, help="default: all of xquad_en")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("-k", type=int, default=20)
    args = ap.parse_args()

    benchlib.header(f"BM25: qabot LexicalIndex vs bm25s at {args.chunks} chunks")
    import bm25s

    from qabot.search.lexical import LexicalIndex, analyze
    from qabot.stores.files.assemble import lexical_texts
    from qabot.stores.files.folders import VersionFolders

    base = benchlib.cached_index(
        corpus=benchlib.DEFAULT_CORPUS, chunks=args.chunks, embedder_name="hashing"
    )
    data = VersionFolders(base / "index").load()
    texts = lexical_texts(data.docs, data.chunks)
    questions = benchlib.read_questions(benchlib.DEFAULT_CORPUS, limit=args.questions)

    import qabot.search.lexical

    qabot.search.lexical._TERMS.clear()  # each build analyses with a cold word memo
    start = time.perf_counter()
    ours = LexicalIndex.build(texts)
    print(f"LexicalIndex build: {time.perf_counter() - start:.1f} s ({benchlib.load_avg()})")
    qabot.search.lexical._TERMS.clear()
    start = time.perf_counter()
    theirs = bm25s.BM25()
    theirs.index([analyze(t) for t in texts], show_progress=False)
    print(f"bm25s build:        {time.perf_counter() - start:.1f} s ({benchlib.load_avg()})")

    def bm25s_search(question: str) -> tuple[np.ndarray, np.ndarray]:
        terms = dict.fromkeys(analyze(question))
        ids = [theirs.vocab_dict[t] for t in terms if t in theirs.vocab_dict]
        if not ids:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = theirs.get_scores(ids)
        k = min(args.k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return top, scores[top]

    ours.search(questions[0], args.k)  # the first search computes the per-version tf parts
    t_ours, t_theirs, same = [], [], 0
    for rep in range(args.repeat):
        for q in questions:
            t0 = time.perf_counter()
            a_rows, a_scores = bm25s_search(q)
            t1 = time.perf_counter()
            b = ours.search(q, args.k)
            t2 = time.perf_counter()
            t_theirs.append(t1 - t0)
            t_ours.append(t2 - t1)
            if rep == 0:
                same += a_rows[:10].tolist() == b.rows[:10].tolist() and np.allclose(
                    a_scores, b.scores, rtol=1e-5
                )
    for name, times in (("bm25s", t_theirs), ("LexicalIndex", t_ours)):
        ms = sorted(1000 * t for t in times)
        print(
            f"{name:<13} ms per search: mean {statistics.mean(ms):.3f}  "
            f"p50 {benchlib.percentile(ms, 50):.3f}  p95 {benchlib.percentile(ms, 95):.3f}"
        )
    print(f"same top-10 and scores (rtol 1e-5): {same}/{len(questions)} ({benchlib.load_avg()})")


if __name__ == "__main__":
    main()
