"""Building an index from the seeds folder, re-embedding only what changed: one pipeline for
every store.

scan the folder -> find copies (indexed once) -> compare each file and document with the live
version (`Store.previous`) -> read what changed -> chunk and embed the new documents -> hand the
plan to the store (`Store.write`). A document is reused (its chunks and vectors kept) when its
text hash, the model and the chunking parameters are all unchanged; a file whose hash is
unchanged is not read again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qabot.embedders import Embedder
from qabot.errors import DocumentError, NoDocumentsError
from qabot.ingest.chunking import (
    ChunkParams,
    chunk_document,
    passage_for_embedding,
    sentences_for_embedding,
)
from qabot.ingest.duplicates import find_duplicates
from qabot.ingest.formats import formats_text, read_file
from qabot.ingest.scan import Scan, scan_folder
from qabot.ingest.text import MAX_DOCUMENT_CHARS
from qabot.stores.base import IndexView, Previous, Store
from qabot.stores.plan import BuildPlan, Embedded, PlannedDoc
from qabot.timing import span
from qabot.types import BuildReport, Chunk, Document, IndexStatus

log = logging.getLogger("qabot")


@dataclass(frozen=True)
class BuildOptions:
    seeds_dir: Path
    chunk_tokens: int
    chunk_overlap: int
    batch_size: int = 32
    ann: str = "auto"
    sentences: bool = False  # also embed each chunk's sentences (Calibration.sentences)
    max_document_chars: int = MAX_DOCUMENT_CHARS
    follow_external_links: bool = False


def chunking_params(options: BuildOptions, embedder: Embedder) -> ChunkParams:
    model_max = embedder.max_tokens
    return ChunkParams(
        max_tokens=min(options.chunk_tokens, model_max),
        overlap=options.chunk_overlap,
        model_max_tokens=model_max,
    )


def chunking_manifest(options: BuildOptions) -> dict:
    """What decides the chunks, besides the model (recorded on its own as model_id). Built from
    settings alone, so a build with nothing to do never loads the model."""
    chunking = {
        "chunk_tokens": options.chunk_tokens,
        "overlap": options.chunk_overlap,
        "splitter": "sentencex+lines/1",
    }
    if options.sentences:  # absent otherwise: indexes without sentences are not re-embedded
        chunking["sentences"] = "title: sentence/1"
    return chunking


def build(
    *,
    store: Store,
    embedder: Embedder,
    options: BuildOptions,
    full: bool = False,
    progress: bool = False,
    held: IndexView | None = None,
) -> tuple[BuildReport, IndexView | None]:
    """Bring the store's index up to date with the seeds folder (`full`: embed everything).
    `held` is the caller's loaded version (only read: searches may run on it meanwhile); the
    build starts from it instead of reading it again. Returns the report and the new version
    when the store hands it over loaded (None: nothing changed, or load it)."""
    t0 = time.perf_counter()
    report = BuildReport()
    if options.sentences and not store.keeps_sentences:
        log.warning("QABOT_SENTENCE_VECTORS: this store keeps no sentence vectors")
        options = replace(options, sentences=False)
    with store.lock():
        with span("clean"):
            store.clean()
        with span("scan"):
            scan = scan_folder(
                options.seeds_dir, follow_external_links=options.follow_external_links
            )
        report.skipped.extend(scan.skipped)
        chunking = chunking_manifest(options)
        with span("load_previous"):
            prev = None if full else store.previous(held=held)
        if prev is not None and (prev.model_id != embedder.model_id or prev.chunking != chunking):
            log.warning(
                "%s changed since the last build (%s -> %s): embedding everything",
                *_what_changed(prev.model_id, embedder.model_id, prev.chunking, chunking),
            )
            prev = None
        # A rebuild from scratch keeps the same file of each set of copies indexed, too.
        indexed = prev.files if prev is not None else store.indexed_files()
        duplicates = find_duplicates(scan.files, indexed=indexed)
        report.duplicates = sorted(duplicates.items())
        scan = Scan([f for f in scan.files if f.rel not in duplicates], scan.skipped)

        plan = plan_build(scan, prev, report, max_chars=options.max_document_chars)
        if not plan.docs:
            raise NoDocumentsError(
                f"no readable documents in {options.seeds_dir}/ "
                f"({len(report.skipped)} skipped): add {formats_text()} files"
            )
        to_embed = plan.to_embed
        nothing = not report.changed_anything and not to_embed and not plan.retired
        if prev is not None and nothing and not prev.reread and not prev.stale:
            report.documents_total = prev.documents
            report.chunks_total = prev.chunks
            report.seconds = time.perf_counter() - t0
            return report, None

        plan.model_id = embedder.model_id
        plan.chunking = chunking
        plan.skipped = report.skipped
        plan.duplicates = report.duplicates
        embedded = embed_documents(to_embed, embedder, options, progress=progress)
        report.chunks_embedded = len(embedded.chunks)
        # When the version was made, as every qabot stamped it: after embedding, before writing.
        plan.built_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with span("store_write"):
            written = store.write(plan=plan, previous=prev, embedded=embedded)
        with span("clean"):
            store.clean()
        report.documents_total = len(plan.docs)
        kept = sum(prev.doc_chunks[p.doc_id] for p in plan.kept) if prev is not None else 0
        report.chunks_total = kept + len(embedded.chunks)
    report.seconds = time.perf_counter() - t0
    return report, written


def plan_build(scan: Scan, prev: Previous | None, report: BuildReport, *, max_chars: int):
    """What each readable document of `scan` reuses from `prev` or embeds, in scan order;
    fills `report`'s added, changed, unchanged, skipped and deleted files."""
    plan = BuildPlan()
    old_files = prev.files if prev is not None else {}
    doc_sha = prev.doc_sha if prev is not None else {}
    reread = prev is None or prev.reread
    kept: set[str] = set()
    for entry in scan.files:
        old = old_files.get(entry.rel)
        unchanged = old is not None and old["sha256"] == entry.sha256
        if unchanged and not reread and all(d in doc_sha for d in old["docs"]):
            # Nothing to read: all its documents stay as they are.
            report.unchanged += 1
            plan.files[entry.rel] = old
            for doc_id in old["docs"]:
                if doc_id not in kept:
                    kept.add(doc_id)
                    plan.docs.append(PlannedDoc(doc_id, doc_sha[doc_id], None, True))
            continue
        try:
            with span("read"):
                docs = read_file(entry, max_chars=max_chars)
        except DocumentError as exc:
            report.skipped.append((entry.rel, str(exc)))
            log.warning("skipped %s: %s", entry.rel, exc)
            continue
        plan.files[entry.rel] = file_entry(report, entry, old, docs)
        for doc in docs:
            reuse = doc_sha.get(doc.doc_id) == doc.sha256 and doc.doc_id not in kept
            if reuse:
                kept.add(doc.doc_id)
            plan.docs.append(PlannedDoc(doc.doc_id, doc.sha256, doc, reuse))
    report.deleted = sorted(set(old_files) - set(plan.files))
    plan.retired = [d for d in doc_sha if d not in kept]
    return plan


