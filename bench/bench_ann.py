"""ANN at scale: exact vs HNSW vs IVF on synthetic embeddings, 100k and 1M vectors.

Prints one row per (index, search setting): build time, index bytes per million vectors, the
build's peak extra RSS, recall@10 against exact search, single-query latency (p50 / p95 / mean,
one query per call as the bot asks, faiss on all cores = 2 here), save and load time, size on
disk.

The data imitates sentence embeddings rather than uniform noise (which has no neighbours worth
the name and is unrealistically hard for ANN): a two-level Gaussian mixture (topics -> clusters,
cluster sizes Zipf-like) where each cluster spreads along a few of its own directions (low
intrinsic dimension, as real embeddings have) plus a little isotropic noise, all sharing a common
offset (real embedding spaces are anisotropic), L2-normalised. Queries are perturbed copies of
random data points, so a query's true neighbours sit around one point, as a question sits near
its passage. The similarity statistics printed first let you compare with a real corpus, and `--vectors`
runs the same table on real embeddings (a float32 .npy, last rows held out as queries).

    .venv/bin/python bench/bench_ann.py --sizes 100000
    nohup .venv/bin/python bench/bench_ann.py --sizes 100000,1000000 > ann.log 2>&1 &

HNSW builds are the slow part on 2 cores; `--hnsw-m`, `--ivf-nlist` and `--skip` limit the runs.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from qabot.search import ann

DIM = 384
K = 10


def normalise(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def synthetic(n: int, *, n_queries: int, dim: int = DIM, seed: int = 0):
    """(vectors, queries): clustered, normalised float32 embeddings as described above."""
    rng = np.random.default_rng(seed)
    n_clusters = max(16, n // 1000)
    n_topics = max(4, int(math.sqrt(n_clusters)))
    rank = 6  # directions a cluster spreads along: its intrinsic dimension
    common = normalise(rng.standard_normal((1, dim)).astype(np.float32))
    topics = normalise(rng.standard_normal((n_topics, dim)).astype(np.float32))
    topic_of = rng.integers(0, n_topics, n_clusters)
    own = normalise(rng.standard_normal((n_clusters, dim)).astype(np.float32))
    centres = normalise(0.35 * common + 0.6 * topics[topic_of] + 0.75 * own)
    bases = rng.standard_normal((n_clusters, rank, dim)).astype(np.float32) / math.sqrt(dim)
    spread = rng.uniform(0.5, 1.0, n_clusters).astype(np.float32)
    sizes = 1.0 / np.arange(1, n_clusters + 1) ** 0.7
    cluster = rng.choice(n_clusters, size=n, p=sizes / sizes.sum())

    vectors = np.empty((n, dim), dtype=np.float32)
    step = 50_000
    for start in range(0, n, step):
        c = cluster[start : start + step]
        w = rng.standard_normal((len(c), rank)).astype(np.float32) * spread[c, None]
        x = centres[c] + np.einsum("nr,nrd->nd", w, bases[c])
        x += 0.25 * rng.standard_normal(x.shape).astype(np.float32) / math.sqrt(dim)
        vectors[start : start + step] = normalise(x)

    src = rng.integers(0, n, n_queries)
    c = cluster[src]
    w = rng.standard_normal((n_queries, rank)).astype(np.float32) * 0.35 * spread[c, None]
    q = vectors[src] + np.einsum("nr,nrd->nd", w, bases[c])
    q += 0.25 * rng.standard_normal(q.shape).astype(np.float32) / math.sqrt(dim)
    return vectors, normalise(q)


def real(path: str, n: int, *, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, queries) from a real (rows, dim) embedding .npy: the first n rows are the
    corpus, the last n_queries rows (held out of it) the queries."""
    data = np.load(path, mmap_mode="r")
    n = min(n, len(data) - n_queries)
    vectors = normalise(np.array(data[:n], dtype=np.float32))
    return vectors, normalise(np.array(data[-n_queries:], dtype=np.float32))


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _malloc_trim() -> None:
    """Hand freed memory back to the OS, so the next build's RSS starts from what is live."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def reset_peak_rss() -> bool:
    """Reset the peak-RSS mark (Linux >= 4.0) so the next peak belongs to the next build."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f[f >= 0]) & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def latency_ms(
    index, queries: np.ndarray, *, limit: int, threads: int
) -> tuple[float, float, float]:
    """p50, p95 and mean milliseconds of one-query searches (the bot's case) on `threads`
    OpenMP threads."""
    ann.SINGLE_QUERY_THREADS = threads
    for q in queries[:3]:  # warm up the thread pool
        ann.search(index, q[None, :], k=K)
    times = []
    for q in queries[:limit]:
        t = time.perf_counter()
        ann.search(index, q[None, :], k=K)
        times.append((time.perf_counter() - t) * 1000)
    t = np.array(times)
    return float(np.percentile(t, 50)), float(np.percentile(t, 95)), float(t.mean())


def set_search_param(index, kind: str, value: int) -> None:
    if kind == "hnsw":
        index.hnsw.efSearch = value
    elif kind == "ivf":
        faiss.extract_index_ivf(index).nprobe = value


def header() -> None:
    print(
        f"{'N':>8} {'index':<18} {'search':<13} {'build s':>8} {'MB/1M':>7} {'peakMB':>7} "
        f"{'recall':>7} {'p50 1t':>7} {'p95 1t':>7} {'p50 2t':>7} {'p95 2t':>7} {'save s':>6} "
        f"{'load s':>6} {'disk MB':>8}",
        flush=True,
    )


