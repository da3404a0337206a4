"""Searching the Qdrant index: BM25 as sparse vectors of qabot's own analyser, and one live
generation as service.py reads a loaded index (`QdrantView`: rows are chunk point ids).

The sparse vector of a chunk holds, per term id, BM25's tf part tf / (tf + k1 (1 - b + b
dl/avgdl)); a question's holds each term's idf. Their dot product is the BM25 score
qabot/search/lexical.py computes (same analyser, same formula), so fusion sees the same numbers on
either store. The vocabulary (term -> id) and each term's document frequency are in the
manifest point, so the idf, the question's coverage and the score scale are known before
querying.
"""

from __future__ import annotations

import logging

import numpy as np

from qabot.errors import IndexCorruptError
from qabot.search.lexical import K1, LexicalResult, _idf, analyze
from qabot.search.retrieval import Retriever
from qabot.stores.base import IndexView
from qabot.stores.qdrant.index import PAYLOAD_CACHE, Current, QdrantIndex, doc_point_id
from qabot.stores.qdrant.names import DENSE, SPARSE
from qabot.types import Chunk, Document

log = logging.getLogger("qabot")


# -- BM25 as sparse vectors -------------------------------------------------------------------
class Vocabulary:
    """Term ids (the sparse vectors' indices) and each term's document frequency, as the
    manifest stores them. A term whose chunks are all gone keeps its id with frequency 0."""

    def __init__(self, terms: list[str], df: list[int]) -> None:
        self.terms = list(terms)
        self.df = np.asarray(df, dtype=np.int64)
        self.id_of = {t: i for i, t in enumerate(self.terms)}

    def ids_for(self, terms: set[str]) -> None:
        """Give new terms the next ids."""
        new = sorted(t for t in terms if t not in self.id_of)
        for t in new:
            self.id_of[t] = len(self.terms)
            self.terms.append(t)
        if new:
            self.df = np.concatenate([self.df, np.zeros(len(new), dtype=np.int64)])

    def as_manifest(self) -> dict:
        return {"terms": self.terms, "df": self.df.tolist()}


def chunk_terms(text: str) -> tuple[dict[str, int], int]:
    """A chunk's term counts and its length in terms (LexicalIndex's analysis)."""
    terms = analyze(text)
    counts: dict[str, int] = {}
    for t in terms:
        counts[t] = counts.get(t, 0) + 1
    return counts, len(terms)


def sparse_vector(counts: dict[str, int], length: int, *, vocab: Vocabulary, avgdl: float):
    """BM25's tf part per term, tf / (tf + k1 (1 - b + b dl/avgdl)), as LexicalIndex computes
    it at query time: the query's weights are the idfs, so the dot product is the BM25 score."""
    from qdrant_client import models as m

    from qabot.search.lexical import B

    norm = K1 * (1 - B + B * length / avgdl)
    pairs = sorted((vocab.id_of[t], c / (c + norm)) for t, c in counts.items())
    return m.SparseVector(indices=[i for i, _ in pairs], values=[float(v) for _, v in pairs])


class QdrantLexical:
    """BM25 over the "bm25" sparse vectors, with LexicalIndex's `search` and `term_idf`."""

    def __init__(self, data: QdrantView, vocab: Vocabulary, n_rows: int) -> None:
        self._data = data
        self.vocab = vocab
        self.n_rows = n_rows
        known = vocab.df > 0
        self._idf = np.where(known, _idf(vocab.df.astype(np.float64), max(n_rows, 1)), 0.0)

    def _unseen_idf(self) -> float:
        return float(_idf(1, max(self.n_rows, 1)))

    def _known(self, term: str) -> int | None:
        t = self.vocab.id_of.get(term)
        return t if t is not None and self.vocab.df[t] > 0 else None

    def term_idf(self, term: str) -> float:
        t = self._known(term)
        return self._unseen_idf() if t is None else float(self._idf[t])

    def search(self, question: str, k: int) -> LexicalResult:
        terms = list(dict.fromkeys(analyze(question)))
        known = [t for t in terms if self._known(t) is not None]
        idf_known = sum(self.term_idf(t) for t in known)
        idf_all = idf_known + self._unseen_idf() * (len(terms) - len(known))
        coverage = idf_known / idf_all if idf_all > 0 else 0.0
        max_score = idf_all / (1 + K1)
        if not known or self.n_rows == 0:
            empty = np.zeros(0, dtype=np.int64)
            return LexicalResult(empty, np.zeros(0, np.float32), coverage, max_score)
        from qdrant_client import models as m

        pairs = sorted((self.vocab.id_of[t], float(np.float32(self.term_idf(t)))) for t in known)
        indices, values = [i for i, _ in pairs], [v for _, v in pairs]
        query = m.SparseVector(indices=indices, values=values)
        hits = self._data.query(query, using=SPARSE, k=k)
        hits = [(r, s) for r, s in hits if s > 0]
        rows = np.array([r for r, _ in hits], dtype=np.int64)
        scores = np.array([s for _, s in hits], dtype=np.float32)
        return LexicalResult(rows, scores, coverage, max_score)


