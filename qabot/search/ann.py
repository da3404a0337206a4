"""The vector index: the one place that creates, fills, saves, loads and searches FAISS indexes.

Vectors are float32 and L2-normalised by the embedder, so inner product is cosine similarity and
every index here uses the inner-product metric. Ids are row numbers in the caller's vector file
(the float32 ``.npy`` it keeps next to the index): vectors are only ever appended, in order.

Three kinds (numbers: ``bench/bench_ann.py``, 2 cores, 384 dims):
- ``flat``: exact brute force. Builds instantly, but a query reads every vector, so it costs
  about 0.1 ms per 1k vectors. "auto" uses it up to AUTO_THRESHOLD.
- ``ivf``: inverted lists over k-means cells; a query scans ``nprobe`` cells. Builds in seconds
  at 100k, about 2 minutes at 1M; "auto" uses it past AUTO_THRESHOLD. Grow it with add_to_index.
- ``hnsw``: a graph. Fast queries, but minutes to build on 2 cores and no removal.

Deletes: no kind removes here: rebuild from the compacted vector file (ids change with the rows).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import faiss
import numpy as np

from qabot.errors import IndexCorruptError, IndexMismatchError
from qabot.fsutil import fsync_dir, fsync_file

KINDS = ("flat", "hnsw", "ivf")
SETTINGS = ("auto", *KINDS)

# Past this many vectors "auto" leaves exact search: one exact query reads every vector, about
# 0.1 ms per 1k vectors on one core (bench: 1.8 ms at 20k, 9-12 ms at 100k), so past ~50k it
# alone exceeds the 5 ms a query may take (100 ms at 1M). IVF wins past it on this machine: it
# builds 4-25x faster than an HNSW of equal recall at 100k, needs 8-15% fewer bytes, and takes
# additions without retraining (see bench/bench_ann.py and add_to_index).
AUTO_THRESHOLD = 50_000
AUTO_KIND = "ivf"

# HNSW: graph degree, build beam, search beam. On clustered data the default build beam (40)
# leaves parts of the graph badly linked (recall@10 stalls at 0.96-0.98 for any search beam at
# 100k); 128 reaches 0.99 at efSearch 128 and 0.996 at 256, at 3x the build time.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
HNSW_EF_SEARCH = 256

# IVF: about IVF_CELLS_PER_SQRT * sqrt(n) cells (a power of two: 2048 at 1M, 512 at 100k).
# k-means trains on at most IVF_TRAIN_POINTS_PER_CELL points per cell: faiss's default 256 makes
# training dominate the build on 2 cores. Bench at 1M, cells scanned -> recall@10, p50 ms:
# 1024 cells: 8 -> 0.981, 1.7; 32 -> 0.993, 8.6.  2048 cells: 32 -> 0.988, 2.7 (the pick).
IVF_CELLS_PER_SQRT = 2.0
IVF_TRAIN_POINTS_PER_CELL = 64
IVF_MIN_POINTS_PER_CELL = 39  # below this k-means is unreliable (faiss warns at the same bound)
# Cells scanned: 1/64 of them (32 of 2048 at 1M), never fewer than 16 (at 100k: 0.992-0.997).
IVF_NPROBE_FRACTION = 1 / 64
IVF_MIN_NPROBE = 16

SINGLE_QUERY_THREADS = 1

REBUILD_HINT = "run `qabot index rebuild`"


def choose_kind(n_vectors: int, *, setting: str = "auto") -> str:
    """The index kind for a corpus of `n_vectors`: the setting itself, or for "auto" exact search
    up to AUTO_THRESHOLD and AUTO_KIND past it."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown index kind {setting!r}; expected one of {', '.join(SETTINGS)}")
    if setting != "auto":
        return setting
    return "flat" if n_vectors <= AUTO_THRESHOLD else AUTO_KIND


