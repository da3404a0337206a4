"""Writing a build's plan into Qdrant (qabot/stores/qdrant/index.py says how it is stored).

The pipeline (qabot/indexing/pipeline.py) decided what each document reuses or embeds; here a
full build fills a new collection and moves the alias, an incremental one writes the next
generation into the live collection and commits it with the manifest point.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from qabot.errors import IndexCorruptError
from qabot.ingest.chunking import passage_for_embedding
from qabot.search.lexical import ANALYZER
from qabot.stores.base import Previous
from qabot.stores.plan import BuildPlan, Embedded
from qabot.stores.qdrant.index import FORMAT, QdrantIndex, doc_point_id
from qabot.stores.qdrant.names import DENSE, SPARSE
from qabot.stores.qdrant.search import Vocabulary, chunk_terms, sparse_vector
from qabot.types import Chunk, Document

log = logging.getLogger("qabot")


def write(
    index: QdrantIndex,
    *,
    plan: BuildPlan,
    previous: Previous | None,
    embedded: Embedded,
    check: Callable[[], None] = lambda: None,
) -> None:
    """Persist `plan` (the caller holds the build lock): a new collection without `previous`,
    else the next generation of the live one. `check` runs just before the commit (the lease
    is still this builder's)."""
    live = previous.state if previous is not None else None  # (collection, manifest)
    old_docs: dict = live[1].get("docs", {}) if live is not None else {}
    kept = {p.doc_id: old_docs[p.doc_id] for p in plan.kept}
    to_embed = plan.to_embed
    chunks, vectors = list(embedded.chunks), embedded.vectors
    dim = embedded.dim
    if previous is not None and previous.stale:
        # BM25 analysed the older way (an older qabot): a new collection with every passage's
        # terms counted again, the vectors carried over from the stored points.
        log.warning("the BM25 analyzer changed since the last build: counting terms again")
        carried_docs, carried_chunks, carried_vectors = _stored(index, live[0], kept, dim=dim)
        written, chunks = carried_docs + to_embed, carried_chunks + chunks
        vectors = np.vstack([carried_vectors, np.asarray(vectors, np.float32).reshape(-1, dim)])
        live = None  # written as a full build: a new collection, the alias moved
    else:
        written = to_embed
    counted = [chunk_terms(passage_for_embedding(c)) for c in chunks]
    manifest = {
        "format": FORMAT,
        "model_id": plan.model_id,
        "dim": int(dim),
        "chunking": plan.chunking,
        "built_at": plan.built_at,
        "files": plan.files,
        "skipped": plan.skipped,
        "duplicates": plan.duplicates,
    }
    if live is None:
        _write_full(index, manifest, written, chunks, vectors, counted, check)
    else:
        _write_incremental(
            index, live, manifest, kept, plan.retired, to_embed, chunks, vectors, counted, check
        )


def _stored(
    index: QdrantIndex, collection: str, kept: dict[str, list], *, dim: int
) -> tuple[list[Document], list[Chunk], np.ndarray]:
    """The kept documents, their passages and the passages' vectors, read back from their points
    (document points by their UUID, chunk points by their id range in the manifest)."""

    def read(ids: list, **options) -> dict:
        out = {}
        for start in range(0, len(ids), 256):
            records = index.client.retrieve(collection, ids=ids[start : start + 256], **options)
            out.update((str(r.id), r) for r in records)
        return out

    doc_ids = {doc_id: doc_point_id(doc_id, entry[0]) for doc_id, entry in kept.items()}
    chunk_ids = [i for entry in kept.values() for i in range(entry[1], entry[1] + entry[2])]
    doc_points = read(list(doc_ids.values()), with_payload=True)
    chunk_points = read(chunk_ids, with_payload=True, with_vectors=[DENSE])
    missing = [d for d, point_id in doc_ids.items() if point_id not in doc_points]
    if missing or len(chunk_points) != len(chunk_ids):
        what = f"the document point of {missing[0]}" if missing else "passages"
        raise IndexCorruptError(
            f"Qdrant collection {collection} lacks {what}: run `qabot index rebuild`"
        )
    docs = []
    for doc_id, point_id in doc_ids.items():
        p = doc_points[point_id].payload
        docs.append(
            Document(
                doc_id, p["title"], p["text"], p["source"], kept[doc_id][0], p.get("date") or ""
            )
        )
    chunks, vectors = [], []
    for point_id in chunk_ids:  # grouped by document, in order, as `_points` needs them
        record = chunk_points[str(point_id)]
        p = record.payload
        chunks.append(
            Chunk(
                p["doc_id"],
                p["title"],
                p["source"],
                p["start"],
                p["end"],
                p["text"],
                p.get("date") or "",
            )
        )
        vectors.append(record.vector[DENSE])
    return docs, chunks, np.asarray(vectors, dtype=np.float32).reshape(len(vectors), dim)


def _points(
    *,
    gen: int,
    first_id: int,
    docs: list[Document],
    chunks: list[Chunk],
    vectors: np.ndarray,
    counted: list[tuple[dict, int]],
    vocab: Vocabulary,
    avgdl: float,
) -> tuple[list, dict[str, list]]:
    """The new chunk and document points, and the manifest's entries for their documents."""
    from qdrant_client import models as m

    points = []
    entries: dict[str, list] = {}
    for doc in docs:
        entries[doc.doc_id] = [doc.sha256, first_id, 0, doc.title, doc.date]
        payload = {
            "kind": "document",
            "doc_id": doc.doc_id,
            "title": doc.title,
            "source": doc.source,
            "text": doc.text,
            "sha256": doc.sha256,
            "date": doc.date,
            "gen": gen,
        }
        points.append(
            m.PointStruct(id=doc_point_id(doc.doc_id, doc.sha256), vector={}, payload=payload)
        )
    # Chunks come grouped by document (chunk_document per document, in order): each
    # document's chunk points are a run of consecutive ids.
    for i, (chunk, (counts, length)) in enumerate(zip(chunks, counted, strict=True)):
        point_id = first_id + i
        entry = entries[chunk.doc_id]
        if entry[2] == 0:
            entry[1] = point_id
        entry[2] += 1
        vector = {DENSE: vectors[i].tolist()}
        if counts:
            vector[SPARSE] = sparse_vector(counts, length, vocab=vocab, avgdl=avgdl)
        payload = {
            "doc_id": chunk.doc_id,
            "title": chunk.title,
            "source": chunk.source,
            "start": chunk.start,
            "end": chunk.end,
            "text": chunk.text,
            "date": entry[4],
            "gen": gen,
        }
        points.append(m.PointStruct(id=point_id, vector=vector, payload=payload))
    return points, entries


def _count_df(vocab: Vocabulary, counted: list[tuple[dict, int]], sign: int = 1) -> None:
    ids = [vocab.id_of[t] for counts, _ in counted for t in counts]
    if ids:
        np.add.at(vocab.df, np.array(ids, dtype=np.int64), sign)


def _write_full(index, manifest, docs, chunks, vectors, counted, check) -> None:
    """A new collection holding everything, then the alias moved to it."""
    vocab = Vocabulary([], [])
    vocab.ids_for({t for counts, _ in counted for t in counts})
    _count_df(vocab, counted)
    lengths = [n for _, n in counted]
    # avgdl is fixed by the full build: a later incremental build keeps it, so no stored
    # vector needs rewriting (the FAISS store's BM25 recomputes it; the difference is the
    # change of the average passage length since the last full build).
    avgdl = float(np.mean(lengths)) if lengths and any(lengths) else 1.0
    collection = index.new_collection(dim=int(manifest["dim"]))
    points, entries = _points(
        gen=1,
        first_id=0,
        docs=docs,
        chunks=chunks,
        vectors=vectors,
        counted=counted,
        vocab=vocab,
        avgdl=avgdl,
    )
    index.upsert(collection, points)
    manifest |= {
        "gen": 1,
        "docs": entries,
        "chunks": len(chunks),
        "next_id": len(chunks),
        "points": len(points) + 1,
        "lexical": {"analyzer": ANALYZER, "avgdl": avgdl, **vocab.as_manifest()},
    }
    index.write_manifest(collection, manifest)
    check()
    index.swap_alias(collection)
    # The collection before the previous one goes now (the previous one stays for readers
    # that loaded it), as the FAISS store keeps one version besides the current.
    index.clean(points=False)


def _write_incremental(
    index, previous, manifest, kept, retired, docs, chunks, vectors, counted, check
) -> None:
    """New points at the next generation, the replaced ones marked, then the manifest (the
    commit); see qabot/stores/qdrant/index.py."""
    collection, old = previous
    gen = int(old["gen"]) + 1
    lex = old["lexical"]
    vocab = Vocabulary(lex["terms"], lex["df"])
    vocab.ids_for({t for counts, _ in counted for t in counts})
    _count_df(vocab, counted)
    retired_chunks: list[int] = []
    retired_points: list = []
    for doc_id in retired:
        sha, first, n = old["docs"][doc_id][:3]
        retired_chunks += list(range(first, first + n))
        retired_points.append(doc_point_id(doc_id, sha))
    for sparse in index.sparse_of(collection, retired_chunks):
        if sparse is not None:
            np.add.at(vocab.df, np.array(sparse.indices, dtype=np.int64), -1)
    retired_points += retired_chunks
    points, entries = _points(
        gen=gen,
        first_id=int(old["next_id"]),
        docs=docs,
        chunks=chunks,
        vectors=vectors,
        counted=counted,
        vocab=vocab,
        avgdl=float(lex["avgdl"]),
    )
    n_chunks = sum(int(e[2]) for e in kept.values()) + len(chunks)
    manifest |= {
        "gen": gen,
        "docs": {**kept, **entries},
        "chunks": n_chunks,
        "next_id": int(old["next_id"]) + len(chunks),
        "points": n_chunks + len(kept) + len(docs) + 1,
        "lexical": {**lex, **vocab.as_manifest()},
    }
    # Local mode: questions wait while the points change (no filter hides them there).
    with index.reading():
        if points:
            index.upsert(collection, points)
        if retired_points:
            index.client.set_payload(collection, payload={"until": gen}, points=retired_points)
        check()
        index.write_manifest(collection, manifest)
        if not index.filters and retired_points:
            index.client.delete(collection, points_selector=retired_points, wait=True)