def file_entry(report: BuildReport, entry, prev: dict | None, docs: list[Document]) -> dict:
    """Count a readable file in `report` as added, changed or unchanged against `prev`, its
    entry in the previous manifest (None: new), and return its entry for the new one."""
    if prev is None:
        report.added.append(entry.rel)
    elif prev["sha256"] != entry.sha256:
        report.changed.append(entry.rel)
    else:
        report.unchanged += 1
    return {"sha256": entry.sha256, "size": entry.size, "docs": [d.doc_id for d in docs]}


def _what_changed(old_model: str, new_model: str, old: dict | None, new: dict) -> tuple:
    """(what, before, after) for the "embedding everything" warning: the model, or the chunking
    settings that differ (QABOT_CHUNK_TOKENS, QABOT_CHUNK_OVERLAP, QABOT_SENTENCE_VECTORS)."""
    if old_model != new_model:
        return "the model", old_model, new_model
    old = old or {}
    keys = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
    before = ", ".join(f"{k} {old.get(k, '-')}" for k in keys)
    after = ", ".join(f"{k} {new.get(k, '-')}" for k in keys)
    return "chunking", before, after


def embed_documents(
    docs: list[Document], embedder: Embedder, options: BuildOptions, *, progress: bool
) -> Embedded:
    """The new documents chunked and embedded (and their sentences, with options.sentences)."""
    by_doc: dict[str, list[Chunk]] = {}
    if docs:
        params = chunking_params(options, embedder)  # loads the model: only when embedding
        with span("chunk"):
            for doc in docs:
                by_doc[doc.doc_id] = chunk_document(doc, params, embedder.count_tokens)
    flat = [c for doc in docs for c in by_doc[doc.doc_id]]
    with span("embed"):
        vectors = embed_chunks(embedder, flat, batch_size=options.batch_size, progress=progress)
    dim = int(vectors.shape[1]) if len(flat) else int(embedder.dim)
    embedded = Embedded(flat, vectors, by_doc, dim)
    if options.sentences:
        texts = [sentences_for_embedding(c) for c in flat]
        counts = np.array([len(t) for t in texts], dtype=np.int64)
        embedded.sentence_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        flat_texts = [t for ts in texts for t in ts]
        with span("embed_sentence_vectors"):
            embedded.sentence_vectors = (
                embed_texts(
                    embedder,
                    flat_texts,
                    batch_size=options.batch_size,
                    progress=progress,
                    desc="Sentences",
                    unit="sentence",
                )
                if flat_texts
                else np.zeros((0, dim), dtype=np.float32)
            )
    return embedded


