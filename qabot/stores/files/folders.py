"""The index on disk: versioned, self-describing folders and an atomic pointer to the current one.

    index/
      CURRENT            name of the live version (replaced atomically with os.replace)
      .lock              held by a build; a second build is refused
      v-<time>-<rand>/   one complete build:
        manifest.json    format, model id, dimension, chunking, per-file and per-document hashes,
                         and "checksums": the size and SHA-256 of every other file of the version
                         (read and written by qabot/stores/files/manifest.py's Manifest)
        docs.jsonl       each document's extracted text (chunks are offsets into it)
        chunks.npy       (doc index, start, end) per chunk, row i = vector i
        vectors.npy      float32, L2-normalised, one row per chunk
        docs.1.jsonl, vectors.1.npy, ...  the documents and vectors added by later builds
                         that only added (the manifest lists the files); the earlier files
                         are hard links to the previous version's
        faiss.index      only for approximate (ANN) indexes; exact search is rebuilt from vectors
        sentence_vectors.npy, sentence_offsets.npy
                         only when the embedder ranks with sentences (Calibration.sentences):
                         each chunk's sentence vectors, chunk i's being rows offsets[i]:offsets[i+1]
        bm25/            the lexical (BM25) index over the same chunks (qabot/search/lexical.py)

A build writes a new version folder completely, then flips CURRENT. A build that dies midway
leaves a stray folder that the next build removes; readers never see it. The previous version is
kept one build longer, so a reader that has just read CURRENT can still open it. No file is
written again once its folder is in place, which is what makes sharing files between versions
by hard links safe (removing one version's folder leaves the other's links intact).

Every read is guarded: a file that is missing, truncated, of the wrong size or checksum, or that
does not fit the manifest raises IndexCorruptError naming `qabot index rebuild`, and the rebuild
works whatever state CURRENT and the manifest are in.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qabot.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
)
from qabot.fsutil import fsync_dir, fsync_file, write_error
from qabot.stores.base import Verification
from qabot.stores.files.manifest import Manifest
from qabot.stores.lock import BuildLock, not_a_folder
from qabot.types import Chunk, Document

# A version's vectors (and documents) are one file, or a few when builds that only added
# documents hard-linked the previous version's files and wrote just the new rows (manifest
# "vector_files" / "doc_files": [file, rows] in row order).
VECTOR_FILE = "vectors.npy"
DOC_FILE = "docs.jsonl"
MAX_ROW_FILES = 8
SENTENCE_VECTORS = "sentence_vectors.npy"
SENTENCE_OFFSETS = "sentence_offsets.npy"
CURRENT = "CURRENT"
# What CURRENT may name: a version folder this module wrote (anything else is garbage).
VERSION_NAME = re.compile(r"v-[0-9T.]+-[0-9a-f]+")
# Every file of a version is listed in its manifest's "checksums" with its size and SHA-256.
# Loading checks every size (a stat) and hashes the files up to this size (SHA-256 runs at
# ~1.7 GB/s: 32 MiB is ~20 ms); `qabot index status` and `qabot index verify` hash them all.
HASH_ON_LOAD_BYTES = 32 << 20
CHUNK_DTYPE = np.dtype([("doc", "<i4"), ("start", "<i4"), ("end", "<i4")])


@dataclass(frozen=True)
class StoredDocument(Document):
    """A document as the files store keeps it: with its docs.jsonl line as read or last written,
    so an unchanged document is not encoded again (20k documents took ~0.4 s of every add at
    100k chunks). The line is set once, never changed."""

    line: str | None = field(default=None, repr=False, compare=False)

    def json_line(self) -> str:
        if self.line is None:
            # The key order every qabot wrote (the version's checksums cover these bytes).
            fields = {k: getattr(self, k) for k in ("doc_id", "title", "source", "text", "sha256")}
            if self.date:  # written only when set
                fields["date"] = self.date
            object.__setattr__(self, "line", json.dumps(fields, ensure_ascii=False))
        return self.line


@dataclass
class IndexData:
    """One version of the index in memory."""

    version: str
    manifest: Manifest
    docs: list[StoredDocument]
    chunks: np.ndarray  # CHUNK_DTYPE
    vectors: np.ndarray  # (n, dim) float32
    ann: object | None = None  # a faiss index when the manifest says approximate
    lexical: object | None = None  # a LexicalIndex; None when missing (rebuilt from chunks)
    sentence_vectors: np.ndarray | None = None  # (m, dim) float32, see the module docstring
    sentence_offsets: np.ndarray | None = None  # (chunks + 1,) int64
    _doc_pos: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._doc_pos = {d.doc_id: i for i, d in enumerate(self.docs)}

    @property
    def model_id(self) -> str:
        return self.manifest.model_id

    def chunk(self, i: int) -> Chunk:
        row = self.chunks[i]
        doc = self.docs[int(row["doc"])]
        start, end = int(row["start"]), int(row["end"])
        return Chunk(doc.doc_id, doc.title, doc.source, start, end, doc.text[start:end], doc.date)

    def document(self, doc_id: str) -> StoredDocument | None:
        pos = self._doc_pos.get(doc_id)
        return None if pos is None else self.docs[pos]

    def chunk_days(self) -> np.ndarray | None:
        """Each chunk's document date as a day number (`dates.day_number`, -1 when undated), or
        None when no document is dated."""
        if not any(d.date for d in self.docs):
            return None
        from qabot.ingest.dates import day_number

        days = np.array([day_number(d.date) for d in self.docs], dtype=np.int64)
        return days[self.chunks["doc"].astype(np.int64)]

    def doc_chunk_rows(self) -> dict[str, np.ndarray]:
        """Row numbers of each document's chunks (for reusing vectors in an incremental build)."""
        order = np.argsort(self.chunks["doc"], kind="stable")
        docs_sorted = self.chunks["doc"][order]
        bounds = np.searchsorted(docs_sorted, np.arange(len(self.docs) + 1))
        return {d.doc_id: order[bounds[i] : bounds[i + 1]] for i, d in enumerate(self.docs)}


