"""What a store must do: the contract every index store implements (files, Qdrant, ...).

The build pipeline (qabot/indexing/pipeline.py) decides what each document of a new version
reuses or embeds, the same way for every store; a store only says what its current version holds
(`previous`), persists the pipeline's plan (`write`), and reads a version back for questions
(`load`). `qabot.stores.open_store` picks the store from the settings; nothing else branches on
which store it has. tests/stores/test_contract.py is the contract's test suite: a new store is
done when it passes it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from qabot.types import Chunk, Document, IndexStatus

if TYPE_CHECKING:
    from qabot.search.retrieval import Retriever
    from qabot.stores.plan import BuildPlan, Embedded


@dataclass
class Previous:
    """What the current version says about itself, for planning an incremental build. `state`
    is the store's own handle on the version (the pipeline never looks inside it)."""

    version: str
    model_id: str
    chunking: dict | None
    # {file below seeds/: {"sha256", "size", "docs": [doc ids]}}
    files: dict[str, dict]
    doc_sha: Mapping[str, str]  # doc_id -> the SHA-256 of its text
    doc_chunks: Mapping[str, int]  # doc_id -> its number of chunks
    documents: int
    chunks: int
    # Its documents lack something only reading the files again gives them (dates, for an
    # index from before dates): every file is read again, unchanged texts keep their vectors.
    reread: bool = False
    # The store must write a new version even when no document changed (its BM25 was counted
    # by an older analyzer): the pipeline does not stop early.
    stale: bool = False
    state: object = None


@dataclass
class Verification:
    """`Store.verify`: what was checked in one version and what is wrong with it."""

    version: str
    files: int = 0  # files (or points) checked against the version's manifest
    hashed_bytes: int = 0
    recorded: bool = True  # False: a version written before manifests had checksums
    problems: list[str] = field(default_factory=list)
    # A store that is not files (Qdrant) says what it checked in one line instead.
    summary: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class IndexView(abc.ABC):
    """One loaded version, as questions read it: rows are the store's chunk ids."""

    version: str
    model_id: str
    n_chunks: int
    retriever: Retriever
    has_sentence_vectors: bool = False  # the version keeps each passage's sentence vectors

    @abc.abstractmethod
    def chunk(self, row: int) -> Chunk:
        """Chunk `row` (a `Candidate.row`)."""

    @abc.abstractmethod
    def document(self, doc_id: str) -> Document | None:
        """A document with its whole text (for the context around a passage)."""

    @abc.abstractmethod
    def documents(self) -> list[tuple[str, str, int]]:
        """(doc_id, title, number of chunks) of every document."""

    def stored_sentences(self, chunk_of: dict[int, Chunk]):
        """chunk -> its stored sentence vectors (for the retrieved chunks, `chunk_of`: row ->
        chunk), or None when the store keeps none: the answer sentence is then embedded at
        question time."""
        return None


class Store(abc.ABC):
    """Where an index lives. Every method that writes is called with `lock()` held."""

    #: Whether `write` keeps sentence vectors (Calibration.sentences).
    keeps_sentences: bool = False

    # -- reading ---------------------------------------------------------------------------
    @abc.abstractmethod
    def current_version(self) -> str | None:
        """The live version's name, None before the first build."""

    def exists(self) -> bool:
        return self.current_version() is not None

    @abc.abstractmethod
    def load(self, *, expect_model_id: str | None = None) -> IndexView:
        """The live version, ready to search. IndexMissingError before the first build,
        IndexMismatchError when another model built it, IndexCorruptError when damaged."""

    @abc.abstractmethod
    def indexed_files(self) -> dict[str, dict]:
        """The live version's files ({file: {"sha256", "size", "docs"}}), {} when there is
        none or it cannot be read (a preference among copies, never an error)."""

    def indexed_as(self, sha256: str) -> str | None:
        """The file of the live version with these bytes, or None."""
        files = self.indexed_files()
        return next((rel for rel, f in sorted(files.items()) if f.get("sha256") == sha256), None)

    @abc.abstractmethod
    def status(self) -> IndexStatus:
        """What is built (documents, chunks, model, size, where, damage found), without the
        comparison with the seeds folder (the pipeline adds it)."""

    @abc.abstractmethod
    def verify(self, *, expect_model_id: str | None = None) -> Verification:
        """Everything of the live version checked against its manifest, then loaded. Raises
        IndexCorruptError naming what is damaged."""

    # -- writing ---------------------------------------------------------------------------
    @abc.abstractmethod
    def lock(self) -> AbstractContextManager:
        """Held for a whole build; a second builder is refused at once (IndexLockedError).
        Re-entrant within one thread."""

    @abc.abstractmethod
    def clean(self) -> None:
        """Remove what interrupted builds left and versions no reader needs any more."""

    @abc.abstractmethod
    def previous(self, *, held: IndexView | None = None) -> Previous | None:
        """The live version as an incremental build starts from it (`held`: the caller's
        loaded copy, used when it is still live instead of reading it again); None when
        there is none or it is unusable (then everything is embedded again)."""

    @abc.abstractmethod
    def write(
        self, *, plan: BuildPlan, previous: Previous | None, embedded: Embedded
    ) -> IndexView | None:
        """Persist `plan` as the new live version, all or nothing: a reader sees the previous
        version until the new one is complete. Returns the new version loaded when the store
        has it at hand without reading it back, else None (the caller loads it)."""


def day_lookup(days: np.ndarray | None):
    """rows -> their day numbers, from an array of every chunk's (None: nothing dated)."""
    return None if days is None else lambda rows: days[rows]
