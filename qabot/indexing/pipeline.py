"""Building the index from the seeds folder, re-embedding only what changed.

A document is reused (its chunks and vectors copied from the previous version) when its file's
hash, its own text hash, the model and the chunking parameters are all unchanged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qabot.embedders import Embedder
from qabot.errors import (
    DocumentError,
    IndexCorruptError,
    IndexMismatchError,
    NoDocumentsError,
    QabotError,
)
from qabot.ingest.chunking import (
    ChunkParams,
    chunk_document,
    passage_for_embedding,
    sentences_for_embedding,
)
from qabot.ingest.documents import MAX_DOCUMENT_CHARS, Scan, read_file, scan_folder
from qabot.ingest.duplicates import find_duplicates
from qabot.search import ann
from qabot.search.lexical import ANALYZER, LexicalIndex
from qabot.stores.files.manifest import Manifest
from qabot.stores.files.store import CHUNK_DTYPE, IndexData, IndexStore, StoredDocument
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


@dataclass(slots=True)
class DocPlan:
    """One document of the new version: reused, its chunks and vectors copied from the previous
    version (`rows`, its chunk rows there), or new (`rows` None: chunked and embedded)."""

    doc: StoredDocument
    rows: np.ndarray | None

    @property
    def reused(self) -> bool:
        return self.rows is not None


@dataclass
class BuildPlan:
    """What each document of the new version reuses or embeds, in the new version's order."""

    docs: list[DocPlan]
    to_embed: list[Document]  # the new documents, in order
    files: dict[str, dict]  # the manifest's "files": {file: {"sha256", "size", "docs"}}

    @property
    def stored(self) -> list[StoredDocument]:
        return [p.doc for p in self.docs]

    def reused_rows(self) -> list[np.ndarray]:
        return [p.rows for p in self.docs if p.rows is not None]

    def reused_first(self) -> BuildPlan:
        """Reused documents first, in their old order, then the new ones: when nothing was
        changed or deleted, the old rows stay a prefix and an approximate index can just be
        appended to."""

        def key(p: DocPlan) -> tuple[bool, int]:
            # A reused document without chunks has no rows to keep in order: any place will do.
            return p.rows is None, int(p.rows[0]) if p.rows is not None and len(p.rows) else 0

        return BuildPlan(sorted(self.docs, key=key), self.to_embed, self.files)

    def appends_only(self, old: IndexData) -> bool:
        """Whether the new version's first rows are all the old version's rows, in order
        (nothing deleted or changed, only added)."""
        reused = self.reused_rows()
        prefix = np.concatenate(reused) if reused else np.zeros(0, dtype=np.int64)
        return np.array_equal(prefix, np.arange(len(old.chunks)))

    def sources(self, new_chunks: dict[str, list[Chunk]], flat: list[Chunk]) -> ChunkSources:
        """Where each chunk of the new version comes from (`flat`: the new documents' chunks,
        as embedded)."""
        offset: dict[str, int] = {}
        for chunk_no, chunk in enumerate(flat):
            offset.setdefault(chunk.doc_id, chunk_no)
        old_rows, new_positions, sizes, reused = [], [], [], []
        for p in self.docs:
            if p.rows is not None:
                old_rows.append(p.rows)
                sizes.append(len(p.rows))
            else:
                start = offset.get(p.doc.doc_id, 0)
                sizes.append(len(new_chunks[p.doc.doc_id]))
                new_positions.append(np.arange(start, start + sizes[-1]))
            reused.append(p.rows is not None)
        return ChunkSources(
            reused=np.repeat(np.array(reused, dtype=bool), sizes),
            old_rows=_concat(old_rows),
            new_positions=_concat(new_positions),
            doc=np.repeat(np.arange(len(self.docs), dtype=np.int64), sizes),
        )


@dataclass(frozen=True)
class ChunkSources:
    """Per chunk of the new version, in row order: its document and where it comes from."""

    reused: np.ndarray  # bool: copied from the old version
    old_rows: np.ndarray  # the reused chunks' rows in the old version, in order
    new_positions: np.ndarray  # the new chunks' positions among the embedded ones, in order
    doc: np.ndarray  # its document's position in the new version


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _chunking_manifest(options: BuildOptions) -> dict:
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


def _load_previous(store: IndexStore, held: IndexData | None = None) -> IndexData | None:
    """The current version: `held` (the caller's copy in memory) when it is still current,
    else read from disk."""
    try:
        if not store.exists():
            return None
        if held is not None and held.version == store.current_version():
            return held
        return store.load()
    except (IndexCorruptError, IndexMismatchError) as exc:
        log.warning("previous index unusable (%s); embedding everything again", exc)
        return None


