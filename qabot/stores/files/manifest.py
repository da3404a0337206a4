"""A version's manifest.json (qabot/stores/files/folders.py): what built it and what its files hold.

The keys on disk are the ones every earlier qabot wrote, so existing indexes load unchanged; a
key added later is optional here (an older manifest without "dates", "checksums",
"vector_files"... still loads, and means what its absence meant then). Keys this qabot does not
know are kept as read.

The build fills in what it decided (model, chunking, files...), the store what it wrote (rows,
dimension, file list, checksums): `Manifest.write` is called once, inside a version folder that
is not yet published, so a manifest is never half-written where a reader can see it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from qabot.errors import IndexCorruptError, IndexMismatchError

FORMAT_VERSION = 1
FILE = "manifest.json"


@dataclass
class Manifest:
    """One index version's manifest. Field names are the keys in manifest.json, in the order
    they are written; a field that is None is not written (the key is absent)."""

    model_id: str
    # What decides the chunks besides the model (indexer._chunking_manifest): a change means
    # embedding everything again.
    chunking: dict | None = None
    built_at: str | None = None
    # {file: {"sha256", "size", "docs": [doc ids]}}, relative to the seeds folder.
    files: dict[str, dict] = field(default_factory=dict)
    skipped: list = field(default_factory=list)  # [file, reason]
    duplicates: list | None = None  # [copy, the file indexed instead]
    lexical: str | None = None  # the BM25 analyzer (lexical.ANALYZER)
    # The documents carry their dates (qabot/ingest/dates.py): an older index's documents are read
    # again by the next build (their vectors reused).
    dates: bool = False
    ann: dict | None = None  # ann.describe() of the stored FAISS index, or {"kind": "flat"}
    # Written by the store.
    format_version: int = FORMAT_VERSION
    chunks: int = 0
    documents: int = 0
    dim: int = 0
    vector_files: list | None = None  # [file, rows] in row order; None: the one default file
    doc_files: list | None = None
    sentences: int | None = None  # sentence vectors stored, None: none
    checksums: dict | None = None  # {file: {"bytes", "sha256"}}; None: before checksums
    extra: dict = field(default_factory=dict)  # keys this qabot does not know, as read

    @property
    def ann_kind(self) -> str:
        return (self.ann or {}).get("kind", "flat")

    @classmethod
    def read(cls, *, root: Path, version: str) -> Manifest:
        """The manifest of `version` below the index folder `root`. Unreadable or damaged:
        IndexCorruptError; another format: IndexMismatchError (both name the rebuild)."""
        path = Path(root) / version / FILE
        try:
            raw = json.loads(path.read_bytes())
        except FileNotFoundError as exc:
            raise IndexCorruptError(
                f"index version {version} has no manifest: run `qabot index rebuild`"
            ) from exc
        except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError
            raise IndexCorruptError(
                f"index manifest {path} is unreadable: run `qabot index rebuild`"
            ) from exc
        if not isinstance(raw, dict):
            raise IndexCorruptError(
                f"index manifest {path} is damaged (not a JSON object): run `qabot index rebuild`"
            )
        if raw.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index in {root}/ has format {raw.get('format_version')}, this qabot "
                f"reads format {FORMAT_VERSION}: run `qabot index rebuild`"
            )
        if not isinstance(raw.get("model_id"), str) or not all(
            isinstance(raw.get(key), int) for key in ("chunks", "documents", "dim")
        ):
            raise IndexCorruptError(
                f"index manifest {path} is damaged (fields missing): run `qabot index rebuild`"
            )
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict) -> Manifest:
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in raw.items() if k in known and v is not None}
        return cls(**values, extra={k: v for k, v in raw.items() if k not in known})

    def to_dict(self) -> dict:
        out = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "extra" and getattr(self, f.name) is not None
        }
        return out | self.extra

    def write(self, folder: Path) -> None:
        """Write manifest.json into `folder` and flush it to disk (the folder is published by
        a rename after this)."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1)
        with (Path(folder) / FILE).open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
