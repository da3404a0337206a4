"""What a build decided, handed to the store to persist: the same for every store.

The pipeline (qabot/indexing/pipeline.py) fills a `BuildPlan` (each document of the new version,
reused or embedded, in scan order) and an `Embedded` (the new documents' passages and vectors);
a store (qabot/stores/base.py) writes them in whatever layout it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qabot.types import Chunk, Document


@dataclass(slots=True)
class PlannedDoc:
    """One document of the new version. `reused`: its text is unchanged since the previous
    version, whose chunks and vectors it keeps. `doc` is the document as read; None for a
    reused document whose file was not read again (the store has it)."""

    doc_id: str
    sha256: str
    doc: Document | None
    reused: bool


@dataclass
class BuildPlan:
    """Every document of the new version in scan order, and the new manifest's files."""

    docs: list[PlannedDoc] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)  # {file: {"sha256", "size", "docs"}}
    retired: list[str] = field(default_factory=list)  # the previous version's documents dropped
    model_id: str = ""
    # What decides the chunks besides the model (`chunking_manifest`).
    chunking: dict = field(default_factory=dict)
    built_at: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)

    @property
    def to_embed(self) -> list[Document]:
        return [p.doc for p in self.docs if not p.reused]  # type: ignore[misc]

    @property
    def kept(self) -> list[PlannedDoc]:
        return [p for p in self.docs if p.reused]


@dataclass
class Embedded:
    """The new documents' passages (grouped by document, in `BuildPlan.to_embed` order) and
    their vectors; with sentence vectors, each passage's (passage i's sentences are rows
    sentence_offsets[i]:sentence_offsets[i + 1])."""

    chunks: list[Chunk]
    vectors: np.ndarray  # (len(chunks), dim) float32, L2-normalised
    by_doc: dict[str, list[Chunk]]
    dim: int
    sentence_vectors: np.ndarray | None = None
    sentence_offsets: np.ndarray | None = None