def build_version(
    *,
    store: IndexStore,
    embedder: Embedder,
    options: BuildOptions,
    full: bool = False,
    progress: bool = False,
    held: IndexData | None = None,
) -> tuple[BuildReport, IndexData | None]:
    """`build`, for a caller that holds the current version in memory (`held`, only read,
    never changed: searches may run on it meanwhile): the build starts from it instead of
    reading it from disk, and returns the new version (None when nothing changed) for the
    caller to switch to without reading that back either."""
    t0 = time.perf_counter()
    report = BuildReport()
    with store.lock():
        store.clean()
        scan = scan_folder(options.seeds_dir, follow_external_links=options.follow_external_links)
        report.skipped.extend(scan.skipped)
        old = None if full else _load_previous(store, held)
        chunking = _chunking_manifest(options)
        if old is not None and (
            old.model_id != embedder.model_id or old.manifest.chunking != chunking
        ):
            log.warning(
                "%s changed since the last build (%s -> %s): embedding everything",
                *_what_changed(old.model_id, embedder.model_id, old.manifest.chunking, chunking),
            )
            old = None
        # An index written before documents had dates: read every file again (their vectors
        # are reused, the text being the same) so that its documents get theirs.
        undated = old is not None and not old.manifest.dates
        # An index whose BM25 another analyzer wrote (an older qabot): its BM25 is analysed
        # again from the passages and written, nothing embedded again.
        reanalysed = old is not None and old.manifest.lexical != ANALYZER
        old_files: dict = old.manifest.files if old else {}
        # A rebuild from scratch keeps the same file of each set of copies indexed, too.
        indexed = old_files if old is not None else _indexed_files(store)
        duplicates = find_duplicates(scan.files, indexed=indexed)
        report.duplicates = sorted(duplicates.items())
        scan = Scan([f for f in scan.files if f.rel not in duplicates], scan.skipped)

        plan = _plan(
            scan,
            old,
            report,
            old_files=old_files,
            reread=old_files if not undated else {},
            max_chars=options.max_document_chars,
        )
        report.deleted = sorted(set(old_files) - set(plan.files))
        plan = plan.reused_first()
        docs = plan.stored

        if not docs:
            raise NoDocumentsError(
                f"no readable documents in {options.seeds_dir}/ "
                f"({len(report.skipped)} skipped): add .txt, .md, .html, .pdf, .docx or .jsonl files"
            )
        unchanged = not report.changed_anything and not plan.to_embed
        if old is not None and unchanged and not undated and not reanalysed:
            report.documents_total = len(old.docs)
            report.chunks_total = len(old.chunks)
            report.seconds = time.perf_counter() - t0
            return report, None

        params = chunking_params(options, embedder)  # loads the model: only when embedding
        new_chunks: dict[str, list[Chunk]] = {}
        for doc in plan.to_embed:
            new_chunks[doc.doc_id] = chunk_document(doc, params, embedder.count_tokens)
        flat = [c for doc in plan.to_embed for c in new_chunks[doc.doc_id]]
        new_vectors = embed_chunks(embedder, flat, batch_size=options.batch_size, progress=progress)
        report.chunks_embedded = len(flat)

        sources = plan.sources(new_chunks, flat)
        all_chunks, all_vectors = _assemble(old, sources, flat, new_vectors)
        sentences = None
        if options.sentences:
            sentences = _sentences(
                old, sources, flat, embedder, batch_size=options.batch_size, progress=progress
            )
        manifest = Manifest(
            model_id=embedder.model_id,
            chunking=chunking,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            files=plan.files,
            skipped=report.skipped,
            duplicates=report.duplicates,
            lexical=ANALYZER,
            dates=True,
        )
        lexical = update_lexical(old, plan, docs, all_chunks)
        appended = old is not None and plan.appends_only(old)
        ann_index = _vector_index(old, plan, all_vectors, setting=options.ann)
        manifest.ann = ann.describe(ann_index) if ann_index is not None else {"kind": "flat"}
        written = store.write(
            manifest=manifest,
            docs=docs,
            chunks=all_chunks,
            vectors=all_vectors,
            lexical=lexical,
            ann_index=ann_index,
            appended_to=old if appended else None,
            sentences=sentences,
        )
        store.clean()
        report.documents_total = len(docs)
        report.chunks_total = len(all_chunks)
    report.seconds = time.perf_counter() - t0
    return report, written


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