def run_size(n: int, args: argparse.Namespace) -> None:
    t = time.perf_counter()
    if args.vectors:
        vectors, queries = real(args.vectors, n, n_queries=args.queries)
    else:
        vectors, queries = synthetic(n, n_queries=args.queries)
    n = len(vectors)
    gen_s = time.perf_counter() - t
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    t = time.perf_counter()
    truth_scores, truth = exact.search(queries, K)
    truth_s = time.perf_counter() - t
    pairs = np.random.default_rng(1).integers(0, n, (2000, 2))
    random_cos = np.einsum("nd,nd->n", vectors[pairs[:, 0]], vectors[pairs[:, 1]])
    print(
        f"\n# N={n:,} dim={vectors.shape[1]}: generated in {gen_s:.1f}s, exact top-{K} of "
        f"{len(queries)} queries in {truth_s:.1f}s. cosine: random pair mean "
        f"{random_cos.mean():.2f}, query->top1 {truth_scores[:, 0].mean():.2f}, "
        f"query->top10 {truth_scores[:, K - 1].mean():.2f}, top1-top10 gap "
        f"{(truth_scores[:, 0] - truth_scores[:, K - 1]).mean():.3f}",
        flush=True,
    )
    header()
    del exact
    _malloc_trim()

    configs: list[tuple[str, str, dict, list[int]]] = []
    if "flat" not in args.skip:
        configs.append(("flat", "flat", {}, [0]))
    if "hnsw" not in args.skip:
        for m in args.hnsw_m:
            for efc in args.ef_construction:
                params = {"m": m, "ef_construction": efc, "ef_search": 64}
                configs.append(("hnsw", f"HNSW{m},efC{efc}", params, args.ef_search))
    if "ivf" not in args.skip:
        nlists = args.ivf_nlist or sorted({ann.ivf_nlist(n), 4 * ann.ivf_nlist(n)})
        for nlist in nlists:
            configs.append(("ivf", f"IVF{nlist},Flat", {"nlist": nlist, "nprobe": 1}, args.nprobe))

    for kind, name, params, settings in configs:
        reset_peak_rss()
        base_rss, _ = rss_mb()
        t = time.perf_counter()
        if kind == "flat":
            index = ann.build_index(vectors, kind="flat")
        elif kind == "hnsw":
            index = ann.hnsw_index(vectors, **params)
        else:
            index = ann.ivf_index(vectors, **params)
        build_s = time.perf_counter() - t
        peak_extra = rss_mb()[1] - base_rss
        index_bytes = faiss.serialize_index(index).nbytes
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            path = Path(tmp) / "index.faiss"
            t = time.perf_counter()
            ann.save_index(index, path)
            save_s = time.perf_counter() - t
            disk_mb = path.stat().st_size / 2**20
            t = time.perf_counter()
            ann.load_index(path)
            load_s = time.perf_counter() - t
        for value in settings:
            if kind == "ivf" and value > params["nlist"]:
                continue
            set_search_param(index, kind, value)
            _, found = ann.search(index, queries, k=K)
            recall = recall_at_k(found, truth)
            limit = args.flat_timed if kind == "flat" else args.timed
            p50_1, p95_1, _ = latency_ms(index, queries, limit=limit, threads=1)
            p50_2, p95_2, _ = latency_ms(index, queries, limit=limit, threads=2)
            label = {"flat": "exact", "hnsw": f"efSearch={value}", "ivf": f"nprobe={value}"}
            print(
                f"{n:>8} {name:<18} {label[kind]:<13} {build_s:>8.1f} "
                f"{index_bytes / n * 1e6 / 2**20:>7.0f} {peak_extra:>7.0f} {recall:>7.4f} "
                f"{p50_1:>7.2f} {p95_1:>7.2f} {p50_2:>7.2f} {p95_2:>7.2f} {save_s:>6.2f} {load_s:>6.2f} "
                f"{disk_mb:>8.0f}",
                flush=True,
            )
            if kind == "hnsw" and recall >= 0.995:
                break  # larger beams only cost time
            if kind == "ivf" and recall >= 0.995:
                break
        del index
        _malloc_trim()


def ints(text: str) -> list[int]:
    return [int(float(v)) for v in text.split(",") if v]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=ints, default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000, help="queries for recall")
    parser.add_argument("--timed", type=int, default=300, help="one-query calls timed")
    parser.add_argument("--flat-timed", type=int, default=50, help="timed calls for exact")
    parser.add_argument("--hnsw-m", type=ints, default=[16, 32])
    parser.add_argument("--ef-construction", type=ints, default=[ann.HNSW_EF_CONSTRUCTION])
    parser.add_argument("--ef-search", type=ints, default=[16, 32, 64, 128, 256, 512])
    parser.add_argument("--ivf-nlist", type=ints, default=[], help="default: ~sqrt(N) and 4x")
    parser.add_argument("--nprobe", type=ints, default=[4, 8, 16, 32, 64, 128, 256])
    parser.add_argument("--skip", type=lambda s: s.split(","), default=[], help="flat,hnsw,ivf")
    parser.add_argument("--vectors", help="a real float32 (rows, dim) .npy instead of synthetic")
    parser.add_argument("--tmp", default=None, help="folder for the save/load timing")
    args = parser.parse_args()
    print(
        f"# faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, "
        f"{os.cpu_count()} cpus, numpy {np.__version__}; baseline RSS {rss_mb()[0]:.0f} MB",
        flush=True,
    )
    for n in args.sizes:
        run_size(n, args)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n# process peak RSS over the whole run: {peak:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
