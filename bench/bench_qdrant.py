"""The index on Qdrant against FAISS, in one run: build time, warm question latency, and an
incremental add of one document, at about 100k chunks.

Both stores index the same generated corpus (benchlib.generate_corpus: sentences of xquad_en
shuffled into ~40k documents) with the hashing embedder (no model: the stores are what is
measured, and embedding 100k chunks with MiniLM would take an hour on 2 cores). Qdrant runs in
its local mode (`QdrantClient(path=...)`, no server: there is none on the bench machines) unless
QABOT_QDRANT_URL is set.

Per store: the full build (seconds), then warm questions (xquad_en's, asked after one warm-up
question): retrieval alone (`QAService.retrieve` with the question vector given: the hybrid
search and fusion, what a store changes) and the whole `ask` (embedding, retrieval, the answer
sentence), p50 and p95 in ms; for Qdrant also its dense and sparse queries alone. Local mode answers
with its own queries (Python loops over every point): for a meaningful Qdrant figure past a few
thousand passages, point QABOT_QDRANT_URL at a server. Then one new
document (~3 chunks) added with `QAService.build`, `--adds` times: total seconds, of which
embedding (the hashing embedder's is ~0).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_qdrant.py
    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_qdrant.py --chunks 20000 --questions 50
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import benchlib


def timed_ms(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(values: list[float]) -> str:
    return f"p50 {benchlib.percentile(values, 50):8.1f}  p95 {benchlib.percentile(values, 95):8.1f}"


def questions_timed(store: str, svc, emb, questions: list[str]) -> None:
    svc.ask("warm up")
    qvecs = [(q, emb.embed_query(q)) for q in questions]
    retrieval = timed_ms(lambda qv: svc.retrieve(qv[0], qv[1], n=14), qvecs)
    print(f"{store:6} retrieval ms  {summary(retrieval)}", flush=True)
    if store == "qdrant":
        data = svc.loaded_index()
        dense = timed_ms(lambda qv: data.dense_search(qv[1], 50), qvecs)
        sparse = timed_ms(lambda qv: data.lexical.search(qv[0], 50), qvecs)
        print(f"{store:6}   dense query {summary(dense)}")
        print(f"{store:6}   BM25 query  {summary(sparse)}", flush=True)
    asks = timed_ms(svc.ask, questions)
    print(f"{store:6} ask ms        {summary(asks)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=benchlib.DEFAULT_CORPUS)
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=30)
    ap.add_argument("--adds", type=int, default=3)
    ap.add_argument("--stores", default="faiss,qdrant")
    args = ap.parse_args()

    benchlib.header(f"Qdrant vs FAISS at ~{args.chunks} chunks (hashing embedder)")
    from qabot.service import QAService

    emb = benchlib.make_embedder("hashing")
    source = benchlib.read_corpus(args.corpus)
    docs = benchlib.generate_corpus(
        source,
        chunks=args.chunks,
        count_tokens=emb.count_tokens,
        max_tokens=min(128, emb.max_tokens),
        model_max_tokens=emb.max_tokens,
    )
    questions = benchlib.read_questions(args.corpus, limit=args.questions)
    pool = benchlib._sentence_pool(source)
    url = os.environ.get("QABOT_QDRANT_URL", "")
    print(f"# {len(docs)} documents; {len(questions)} questions; Qdrant: {url or 'local mode'}")

    with tempfile.TemporaryDirectory(prefix="qabot-bench-qdrant-") as tmp:
        for store in args.stores.split(","):
            work = Path(tmp) / store
            benchlib.write_corpus(docs, work / "seeds" / "corpus.jsonl")
            extra = {"vector_store": store}
            if store == "qdrant":
                extra |= {"qdrant_url": url, "qdrant_collection": "qabot-bench"}
            settings = benchlib.settings_for(work, embedder="hashing", **extra)
            svc = QAService(settings, embedder=emb)
            t = time.perf_counter()
            report = svc.build()
            build_s = time.perf_counter() - t
            print(
                f"{store:6} build: {report.chunks_total} chunks of {report.documents_total} "
                f"documents in {build_s:.1f} s ({benchlib.load_avg()})",
                flush=True,
            )
            questions_timed(store, svc, emb, questions)
            totals = []
            for i in range(args.adds):
                doc = benchlib._make_doc(random.Random(10_000 + i), pool, 90_000 + i)
                (work / "extra").mkdir(exist_ok=True)
                path = work / "extra" / f"new{i}.txt"
                path.write_text(f"{doc['title']}\n\n{doc['text']}\n", encoding="utf-8")
                t = time.perf_counter()
                rep = svc.add_files([path])
                totals.append(time.perf_counter() - t)
                assert rep.added, rep
            print(
                f"{store:6} add one document: median {statistics.median(totals):.2f} s "
                f"(each: {', '.join(f'{x:.2f}' for x in totals)}; "
                f"{rep.chunks_embedded} chunks embedded by the hashing embedder)",
                flush=True,
            )
            if store == "qdrant" and not url:
                from qabot.stores.qdrant.index import close_local

                # As a new process (a bot starting): local mode reads every point from
                # SQLite, then the first question reads the BM25 postings.
                close_local(str(settings.qdrant_local_path))
                t = time.perf_counter()
                fresh = QAService(settings, embedder=emb)
                fresh.ask(questions[0])
                print(
                    f"{store:6} open + first question (a new process): "
                    f"{time.perf_counter() - t:.1f} s",
                    flush=True,
                )
                close_local(str(settings.qdrant_local_path))


if __name__ == "__main__":
    main()