def _plan(
    scan: Scan,
    old: IndexData | None,
    report: BuildReport,
    *,
    old_files: dict,
    reread: dict,
    max_chars: int,
) -> BuildPlan:
    """What each readable document of `scan` reuses from `old` or embeds, in scan order; fills
    `report`'s added, changed, unchanged and skipped files. `reread`: the old files whose
    documents may be taken from `old` without reading them again."""
    plan = BuildPlan([], [], {})
    old_rows = old.doc_chunk_rows() if old else {}
    for entry, result in _documents(scan, old, reread, max_chars):
        if isinstance(result, Exception):
            report.skipped.append((entry.rel, str(result)))
            log.warning("skipped %s: %s", entry.rel, result)
            continue
        plan.files[entry.rel] = file_entry(report, entry, old_files.get(entry.rel), result)
        for doc in result:
            previous = old.document(doc.doc_id) if old else None
            reuse = previous is not None and previous.sha256 == doc.sha256
            stored = StoredDocument(
                doc.doc_id, doc.title, doc.source, doc.text, doc.sha256, doc.date
            )
            # The previous object carries its encoded docs.jsonl line.
            kept = previous if reuse and previous == stored else stored
            plan.docs.append(DocPlan(kept, old_rows[doc.doc_id] if reuse else None))
            if not reuse:
                plan.to_embed.append(doc)
    return plan


def _indexed_files(store: IndexStore) -> dict:
    """The files of the current version's manifest, {} when there is none or it is unreadable
    (it is only a preference among copies)."""
    try:
        return store.read_manifest().files if store.exists() else {}
    except (QabotError, OSError, ValueError):
        return {}


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