def embed_chunks(
    embedder: Embedder, chunks: list[Chunk], *, batch_size: int, progress: bool
) -> np.ndarray:
    """Vectors for chunks, in order."""
    if not chunks:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    texts = [passage_for_embedding(c) for c in chunks]
    return embed_texts(embedder, texts, batch_size=batch_size, progress=progress)


def embed_texts(
    embedder: Embedder,
    texts: list[str],
    *,
    batch_size: int,
    progress: bool,
    desc: str = "Embedding",
    unit: str = "chunk",
) -> np.ndarray:
    """Passage vectors for texts, in order. Sorted by length for embedding, so each batch pads
    little."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), unit=unit, desc=desc, dynamic_ncols=True)
    try:
        vectors = embedder.embed_passages(
            [texts[i] for i in order],
            batch_size=batch_size,
            on_batch=bar.update if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    out = np.empty_like(vectors)
    out[order] = vectors
    return out


def status(*, store: Store, seeds_dir: Path, follow_external_links: bool = False) -> IndexStatus:
    """What is built, and which files are new, changed or deleted since (hashes, no reading)."""
    st = store.status()
    files = store.indexed_files() if st.built else {}
    compare_files(st, files, seeds_dir, follow_external_links=follow_external_links)
    return st


def compare_files(
    st: IndexStatus, files: dict, seeds_dir: Path, *, follow_external_links: bool
) -> None:
    """Fill `st`'s new, changed and deleted files: the seeds folder against the built `files`
    (a manifest's {file: {"sha256": ...}}), and the skipped ones: the scan's, and those the
    last build could not read that are still there."""
    try:
        scan = scan_folder(seeds_dir, follow_external_links=follow_external_links)
    except NoDocumentsError:
        st.deleted = sorted(files)
        return
    scanned = {entry.rel for entry in scan.files}
    unreadable = [(name, reason) for name, reason in st.skipped if name in scanned]
    st.skipped = scan.skipped + unreadable
    duplicates = find_duplicates(scan.files, indexed=files)
    st.duplicates = sorted(duplicates.items())
    seen = set()
    for entry in scan.files:
        if entry.rel in duplicates:
            continue
        seen.add(entry.rel)
        prev = files.get(entry.rel)
        if prev is None:
            st.new.append(entry.rel)
        elif prev["sha256"] != entry.sha256:
            st.changed.append(entry.rel)
    st.deleted = sorted(set(files) - seen)