class VersionFolders:
    """Reads and writes index versions below one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = BuildLock(self.root)

    # -- reading ---------------------------------------------------------------------------
    def current_version(self) -> str | None:
        """The live version's name, or None when nothing is built. CURRENT that cannot be read
        or names no version this module writes raises IndexCorruptError."""
        path = self.root / CURRENT
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            raise not_a_folder(self.root) from None
        except OSError as exc:
            raise IndexCorruptError(
                f"cannot read {path} ({exc.strerror or exc}): fix its permissions, or run "
                "`qabot index rebuild`"
            ) from exc
        name = raw.decode("utf-8", errors="replace").strip()
        if not name:
            return None
        if not VERSION_NAME.fullmatch(name):
            raise IndexCorruptError(
                f"{path} is damaged (it does not name an index version): run `qabot index rebuild`"
            )
        return name

    def exists(self) -> bool:
        return self.current_version() is not None

    def read_manifest(self, version: str | None = None) -> Manifest:
        version = version or self._require_version()
        return Manifest.read(root=self.root, version=version)

    def verify(self, version: str | None = None, *, hash_limit: int | None = None) -> Verification:
        """Check every file of a version (the current one by default) against the sizes and
        SHA-256 checksums in its manifest; files over `hash_limit` bytes by size only."""
        version = version or self._require_version()
        return _check_files(self.root / version, self.read_manifest(version), hash_limit)

    def load(self, *, expect_model_id: str | None = None) -> IndexData:
        version = self._require_version()
        manifest = self.read_manifest(version)
        if expect_model_id and manifest.model_id != expect_model_id:
            raise IndexMismatchError(
                f"the index was built with {manifest.model_id} but settings select "
                f"{expect_model_id}: run `qabot index rebuild`, or set QABOT_EMBEDDER/QABOT_MODEL "
                "back to what built it"
            )
        folder = self.root / version
        check = _check_files(folder, manifest, HASH_ON_LOAD_BYTES)
        if check.problems:
            raise IndexCorruptError(
                f"index files in {folder} are damaged ({'; '.join(check.problems[:3])}): "
                "run `qabot index rebuild`"
            )
        try:
            docs = []
            for name, rows in _row_files(manifest.doc_files, DOC_FILE, manifest.documents):
                text = (folder / name).read_text(encoding="utf-8")
                part = [_stored_document(ln) for ln in text.split("\n") if ln]
                if len(part) != rows:
                    raise ValueError(f"{name} does not match the manifest")
                docs.extend(part)
            chunks = np.load(folder / "chunks.npy", allow_pickle=False)
            parts = []
            for name, rows in _row_files(manifest.vector_files, VECTOR_FILE, manifest.chunks):
                parts.append(np.load(folder / name, allow_pickle=False))
                if len(parts[-1]) != rows:
                    raise ValueError(f"{name} does not match the manifest")
            vectors = parts[0] if len(parts) == 1 else np.concatenate(parts)
        except _DAMAGED as exc:
            raise IndexCorruptError(
                f"index files in {folder} are damaged ({exc.__class__.__name__}): "
                "run `qabot index rebuild`"
            ) from exc
        n = manifest.chunks
        if (
            chunks.dtype != CHUNK_DTYPE
            or chunks.ndim != 1
            or vectors.dtype != np.float32
            or vectors.ndim != 2
            or len(chunks) != n
            or len(vectors) != n
            or vectors.shape[1] != manifest.dim
            or len(docs) != manifest.documents
            or not _chunks_fit(chunks, docs)
        ):
            raise IndexCorruptError(
                f"index files in {folder} do not match its manifest: run `qabot index rebuild`"
            )
        ann = None
        if manifest.ann_kind != "flat":
            from qabot.search import ann as ann_mod

            ann = ann_mod.load_index(folder / "faiss.index")
            if ann.ntotal != n or ann.d != vectors.shape[1]:
                raise IndexCorruptError(
                    f"the vector index in {folder} does not match its manifest: "
                    "run `qabot index rebuild`"
                )
        from qabot.search.lexical import FOLDER, LexicalIndex

        lexical = LexicalIndex.load(folder / FOLDER) if (folder / FOLDER).is_dir() else None
        if lexical is not None and lexical.n_rows != n:
            lexical = None
        data = IndexData(version, manifest, docs, chunks, vectors, ann, lexical)
        if manifest.sentences is not None:
            data.sentence_vectors, data.sentence_offsets = _load_sentences(folder, manifest)
        return data

    def size_bytes(self, version: str | None = None) -> int:
        version = version or self.current_version()
        if not version:
            return 0
        folder = self.root / version
        return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())

    def _require_version(self) -> str:
        version = self.current_version()
        if version is None:
            raise IndexMissingError(f"no index in {self.root}/: run `qabot index build`")
        if not (self.root / version).is_dir():
            raise IndexCorruptError(
                f"{self.root / CURRENT} names {version}, which is missing: run `qabot index rebuild`"
            )
        return version

    # -- writing ---------------------------------------------------------------------------
    def lock(self) -> BuildLock:
        """Held for a whole build (qabot/stores/lock.py)."""
        return self._lock

    def write(
        self,
        *,
        manifest: Manifest,
        docs: list[StoredDocument],
        chunks: np.ndarray,
        vectors: np.ndarray,
        ann_index: object | None = None,
        lexical: object | None = None,
        appended_to: IndexData | None = None,
        sentences: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> IndexData:
        """Write a complete new version and make it current; returns it as `load` would read
        it, so a caller holding the data need not read it back. Call with the lock held.

        `appended_to`: the current version, when its vectors are the first rows of `vectors`
        (a build that only added documents). Its vector files are then hard-linked into the new
        version and only the new rows written: safe because no file of a version is ever
        written again after its folder is renamed into place, and a link survives the removal
        of the old folder."""
        # Names sort by creation time (clean() keeps the newest), to the microsecond.
        now = time.time()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}"
        version = f"v-{stamp}-{secrets.token_hex(3)}"
        folder = self.root / version
        tmp = self.root / f".tmp-{version}"
        try:
            tmp.mkdir(parents=True)
            # The previous version's documents are a prefix when its docs are the same objects.
            prev_docs = appended_to.docs if appended_to is not None else []
            same_docs = len(prev_docs) <= len(docs) and all(
                a is b for a, b in zip(prev_docs, docs, strict=False)
            )
            doc_files = self._write_rows(
                tmp,
                docs,
                appended_to if same_docs else None,
                key="doc_files",
                default=DOC_FILE,
                count="documents",
                save=lambda path, part: _write_text(
                    path, "".join(d.json_line() + "\n" for d in part)
                ),
            )
            _save_npy(tmp / "chunks.npy", chunks.astype(CHUNK_DTYPE, copy=False))
            vector_files = self._write_rows(
                tmp,
                vectors,
                appended_to,
                key="vector_files",
                default=VECTOR_FILE,
                count="chunks",
                save=lambda path, part: _save_npy(
                    path, np.ascontiguousarray(part, dtype=np.float32)
                ),
            )
            if ann_index is not None:
                from qabot.search import ann as ann_mod

                ann_mod.save_index(ann_index, tmp / "faiss.index")
            if sentences is not None:  # written whole by every build (no appends yet)
                sentence_vectors = np.ascontiguousarray(sentences[0], dtype=np.float32)
                sentence_offsets = np.ascontiguousarray(sentences[1], dtype=np.int64)
                _save_npy(tmp / SENTENCE_VECTORS, sentence_vectors)
                _save_npy(tmp / SENTENCE_OFFSETS, sentence_offsets)
            if lexical is not None:
                from qabot.search.lexical import FOLDER

                lexical.save(tmp / FOLDER)
                for path in (tmp / FOLDER).iterdir():
                    fsync_file(path)
                fsync_dir(tmp / FOLDER)
            previous = self.root / appended_to.version if appended_to is not None else None
            manifest = replace(
                manifest,
                chunks=len(chunks),
                documents=len(docs),
                dim=int(vectors.shape[1]),
                vector_files=vector_files,
                doc_files=doc_files,
                sentences=len(sentence_vectors) if sentences is not None else None,
                checksums=_checksums(tmp, previous, appended_to),
            )
            manifest.write(tmp)
            fsync_dir(tmp)
            os.rename(tmp, folder)
            _write_text(self.root / f".{CURRENT}.tmp", version)
            os.replace(self.root / f".{CURRENT}.tmp", self.root / CURRENT)
            fsync_dir(self.root)
        except (OSError, RuntimeError) as exc:  # the previous version stays current
            # numpy (a short write) and faiss (RuntimeError) report a full disk without errno:
            # look at the disk before the cleanup frees what this build wrote.
            full = _disk_full(self.root)
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, OSError) and exc.errno is not None:
                raise write_error(self.root, exc) from exc
            if full:
                no_space = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                raise write_error(self.root, no_space) from exc
            raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        data = IndexData(
            version,
            manifest,
            docs,
            chunks.astype(CHUNK_DTYPE, copy=False),
            np.ascontiguousarray(vectors, dtype=np.float32),
            ann_index,
            lexical,
        )
        if sentences is not None:
            data.sentence_vectors, data.sentence_offsets = sentence_vectors, sentence_offsets
        return data

    def _write_rows(
        self, tmp: Path, rows, appended_to: IndexData | None, *, key, default, count, save
    ):
        """Write the file(s) holding `rows` (vectors or documents) into `tmp`; returns
        [file, rows] in row order. With `appended_to`, whose rows are the first of `rows`, its
        files are hard-linked and only the rest written. After MAX_ROW_FILES appends the small
        files are merged into one (the first, big file stays linked): a load opens few files."""
        linked: list[tuple[str, int]] = []
        if appended_to is not None:
            m = appended_to.manifest
            old = _row_files(getattr(m, key), default, getattr(m, count))
            if sum(n for _, n in old) <= len(rows):
                keep = old if len(old) < MAX_ROW_FILES else old[:1]
                try:
                    for name, n in keep:
                        os.link(self.root / appended_to.version / name, tmp / name)
                        linked.append((name, n))
                except OSError:  # no hard links here: write everything
                    for name, _ in linked:
                        (tmp / name).unlink(missing_ok=True)
                    linked = []
        start = sum(n for _, n in linked)
        if linked and start == len(rows):
            return linked
        stem, dot, ext = default.partition(".")
        name = default if not linked else f"{stem}.{len(linked)}{dot}{ext}"
        save(tmp / name, rows[start:])
        return [*linked, (name, len(rows) - start)]

    def clean(self, *, keep: int = 2) -> None:
        """Remove interrupted builds and all but the newest `keep` versions (current included).
        Call with the lock held. With CURRENT damaged, only the interrupted builds go."""
        try:
            current = self.current_version()
        except IndexCorruptError:  # a rebuild is about to replace it: keep every version
            current, keep = None, 10**9
        for p in self.root.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
        versions = sorted(p.name for p in self.root.glob("v-*") if p.is_dir())
        keep_set = set(versions[-keep:]) | ({current} if current else set())
        for name in versions:
            if name not in keep_set:
                shutil.rmtree(self.root / name, ignore_errors=True)


# What reading a damaged file can raise: np.load's EOFError on an empty file, ValueError on a bad
# header, UnicodeDecodeError (a ValueError) and JSONDecodeError in docs.jsonl, TypeError and
# KeyError for JSON of the wrong shape, MemoryError for a header claiming a huge array.
_DAMAGED = (OSError, EOFError, ValueError, TypeError, KeyError, IndexError, MemoryError)


def _digest(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _checksums(tmp: Path, previous: Path | None, appended_to: IndexData | None) -> dict:
    """{file: {"bytes", "sha256"}} for every file below `tmp`. A file hard-linked from the
    previous version (same inode) takes the previous manifest's entry instead of being read."""
    known = (appended_to.manifest.checksums if appended_to is not None else None) or {}
    out = {}
    for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
        name = path.relative_to(tmp).as_posix()
        entry = known.get(name)
        if entry is not None and previous is not None:
            try:
                if os.stat(previous / name).st_ino == path.stat().st_ino:
                    out[name] = entry
                    continue
            except OSError:
                pass
        out[name] = {"bytes": path.stat().st_size, "sha256": _digest(path)}
    return out