def _assemble(
    old: IndexData | None,
    sources: ChunkSources,
    flat: list[Chunk],
    new_vectors: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The new version's chunk table and vectors in plan order: reused rows gathered from the
    old version in one go (a copy per document took ~0.5 s for 20k documents), new ones from
    `flat` / `new_vectors`."""
    reused, from_flat = sources.reused, sources.new_positions
    chunks = np.zeros(len(reused), dtype=CHUNK_DTYPE)
    chunks["doc"] = sources.doc
    vectors = np.empty((len(reused), new_vectors.shape[1]), dtype=np.float32)
    if old is not None and reused.any():
        rows = sources.old_rows
        chunks["start"][reused] = old.chunks["start"][rows]
        chunks["end"][reused] = old.chunks["end"][rows]
        # Reused rows come first (BuildPlan.reused_first), usually all the old rows in order: then a
        # plain copy, not a gather through a mask (0.05 s instead of 0.8 s at 100k chunks).
        target = slice(0, len(rows)) if reused[: len(rows)].all() else reused
        if np.array_equal(rows, np.arange(len(old.vectors))):
            vectors[target] = old.vectors
        else:
            vectors[target] = old.vectors[rows]
    if len(from_flat):
        chunks["start"][~reused] = np.array([c.start for c in flat])[from_flat]
        chunks["end"][~reused] = np.array([c.end for c in flat])[from_flat]
        vectors[~reused] = new_vectors[from_flat]
    return chunks, vectors


def _sentences(
    old: IndexData | None,
    sources: ChunkSources,
    flat: list[Chunk],
    embedder: Embedder,
    *,
    batch_size: int,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Sentence vectors of the new version's chunks and their offsets (chunk i's sentences are
    rows offsets[i]:offsets[i + 1]): a reused chunk's copied from the old version, a new
    chunk's embedded."""
    texts = [sentences_for_embedding(c) for c in flat]
    new_counts = np.array([len(t) for t in texts], dtype=np.int64)
    new_offsets = np.concatenate([[0], np.cumsum(new_counts)])
    flat_texts = [t for ts in texts for t in ts]
    dim = embedder.dim
    new_vectors = (
        embed_texts(
            embedder,
            flat_texts,
            batch_size=batch_size,
            progress=progress,
            desc="Sentences",
            unit="sentence",
        )
        if flat_texts
        else np.zeros((0, dim), dtype=np.float32)
    )
    reused = sources.reused
    old_offsets = old.sentence_offsets if old is not None else np.zeros(1, np.int64)
    rows, flat_pos = sources.old_rows, sources.new_positions
    starts = np.empty(len(reused), dtype=np.int64)
    counts = np.empty(len(reused), dtype=np.int64)
    starts[reused], counts[reused] = old_offsets[rows], np.diff(old_offsets)[rows]
    starts[~reused], counts[~reused] = new_offsets[flat_pos], new_counts[flat_pos]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    # Row j of the new table comes from row starts[i] + (j - offsets[i]) of its chunk's source.
    source_row = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
    from_old = np.repeat(reused, counts)
    vectors = np.empty((int(offsets[-1]), dim), dtype=np.float32)
    if from_old.any():
        vectors[from_old] = old.sentence_vectors[source_row[from_old]]
    vectors[~from_old] = new_vectors[source_row[~from_old]]
    return vectors, offsets


def _documents(scan: Scan, old: IndexData | None, old_files: dict, max_chars: int):
    """(file, its documents or the reason it has none). An unchanged file's documents come from
    the old index without reading the file again."""
    for entry in scan.files:
        prev = old_files.get(entry.rel)
        if old is not None and prev is not None and prev["sha256"] == entry.sha256:
            stored = [old.document(doc_id) for doc_id in prev["docs"]]
            if all(stored):
                yield (
                    entry,
                    [
                        Document(d.doc_id, d.title, d.text, d.source, d.sha256, d.date)
                        for d in stored
                    ],
                )
                continue
        try:
            yield entry, read_file(entry, max_chars=max_chars)
        except DocumentError as exc:
            yield entry, exc


def _vector_index(
    old: IndexData | None,
    plan: BuildPlan,
    vectors: np.ndarray,
    *,
    setting: str,
):
    """The approximate FAISS index to store, or None for exact search (rebuilt from the vectors
    at load, so nothing more is written). An append-only build adds to the old index instead
    of retraining it (an IVF rebuild takes minutes at a million vectors)."""
    kind = ann.choose_kind(len(vectors), setting=setting)
    if kind == "flat":
        return None
    n_old = len(old.chunks) if old is not None else 0
    if (
        old is not None
        and old.ann is not None
        and ann.describe(old.ann)["kind"] == kind
        and plan.appends_only(old)
    ):
        index = ann.copy_index(old.ann)  # the old one may be serving searches
        ann.add_to_index(index, vectors[n_old:])
        if not ann.needs_rebuild(index, setting=setting):
            return index
    try:
        return ann.build_index(vectors, kind=kind)
    except ValueError as exc:  # e.g. IVF asked for with too few vectors to train
        log.warning("%s; using exact search", exc)
        return None


def lexical_texts(docs: list[StoredDocument], chunks: np.ndarray) -> list[str]:
    """What BM25 indexes per chunk: the same title-prefixed text the model embeds."""
    texts = []
    for row in chunks:
        doc = docs[int(row["doc"])]
        start, end = int(row["start"]), int(row["end"])
        chunk = Chunk(doc.doc_id, doc.title, doc.source, start, end, doc.text[start:end])
        texts.append(passage_for_embedding(chunk))
    return texts


def build_lexical(docs: list[StoredDocument], chunks: np.ndarray) -> LexicalIndex:
    return LexicalIndex.build(lexical_texts(docs, chunks))


def update_lexical(
    old: IndexData | None,
    plan: BuildPlan,
    docs: list[StoredDocument],
    chunks: np.ndarray,
) -> LexicalIndex:
    """The BM25 index of the new version: the previous one's term counts for the reused chunks
    plus the new chunks' texts analysed (at 100k chunks 0.1-0.3 s instead of ~15 s for analysing
    everything again). From scratch without a usable previous BM25 index."""
    reused = plan.reused_rows()
    n_reused = sum(len(rows) for rows in reused)
    # BuildPlan.reused_first puts the reused chunks first, so they are rows 0..n_reused-1.
    reused_first = all(p.reused for p in plan.docs[: len(reused)])
    stale = old is not None and old.manifest.lexical != ANALYZER  # another analyzer's terms
    if old is None or old.lexical is None or stale or not reused_first:
        return build_lexical(docs, chunks)
    keep = np.concatenate(reused) if reused else np.zeros(0, dtype=np.int64)
    return old.lexical.extend(keep, lexical_texts(docs, chunks[n_reused:]))


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


def status(
    *, store: IndexStore, seeds_dir: Path, follow_external_links: bool = False
) -> IndexStatus:
    """What is built, and which files are new, changed or deleted since (hashes, no reading)."""
    if not store.exists():
        st = IndexStatus(built=False)
        compare_files(st, {}, seeds_dir, follow_external_links=follow_external_links)
        return st
    manifest = store.read_manifest()
    files = manifest.files
    check = store.verify()  # every file hashed: ~0.1 s per 150 MB
    st = IndexStatus(
        built=True,
        documents=manifest.documents,
        chunks=manifest.chunks,
        model_id=manifest.model_id,
        size_bytes=store.size_bytes(),
        built_at=manifest.built_at,
        skipped=[tuple(s) for s in manifest.skipped],
        checked_files=check.files if check.recorded else None,
        damaged=check.problems,
    )
    compare_files(st, files, seeds_dir, follow_external_links=follow_external_links)
    return st


def compare_files(
    st: IndexStatus, files: dict, seeds_dir: Path, *, follow_external_links: bool
) -> None:
    """Fill `st`'s new, changed and deleted files: the seeds folder against the built `files`
    (a manifest's {file: {"sha256": ...}}). Before any build, the scan's skipped files too."""
    try:
        scan = scan_folder(seeds_dir, follow_external_links=follow_external_links)
    except NoDocumentsError:
        st.deleted = sorted(files)
        return
    if not st.built:
        st.skipped = scan.skipped
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
