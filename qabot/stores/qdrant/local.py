"""Qdrant's local mode, made fast enough to answer from: qabot's own search structures over the
points of a local collection, held in memory by the one process local mode admits.

Local mode is Qdrant's API run in Python: it scores a sparse query with a Python loop over every
point (117 ms at 3k passages, seconds at 100k) and a dense query with a full sort and a Python
object per point (63 ms p50 at 100k, bench/RESULTS-qdrant.md). `LocalSearch` answers both from
the same stored vectors: BM25 from postings (numpy, as qabot/search/lexical.py scores) and the dense
search from an exact FAISS index (inner product on the L2-normalised vectors = cosine, as the
collection's DOT distance). Both are read from the points once per process and kept current by
the builds of this process (the only process that can write a local folder). A server answers
with its own indexes instead.
"""

from __future__ import annotations

import numpy as np

from qabot.stores.qdrant.names import DENSE, SPARSE


class LocalSearch:
    """The dense and BM25 search over one local collection's chunk points (ids are point ids,
    never reused: a retired id just goes dark)."""

    def __init__(self) -> None:
        self.postings = Postings()
        self.dense = None  # a faiss IndexIDMap2 over an exact inner-product index

    @classmethod
    def read(cls, client, collection: str) -> LocalSearch:
        search = cls()
        offset = None
        while True:
            records, offset = client.scroll(
                collection,
                limit=10_000,
                offset=offset,
                with_payload=False,
                with_vectors=[DENSE, SPARSE],
            )
            # Chunk points only: documents and the manifest have UUIDs and no vectors.
            chunks = [r for r in records if isinstance(r.id, int) and r.vector]
            search.add(
                [r.id for r in chunks],
                [r.vector[DENSE] for r in chunks],
                [r.vector.get(SPARSE) for r in chunks],
            )
            if offset is None:
                return search

    def add(self, ids: list[int], dense: list, sparse: list) -> None:
        if not ids:
            return
        import faiss

        x = np.ascontiguousarray(np.asarray(dense, dtype=np.float32))
        if self.dense is None:
            self.dense = faiss.IndexIDMap2(faiss.IndexFlatIP(x.shape[1]))
        self.dense.add_with_ids(x, np.asarray(ids, dtype=np.int64))
        self.postings.add(ids, sparse)

    def retire(self, ids: list[int]) -> None:
        if ids and self.dense is not None:
            self.dense.remove_ids(np.asarray(ids, dtype=np.int64))
        self.postings.retire(ids)

    def dense_top(self, qvec: np.ndarray, k: int) -> list[tuple[int, float]]:
        from qabot.search import ann

        if self.dense is None or self.dense.ntotal == 0:
            return []
        scores, ids = ann.search(self.dense, qvec.reshape(1, -1), k=min(k, self.dense.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


class Postings:
    """BM25 postings held in memory for local mode: segments of (term -> chunk point ids and
    tf parts) in CSC layout, one per build of this process plus the one read at start, and a
    mask of the live point ids (ids are never reused, so a retired id just goes dark). A query
    is LexicalIndex.scores: one multiply-add per posting of the question's terms."""

    MAX_SEGMENTS = 8

    def __init__(self) -> None:
        self.segments: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.alive = np.zeros(0, dtype=bool)

    def add(self, ids: list[int], vectors: list) -> None:
        pairs = [(i, v) for i, v in zip(ids, vectors, strict=True) if v is not None]
        if not pairs:
            return
        top = max(i for i, _ in pairs) + 1
        if top > len(self.alive):
            self.alive = np.concatenate([self.alive, np.zeros(top - len(self.alive), bool)])
        self.alive[[i for i, _ in pairs]] = True
        lengths = [len(v.indices) for _, v in pairs]
        rows = np.repeat(np.array([i for i, _ in pairs], dtype=np.int64), lengths)
        terms = np.fromiter((t for _, v in pairs for t in v.indices), np.int64, sum(lengths))
        values = np.fromiter((x for _, v in pairs for x in v.values), np.float32, sum(lengths))
        self.segments.append(_csc(rows, terms, values))
        if len(self.segments) > self.MAX_SEGMENTS:  # a query visits every segment: merge
            merged = [_coo(seg) for seg in self.segments]
            self.segments = [_csc(*(np.concatenate(parts) for parts in zip(*merged, strict=True)))]

    def retire(self, ids: list[int]) -> None:
        ids = [i for i in ids if i < len(self.alive)]
        self.alive[ids] = False

    def top(self, indices: list[int], values: list[float], k: int) -> list[tuple[int, float]]:
        out = np.zeros(len(self.alive), dtype=np.float32)
        for rows, data, indptr in self.segments:
            for t, weight in zip(indices, values, strict=True):
                if t + 1 < len(indptr):
                    lo, hi = indptr[t], indptr[t + 1]
                    np.add.at(out, rows[lo:hi], np.float32(weight) * data[lo:hi])
        out[~self.alive] = 0
        k = min(k, len(out))
        if k == 0:
            return []
        best = np.argpartition(-out, k - 1)[:k]
        best = best[np.argsort(-out[best], kind="stable")]
        return [(int(i), float(out[i])) for i in best if out[i] > 0]


def _csc(rows: np.ndarray, terms: np.ndarray, values: np.ndarray):
    order = np.argsort(terms, kind="stable")
    indptr = np.zeros(int(terms.max()) + 2 if len(terms) else 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=len(indptr) - 1), out=indptr[1:])
    return rows[order], values[order], indptr


def _coo(segment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, values, indptr = segment
    return rows, np.repeat(np.arange(len(indptr) - 1), np.diff(indptr)), values
