"""Reading a folder of documents: text, Markdown, HTML, PDF, DOCX and jsonl corpora.

Every file either yields documents or a reason it was skipped; one bad file never stops a build.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qabot.errors import DocumentError, NoDocumentsError
from qabot.types import Document

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl"}
# Larger files are almost always a mistake (a video, a dump); say so instead of reading them.
MAX_FILE_BYTES = 512 * 1024 * 1024

log = logging.getLogger("qabot")


@dataclass
class FileEntry:
    """A supported file below the seeds folder, with the hash that decides if it changed."""

    path: Path
    rel: str  # posix path below seeds/, the user-visible name
    sha256: str
    size: int


@dataclass
class Scan:
    """What a folder holds: readable candidates and files skipped before reading."""

    files: list[FileEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def text_sha256(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def scan_folder(root: Path) -> Scan:
    """Supported files below `root`, recursively, in a stable order. Hidden files are ignored."""
    if not root.exists():
        raise NoDocumentsError(f"no documents folder {root}/: create it and put documents in it")
    if not root.is_dir():
        raise NoDocumentsError(f"{root} is not a folder: point QABOT_SEEDS_DIR at a folder")
    scan = Scan()
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if any(p.startswith(".") for p in rel_parts) or not path.is_file():
            continue
        rel = "/".join(rel_parts)
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED:
            scan.skipped.append((rel, f"unsupported file type {suffix or '(none)'}"))
            continue
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                scan.skipped.append((rel, f"too large ({size // 2**20} MiB)"))
                continue
            scan.files.append(FileEntry(path, rel, file_sha256(path), size))
        except OSError as exc:
            scan.skipped.append((rel, f"unreadable: {exc.strerror or exc}"))
    return scan


def read_file(entry: FileEntry) -> list[Document]:
    """The documents in one file. Raises DocumentError with the reason when there are none."""
    suffix = entry.path.suffix.lower()
    try:
        data = entry.path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"unreadable: {exc.strerror or exc}") from exc
    if not data.strip():
        raise DocumentError("empty file")
    if suffix == ".jsonl":
        return _read_jsonl(entry, data)
    if suffix == ".pdf":
        title, text = _read_pdf(data)
    elif suffix == ".docx":
        title, text = _read_docx(data)
    elif suffix in {".html", ".htm"}:
        title, text = _read_html(_decode(data))
    else:
        title, text = _read_text(_decode(data), markdown=suffix in {".md", ".markdown"})
    text = normalize_text(text)
    if not text:
        raise DocumentError("no text found")
    title = _clean_title(title) or _clean_title(text.split("\n", 1)[0]) or entry.path.stem
    return [Document(entry.rel, title, text, entry.rel, text_sha256(title, text))]


def iter_documents(scan: Scan) -> Iterator[tuple[FileEntry, list[Document] | DocumentError]]:
    for entry in scan.files:
        try:
            yield entry, read_file(entry)
        except DocumentError as exc:
            yield entry, exc


def normalize_text(text: str) -> str:
    """One newline convention, no trailing spaces, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _clean_title(title: str | None) -> str:
    title = re.sub(r"\s+", " ", (title or "")).strip().lstrip("#").strip()
    return title[:300]


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError("binary file, not text")
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    # Not UTF-8: newsrooms still have cp1251 and latin-1 files; accept a confident guess only.
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is None or best.chaos > 0.2:
        raise DocumentError("not decodable as text (not UTF-8, and no confident guess)")
    return data.decode(best.encoding, errors="replace")


def _read_text(text: str, *, markdown: bool) -> tuple[str | None, str]:
    if markdown:
        m = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
        return (m.group(1) if m else None), text
    return None, text


def _read_html(html: str) -> tuple[str | None, str]:
    import trafilatura

    text = trafilatura.extract(
        html, include_comments=False, include_tables=True, favor_recall=True, deduplicate=False
    )
    meta = trafilatura.extract_metadata(html)
    title = meta.title if meta is not None else None
    if not text:
        raise DocumentError("no main text found in the HTML")
    return title, text


def _read_pdf(data: bytes) -> tuple[str | None, str]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception as exc:
                raise DocumentError("encrypted PDF (needs a password)") from exc
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = meta.title if meta is not None else None
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"not a readable PDF ({exc.__class__.__name__})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise DocumentError("PDF has no text layer (scanned? run OCR first)")
    return title, text


def _read_docx(data: bytes) -> tuple[str | None, str]:
    import io
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError("not a readable .docx file") from exc
    paragraphs = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                paragraphs.append(" | ".join(cells))
    return document.core_properties.title or None, "\n".join(paragraphs)


def _read_jsonl(entry: FileEntry, data: bytes) -> list[Document]:
    """One document per line: {"doc_id", "title", "text"} (the evaluation data format)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError("jsonl is not UTF-8") from exc
    docs: list[Document] = []
    seen: set[str] = set()
    bad = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            body = normalize_text(str(row["text"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            bad += 1
            continue
        if not body:
            bad += 1
            continue
        key = str(row.get("doc_id") or row.get("id") or lineno)
        if key in seen:
            bad += 1
            continue
        seen.add(key)
        title = _clean_title(str(row.get("title") or "")) or key
        doc_id = f"{entry.rel}#{key}"
        docs.append(Document(doc_id, title, body, entry.rel, text_sha256(title, body)))
    if not docs:
        raise DocumentError(
            f"no usable lines (each needs a JSON object with a 'text' field; {bad} bad)"
        )
    if bad:
        log.warning("%s: skipped %d bad or duplicate line(s)", entry.rel, bad)
    return docs