def _check_files(folder: Path, manifest: Manifest, hash_limit: int | None) -> Verification:
    """Every file the manifest lists, checked for its size, and for its SHA-256 when it is at
    most `hash_limit` bytes (None: all)."""
    check = Verification(folder.name)
    listed = manifest.checksums
    if listed is None:
        check.recorded = False
        return check
    if not isinstance(listed, dict):
        check.problems.append("the manifest's checksums are damaged")
        return check
    for name, entry in sorted(listed.items()):
        check.files += 1
        path = folder / name
        try:
            expected_size, expected_hash = int(entry["bytes"]), str(entry["sha256"])
            if Path(name).is_absolute() or ".." in Path(name).parts:
                raise ValueError(name)
        except (TypeError, KeyError, ValueError):
            check.problems.append(f"the manifest's entry for {name} is damaged")
            continue
        try:
            size = path.stat().st_size
            if size != expected_size:
                check.problems.append(f"{name} has {size} bytes, the manifest says {expected_size}")
            elif hash_limit is None or size <= hash_limit:
                check.hashed_bytes += size
                if _digest(path) != expected_hash:
                    check.problems.append(f"{name} is damaged (its checksum differs)")
        except FileNotFoundError:
            check.problems.append(f"{name} is missing")
        except OSError as exc:
            check.problems.append(f"{name} is unreadable ({exc.strerror or exc})")
    return check