# -- one generation, searched ------------------------------------------------------------------
class QdrantView(IndexView):
    """One generation of a Qdrant index, as questions read it: rows are chunk point ids. Cosines
    of passages only BM25 found come from their stored vectors."""

    def __init__(self, index: QdrantIndex, current: Current, manifest: dict) -> None:
        self.index = index
        self.current = current
        self.collection = current.collection
        self.manifest = manifest
        self.version = current.version
        self.n_chunks = int(manifest["chunks"])
        # doc_id -> [sha256, first id, n, title, date (ISO or "", absent before dates)]
        self.docs: dict[str, list] = manifest["docs"]
        self._days = _doc_days(self.docs)
        self._filter = index.visible(current.gen)
        self._payloads: dict[int, dict] = {}
        lex = manifest["lexical"]
        self.lexical = QdrantLexical(self, Vocabulary(lex["terms"], lex["df"]), self.n_chunks)
        self.retriever = Retriever(
            dense_search=self.dense_search,
            cosines=self.cosines,
            lexical=self.lexical,
            chunk_text=lambda row: self.chunk(row).text,
            chunk_days=self.chunk_days if self.dated else None,
        )

    @property
    def model_id(self) -> str:
        return self.manifest["model_id"]

    def _remember(self, points) -> None:
        if len(self._payloads) > PAYLOAD_CACHE:
            self._payloads.clear()
        for p in points:
            if p.payload is not None:
                self._payloads[int(p.id)] = p.payload

    def query(self, query, *, using: str, k: int) -> list[tuple[int, float]]:
        """(point id, score) of the k best chunk points, best first."""
        with self.index.reading():
            result = self.index.client.query_points(
                self.collection,
                query=query,
                using=using,
                limit=k,
                query_filter=self._filter,
                with_payload=True,
            )
        self._remember(result.points)
        return [(int(p.id), float(p.score)) for p in result.points]

    def dense_search(self, qvec: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.n_chunks == 0:
            return []
        return self.query(np.asarray(qvec, dtype=np.float32).tolist(), using=DENSE, k=k)

    def cosines(self, rows: list[int], qvec: np.ndarray) -> np.ndarray:
        """Cosines of chunks found by BM25 alone, from their stored vectors."""
        with self.index.reading():
            records = self.index.client.retrieve(
                self.collection, ids=list(rows), with_payload=True, with_vectors=[DENSE]
            )
        self._remember(records)
        by_id = {int(r.id): r.vector[DENSE] for r in records}
        vectors = np.array([by_id[int(r)] for r in rows], dtype=np.float32)
        return vectors @ qvec

    @property
    def dated(self) -> bool:
        return bool((self._days[2] >= 0).any())

    def chunk_days(self, rows: np.ndarray) -> np.ndarray:
        """Each row's document date as a day number (-1 undated): a document's chunks are the
        run of ids from its first."""
        firsts, ends, days = self._days
        at = np.searchsorted(firsts, rows, side="right") - 1
        inside = (at >= 0) & (rows < ends[np.maximum(at, 0)])
        return np.where(inside, days[np.maximum(at, 0)], -1)

    def chunk(self, row: int) -> Chunk:
        payload = self._payloads.get(row)
        if payload is None:
            with self.index.reading():
                records = self.index.client.retrieve(self.collection, ids=[row], with_payload=True)
            if not records:
                raise IndexCorruptError(
                    f"chunk {row} is missing from the Qdrant collection {self.collection}: "
                    "run `qabot index rebuild`"
                )
            self._remember(records)
            payload = records[0].payload
        return Chunk(
            payload["doc_id"],
            payload["title"],
            payload["source"],
            int(payload["start"]),
            int(payload["end"]),
            payload["text"],
            payload.get("date", ""),
        )

    def document(self, doc_id: str) -> Document | None:
        entry = self.docs.get(doc_id)
        if entry is None:
            return None
        with self.index.reading():
            records = self.index.client.retrieve(
                self.collection, ids=[doc_point_id(doc_id, entry[0])], with_payload=True
            )
        if not records:
            return None
        p = records[0].payload
        return Document(
            doc_id=doc_id,
            title=p["title"],
            text=p["text"],
            source=p["source"],
            sha256=p["sha256"],
            date=p.get("date") or "",
        )

    def documents(self) -> list[tuple[str, str, int]]:
        return [(doc_id, e[3], int(e[2])) for doc_id, e in self.docs.items()]


def _doc_days(docs: dict[str, list]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first ids, end ids, day numbers) of the documents with chunks, by first id."""
    from qabot.ingest.dates import day_number

    runs = sorted(
        (int(e[1]), int(e[1]) + int(e[2]), day_number(e[4] if len(e) > 4 else ""))
        for e in docs.values()
        if int(e[2]) > 0
    )
    firsts, ends, days = (
        (np.array(col, dtype=np.int64) for col in zip(*runs, strict=True))
        if runs
        else (np.zeros(0, np.int64),) * 3
    )
    return firsts, ends, days