def ivf_nlist(n_vectors: int) -> int:
    """Cells for an IVF index over `n_vectors`: about sqrt(n) scaled, a power of two, and never
    fewer than IVF_MIN_POINTS_PER_CELL training points per cell."""
    target = IVF_CELLS_PER_SQRT * math.sqrt(max(n_vectors, 1))
    nlist = 2 ** round(math.log2(max(target, 1)))
    return max(1, min(nlist, n_vectors // IVF_MIN_POINTS_PER_CELL))


def ivf_nprobe(nlist: int) -> int:
    """Cells scanned per query: a fixed fraction of the cells, at least IVF_MIN_NPROBE."""
    return max(1, min(nlist, max(IVF_MIN_NPROBE, round(nlist * IVF_NPROBE_FRACTION))))


def _as_matrix(vectors: np.ndarray, *, d: int | None = None) -> np.ndarray:
    """A C-contiguous float32 (n, d) view or copy, which is what faiss reads."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2:
        raise ValueError(f"expected an (n, d) array of vectors, got shape {vectors.shape}")
    if d is not None and x.shape[1] != d:
        raise IndexMismatchError(
            f"vectors have {x.shape[1]} dimensions but the index has {d}: it was built with "
            f"another model - {REBUILD_HINT}"
        )
    return x


def hnsw_index(vectors: np.ndarray, *, m: int, ef_construction: int, ef_search: int) -> faiss.Index:
    """An HNSW graph over `vectors` with explicit parameters (build_index picks them)."""
    x = _as_matrix(vectors)
    # Inner product on an HNSW graph is only a proper similarity search because the vectors are
    # normalised (then ranking by inner product = ranking by L2 distance).
    index = faiss.IndexHNSWFlat(x.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.hnsw.efSearch = ef_search
    index.add(x)
    return index


def ivf_index(vectors: np.ndarray, *, nlist: int, nprobe: int) -> faiss.Index:
    """An IVF-Flat index over `vectors`, trained on (a sample of) them (build_index picks the
    parameters)."""
    x = _as_matrix(vectors)
    if len(x) < nlist:
        raise ValueError(f"cannot train {nlist} IVF cells on {len(x)} vectors; use kind='flat'")
    index = faiss.index_factory(x.shape[1], f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.extract_index_ivf(index)
    ivf.cp.max_points_per_centroid = IVF_TRAIN_POINTS_PER_CELL
    ivf.cp.spherical = True  # centroids on the unit sphere, like the vectors they stand for
    ivf.cp.seed = 1234  # same vectors, same cells
    index.train(x)
    index.add(x)
    ivf.nprobe = nprobe
    return index


def build_index(vectors: np.ndarray, *, kind: str) -> faiss.Index:
    """A new index of `kind` holding `vectors` (ids 0..n-1), with search parameters set for
    recall@10 >= 0.98 of exact. IVF needs vectors to train on: with fewer than
    IVF_MIN_POINTS_PER_CELL of them use "flat" (choose_kind never picks IVF that small)."""
    x = _as_matrix(vectors)
    if kind == "flat":
        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x)
        return index
    if kind == "hnsw":
        return hnsw_index(
            x, m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION, ef_search=HNSW_EF_SEARCH
        )
    if kind == "ivf":
        if len(x) < IVF_MIN_POINTS_PER_CELL:
            raise ValueError(
                f"an IVF index needs at least {IVF_MIN_POINTS_PER_CELL} vectors to train on, "
                f"got {len(x)}; use kind='flat'"
            )
        nlist = ivf_nlist(len(x))
        return ivf_index(x, nlist=nlist, nprobe=ivf_nprobe(nlist))
    raise ValueError(f"unknown index kind {kind!r}; expected one of {', '.join(KINDS)}")


def add_to_index(index: faiss.Index, vectors: np.ndarray) -> None:
    """Append `vectors` to `index`; they get the next ids (index.ntotal onwards), matching rows
    appended to the caller's vector file. Cheap for every kind (no retraining, no rebuild).

    IVF keeps the cells it was trained with, so after much growth the cells get crowded and
    queries slow down: rebuild when needs_rebuild() says so. Nothing here removes vectors; on a
    delete the caller rebuilds from its compacted vector file (ids change).
    """
    index.add(_as_matrix(vectors, d=index.d))


def copy_index(index: faiss.Index) -> faiss.Index:
    """A copy of `index` to append to while the original keeps serving searches."""
    return faiss.clone_index(index)


def needs_rebuild(index: faiss.Index, *, setting: str = "auto") -> bool:
    """True when the index no longer fits its size: the kind "auto" would pick has changed, or
    an IVF index has grown to 4x or shrunk to 1/4 of the cells its size calls for."""
    kind = describe(index)["kind"]
    if kind != choose_kind(index.ntotal, setting=setting):
        return True
    if kind == "ivf":
        ratio = faiss.extract_index_ivf(index).nlist / ivf_nlist(index.ntotal)
        return not 0.25 < ratio < 4
    return False


def search(index: faiss.Index, queries: np.ndarray, *, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best ids and their cosine scores for each query: two (n_queries, k) arrays, best
    first. Where fewer than k vectors qualify (a small index, or IVF cells holding fewer), the
    row is padded with id -1 and score -inf: callers skip ids < 0."""
    q = _as_matrix(queries, d=index.d)
    k = max(1, k)
    if len(q) == 1:
        # One query (the bot's case) gains nothing from a second OpenMP thread and loses much
        # when the cores are busy (embedding, other processes): measured 12 ms on 1 thread vs
        # 53 ms on 2 for exact search over 100k vectors. The setting is per calling thread.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(SINGLE_QUERY_THREADS)
        try:
            scores, ids = index.search(q, k)
        finally:
            faiss.omp_set_num_threads(threads)
    else:
        scores, ids = index.search(q, k)
    scores[ids < 0] = -np.inf
    return scores, ids


class Searcher:
    """Top-k cosine search over one index version's vectors: through its stored approximate
    index, or exactly through a flat index built in memory (exact search is never stored: it is
    rebuilt from the vectors at load)."""

    def __init__(self, vectors: np.ndarray, *, index: faiss.Index | None = None) -> None:
        if index is None:
            # Vectors are L2-normalised, so inner product is cosine similarity.
            index = faiss.IndexFlatIP(vectors.shape[1])
            if len(vectors):
                index.add(vectors)
        self.index = index

    def top(self, qvec: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The (row, cosine) of the k rows nearest to one query vector, best first."""
        n = min(k, self.index.ntotal)
        if n == 0:
            return []
        scores, ids = search(self.index, qvec.reshape(1, -1), k=n)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def save_index(index: faiss.Index, path: Path) -> None:
    """Write `index` to `path` atomically: a reader sees the old file or the new one, never half
    of one (a temp file in the same folder, flushed to disk, then renamed over `path`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _write(index, tmp)
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent, best_effort=True)  # make the rename itself durable


def _write(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_index(path: Path) -> faiss.Index:
    """Read an index written by save_index; a missing, truncated or garbage file raises
    IndexCorruptError naming the fix."""
    path = Path(path)
    if not path.is_file():
        raise IndexCorruptError(f"The vector index {path} is missing - {REBUILD_HINT}")
    try:
        index = faiss.read_index(str(path))
    except (RuntimeError, MemoryError) as e:  # faiss reports a bad file as RuntimeError
        # faiss's own message is a C++ signature; it stays in the chained exception for a log.
        raise IndexCorruptError(
            f"The vector index {path} is damaged (truncated or not an index file) - {REBUILD_HINT}"
        ) from e
    if index.metric_type != faiss.METRIC_INNER_PRODUCT or describe(index)["kind"] not in KINDS:
        raise IndexCorruptError(f"The vector index {path} is not one qabot writes - {REBUILD_HINT}")
    return index


def describe(index: faiss.Index) -> dict:
    """Kind, size and parameters of `index`, for the index manifest."""
    info: dict = {"dim": int(index.d), "ntotal": int(index.ntotal), "metric": "inner_product"}
    if isinstance(index, faiss.IndexHNSW):
        hnsw = index.hnsw
        m = int(hnsw.nb_neighbors(1))  # level 0 holds 2*M links, upper levels M
        info |= {
            "kind": "hnsw",
            "M": m,
            "efConstruction": int(hnsw.efConstruction),
            "efSearch": int(hnsw.efSearch),
        }
    elif isinstance(index, faiss.IndexIVF):
        info |= {"kind": "ivf", "nlist": int(index.nlist), "nprobe": int(index.nprobe)}
    elif isinstance(index, faiss.IndexFlat):
        info |= {"kind": "flat"}
    else:
        info |= {"kind": type(index).__name__}
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        info["metric"] = f"faiss metric {index.metric_type}"
    return info