def _stored_document(line: str) -> StoredDocument:
    """One docs.jsonl line; ValueError when it is not what `StoredDocument.json_line` writes."""
    fields = json.loads(line)
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise ValueError("a docs.jsonl line is not a document")
    return StoredDocument(**fields, line=line)


def _chunks_fit(chunks: np.ndarray, docs: list[StoredDocument]) -> bool:
    """Whether every chunk row points into its document (garbage rows would raise IndexError,
    or show an empty passage, at question time)."""
    if not len(chunks):
        return True
    doc = chunks["doc"].astype(np.int64)
    if doc.min() < 0 or doc.max() >= len(docs):
        return False
    lengths = np.array([len(d.text) for d in docs], dtype=np.int64)[doc]
    start, end = chunks["start"], chunks["end"]
    return bool(((start >= 0) & (start <= end) & (end <= lengths)).all())


def _load_sentences(folder: Path, manifest: Manifest) -> tuple[np.ndarray, np.ndarray]:
    """A version's sentence vectors and offsets, checked against its manifest."""
    try:
        vectors = np.load(folder / SENTENCE_VECTORS, allow_pickle=False)
        offsets = np.load(folder / SENTENCE_OFFSETS, allow_pickle=False)
    except _DAMAGED as exc:
        raise IndexCorruptError(
            f"sentence vectors in {folder} are damaged ({exc.__class__.__name__}): "
            "run `qabot index rebuild`"
        ) from exc
    if (
        vectors.dtype != np.float32
        or vectors.ndim != 2
        or offsets.dtype != np.int64
        or len(vectors) != manifest.sentences
        or vectors.shape[1] != manifest.dim
        or offsets.shape != (manifest.chunks + 1,)
        or offsets[0] != 0
        or offsets[-1] != len(vectors)
        or (np.diff(offsets) < 1).any()  # every chunk has a sentence (reduceat needs it)
    ):
        raise IndexCorruptError(
            f"sentence vectors in {folder} do not match its manifest: run `qabot index rebuild`"
        )
    return vectors, offsets


def _row_files(files: list | None, default: str, rows: int) -> list[tuple[str, int]]:
    """(file, rows) of a version's vectors or documents in row order (the manifest's
    "vector_files" or "doc_files"); the one `default` file of all `rows` when the manifest does
    not list them (versions written before files were linked)."""
    if files is None:
        return [(default, rows)]
    return [(str(name), int(rows)) for name, rows in files]


def _disk_full(folder: Path) -> bool:
    """Whether the disk holding `folder` has (almost) no space left."""
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.save(fh, array, allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())


def _write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
