"""The files store: the index as versioned folders below index/ (qabot/stores/files/folders.py
says how they are laid out), searched in memory with FAISS and BM25."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from qabot.errors import IndexCorruptError, IndexMismatchError, QabotError
from qabot.search import ann
from qabot.search.lexical import ANALYZER
from qabot.search.retrieval import Retriever
from qabot.stores.base import IndexView, Previous, Store, Verification, day_lookup
from qabot.stores.files.assemble import build_lexical, write_version
from qabot.stores.files.folders import IndexData, VersionFolders
from qabot.stores.files.manifest import FILE as MANIFEST
from qabot.stores.plan import BuildPlan, Embedded
from qabot.timing import span
from qabot.types import Chunk, Document, IndexStatus

log = logging.getLogger("qabot")


class FilesView(IndexView):
    """A version of the files store with its search structures, swapped as one reference."""

    def __init__(self, data: IndexData) -> None:
        self.data = data
        self.version = data.version
        self.model_id = data.model_id
        self.n_chunks = len(data.chunks)
        self.has_sentence_vectors = data.sentence_vectors is not None
        with span("search_structures"):
            self.searcher = ann.Searcher(data.vectors, index=data.ann)
            lexical = data.lexical
            if lexical is None:  # before BM25, or a damaged bm25/: rebuilt in memory
                log.info("building the lexical index of version %s in memory", data.version)
                # Kept on the data too: the next incremental build starts from it.
                lexical = data.lexical = build_lexical(data.docs, data.chunks)
        self.retriever = Retriever(
            dense_search=self.searcher.top,
            lexical=lexical,
            chunk_text=lambda row: data.chunk(row).text,
            cosines=lambda rows, qvec: data.vectors[rows] @ qvec,
            sentence_vectors=data.sentence_vectors,
            sentence_offsets=data.sentence_offsets,
            chunk_days=day_lookup(data.chunk_days()),
        )

    def chunk(self, row: int) -> Chunk:
        return self.data.chunk(row)

    def document(self, doc_id: str) -> Document | None:
        return self.data.document(doc_id)

    def documents(self) -> list[tuple[str, str, int]]:
        data = self.data
        counts = np.bincount(data.chunks["doc"], minlength=len(data.docs))
        return [(d.doc_id, d.title, int(counts[i])) for i, d in enumerate(data.docs)]

    def stored_sentences(self, chunk_of: dict[int, Chunk]):
        data = self.data
        if data.sentence_vectors is None or data.sentence_offsets is None:
            return None
        row_of = {chunk: row for row, chunk in chunk_of.items()}
        offsets, vectors = data.sentence_offsets, data.sentence_vectors

        def stored(chunk: Chunk) -> np.ndarray | None:
            row = row_of.get(chunk)
            return None if row is None else vectors[offsets[row] : offsets[row + 1]]

        return stored


class FilesStore(Store):
    """The index in versioned folders below `root` (QABOT_INDEX_DIR)."""

    keeps_sentences = True

    def __init__(self, root: Path, *, ann_setting: str = "auto") -> None:
        self.folders = VersionFolders(root)
        self.root = self.folders.root
        self.ann_setting = ann_setting

    # -- reading ---------------------------------------------------------------------------
    def current_version(self) -> str | None:
        return self.folders.current_version()

    def load(self, *, expect_model_id: str | None = None) -> FilesView:
        with span("index_load"):
            data = self.folders.load(expect_model_id=expect_model_id)
        return FilesView(data)

    def indexed_files(self) -> dict[str, dict]:
        try:
            return self.folders.read_manifest().files if self.folders.exists() else {}
        except (QabotError, OSError, ValueError):
            return {}

    def status(self) -> IndexStatus:
        folders = self.folders
        if not folders.exists():
            return IndexStatus(built=False)
        manifest = folders.read_manifest()
        check = folders.verify()  # every file hashed: ~0.1 s per 150 MB
        if not check.problems:
            # Intact files can still disagree with a damaged manifest (its counts, its file
            # list), which no checksum covers: what `ask` would refuse is damage here too.
            try:
                folders.load()
            except IndexCorruptError as exc:
                reason = str(exc).removesuffix(": run `qabot index rebuild`")
                check.problems.append(f"{MANIFEST}: {reason}")
        return IndexStatus(
            built=True,
            documents=manifest.documents,
            chunks=manifest.chunks,
            model_id=manifest.model_id,
            size_bytes=folders.size_bytes(),
            built_at=manifest.built_at,
            skipped=[tuple(s) for s in manifest.skipped],
            checked_files=check.files if check.recorded else None,
            damaged=check.problems,
        )

    def verify(self, *, expect_model_id: str | None = None) -> Verification:
        check = self.folders.verify()
        if check.problems:
            raise IndexCorruptError(
                f"index version {check.version} is damaged: {'; '.join(check.problems)}: "
                "run `qabot index rebuild`"
            )
        self.folders.load(expect_model_id=expect_model_id)
        return check

    # -- writing ---------------------------------------------------------------------------
    def lock(self):
        return self.folders.lock()

    def clean(self) -> None:
        self.folders.clean()

    def previous(self, *, held: IndexView | None = None) -> Previous | None:
        try:
            if not self.folders.exists():
                return None
            if isinstance(held, FilesView) and held.version == self.folders.current_version():
                old = held.data
            else:
                with span("index_load"):
                    old = self.folders.load()
        except (IndexCorruptError, IndexMismatchError) as exc:
            log.warning("previous index unusable (%s); embedding everything again", exc)
            return None
        counts = np.bincount(old.chunks["doc"], minlength=len(old.docs))
        return Previous(
            version=old.version,
            model_id=old.model_id,
            chunking=old.manifest.chunking,
            files=old.manifest.files,
            doc_sha={d.doc_id: d.sha256 for d in old.docs},
            doc_chunks={d.doc_id: int(counts[i]) for i, d in enumerate(old.docs)},
            documents=len(old.docs),
            chunks=len(old.chunks),
            # An index written before documents had dates: every file read again (their
            # vectors reused, the text being the same) so that its documents get theirs.
            reread=not old.manifest.dates,
            # BM25 counted by another analyzer (an older qabot): counted again from the
            # passages, nothing embedded again.
            stale=old.manifest.lexical != ANALYZER,
            state=old,
        )

    def write(self, *, plan: BuildPlan, previous: Previous | None, embedded: Embedded) -> FilesView:
        old = previous.state if previous is not None else None
        data = write_version(
            self.folders, plan=plan, old=old, embedded=embedded, ann_setting=self.ann_setting
        )
        return FilesView(data)
