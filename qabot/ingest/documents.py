"""Reading a folder of documents: text, Markdown, HTML, PDF, DOCX and jsonl corpora.

Every file either yields documents or a reason it was skipped; one bad file never stops a build.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qabot.errors import DocumentError, NoDocumentsError
from qabot.ingest.dates import date_in_name, declared_date, parse_date
from qabot.types import Document

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl"}
# Larger files are almost always a mistake (a video, a dump); say so instead of reading them.
MAX_FILE_BYTES = 512 * 1024 * 1024
# QABOT_MAX_DOCUMENT_CHARS's default: ~2,500 pages, ~10,000 passages. A document is capped by
# the text it unpacks to, not only by its file size: a 2 MB .docx can hold 800 MB of XML.
MAX_DOCUMENT_CHARS = 5_000_000
# Office XML carries a few bytes of markup per character of text; a .docx (or .html) whose
# unpacked size passes this many bytes per allowed character is refused before it is parsed.
MARKUP_BYTES_PER_CHAR = 10
# Control characters (C0 but tab and newline, DEL, C1) are dropped from documents: ESC sequences
# would reach the terminal of whoever reads an answer. Lone surrogates (from JSON escapes)
# cannot be written as UTF-8.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# Terminal escape sequences (CSI such as ESC[31m, OSC such as a title or a hyperlink) go whole.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# ASCII and U+FFFD: what is left are the valid multi-byte characters of a UTF-8 decoding.
_NOT_MULTIBYTE = re.compile(r"[\x00-\x7f\ufffd]+")
_WESTERN_LETTER = re.compile(r"[À-ÖØ-öø-ÿŒœŠšŽžŸ]")
# Anything non-ASCII that is neither such a letter nor usual punctuation (’ “ ” – — … € « » °).
_NOT_WESTERN = re.compile(r"[^\x00-\x7fÀ-ÖØ-öø-ÿŒœŠšŽžŸ‘’‚“”„–—…€«»°§©®™·•¡¿£\xa0]")
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PRINT_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline
# A page added by its link (qabot/ingest/links.py) is stored as HTML starting with this line: the URL
# is its source, which answers show, and the file keeps it through every rebuild.
LINK_MARK = "<!-- qabot-source: {url} -->\n"
_LINK_MARK = re.compile(r"\A<!-- qabot-source: (https?://[^\s<>]+) -->\n")

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


def scan_folder(root: Path, *, follow_external_links: bool = False) -> Scan:
    """Supported files below `root`, recursively, in a stable order. Hidden files are ignored;
    links that lead nowhere or outside `root` (unless `follow_external_links`), FIFOs and
    other special files are listed as skipped, never opened."""
    if not root.exists():
        raise NoDocumentsError(f"no documents folder {root}/: create it and put documents in it")
    if not root.is_dir():
        raise NoDocumentsError(f"{root} is not a folder: point QABOT_SEEDS_DIR at a folder")
    scan = Scan()
    real_root = root.resolve()
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if any(p.startswith(".") for p in rel_parts):
            continue
        rel = display_name("/".join(rel_parts))
        reason = _not_a_document(path, real_root, follow_external_links)
        if reason == "folder":
            continue
        if reason:
            scan.skipped.append((rel, reason))
            continue
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED:
            scan.skipped.append((rel, f"unsupported file type {display_name(suffix) or '(none)'}"))
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


def display_name(name: str) -> str:
    """A file name as qabot stores and shows it: bytes that are not UTF-8 (which Python keeps as
    surrogates) and control characters written as backslash escapes, e.g. `bad-\\xff.txt`."""
    name = os.fsencode(name).decode("utf-8", errors="backslashreplace")
    return _NAME_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", name)


def _not_a_document(path: Path, real_root: Path, follow_external_links: bool) -> str | None:
    """Why `path` is not read as a document ("folder" for a real folder), None for a regular
    file. Links are resolved first: a dangling one or a loop is reported, not followed."""
    try:
        if path.is_symlink():
            target = path.resolve(strict=True)
            if target.is_dir():
                return "a link to a folder (links to folders are not followed)"
            if not follow_external_links and not target.is_relative_to(real_root):
                return (
                    "a link to a file outside the documents folder (set "
                    "QABOT_FOLLOW_EXTERNAL_LINKS=true to index such files)"
                )
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a broken link (its target does not exist)"
    except RuntimeError:  # Python < 3.13 reports a link loop so
        return "a link loop"
    except OSError as exc:
        return "a link loop" if exc.errno == errno.ELOOP else f"unreadable: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return "folder"
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket or device"
        return f"not a regular file ({kind})"
    return None


def read_file(entry: FileEntry, *, max_chars: int = MAX_DOCUMENT_CHARS) -> list[Document]:
    """The documents in one file. Raises DocumentError with the reason when there are none,
    or when one holds more than `max_chars` characters of text (QABOT_MAX_DOCUMENT_CHARS)."""
    suffix = entry.path.suffix.lower()
    try:
        data = entry.path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"unreadable: {exc.strerror or exc}") from exc
    if not data.strip():
        raise DocumentError("empty file")
    if suffix == ".jsonl":
        return _read_jsonl(entry, data, max_chars=max_chars)
    date = ""
    source = entry.rel
    if suffix == ".pdf":
        title, text = _read_pdf(data, max_chars=max_chars)
    elif suffix == ".docx":
        title, text = _read_docx(data, max_chars=max_chars)
    elif suffix in {".html", ".htm"}:
        html = _decode(data)
        _check_size(len(html), max_chars * MARKUP_BYTES_PER_CHAR, max_chars, what="HTML")
        title, text, date = _read_html(html)
        source = link_source(html) or source
    else:
        title, text = _read_text(_decode(data), markdown=suffix in {".md", ".markdown"})
        date = declared_date(text)
    text = normalize_text(text)
    _check_size(len(text), max_chars, max_chars)
    if not text:
        raise DocumentError("no text found")
    stem = Path(entry.rel).stem
    title = _clean_title(title) or _clean_title(text.split("\n", 1)[0]) or stem
    date = date or date_in_name(entry.rel)
    return [Document(entry.rel, title, text, source, text_sha256(title, text), date)]


def link_source(html: str) -> str | None:
    """The URL a page stored by `qabot.ingest.links` was fetched from, None for other HTML."""
    match = _LINK_MARK.match(html)
    return match.group(1) if match else None


def _check_size(size: int, limit: int, max_chars: int, *, what: str = "text") -> None:
    if size > limit:
        unit = "characters" if what == "text" else "bytes"
        raise DocumentError(
            f"too much {what} ({size:,} {unit}; QABOT_MAX_DOCUMENT_CHARS={max_chars:,} allows "
            f"{limit:,}): split the document, or raise QABOT_MAX_DOCUMENT_CHARS"
        )


def printable(text: str) -> str:
    """`text` without terminal escape sequences and control characters (tab and newline stay):
    for showing text qabot did not write (an index built before documents were cleaned)."""
    return _PRINT_CONTROL.sub("", _ESCAPES.sub("", text))


def normalize_text(text: str) -> str:
    """One newline convention, no trailing spaces, at most one blank line in a row, no control
    characters, no lone surrogates."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n")
    text = _ESCAPES.sub("", text.replace("\x0c", "\n"))
    text = _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _clean_title(title: str | None) -> str:
    title = re.sub(r"\s+", " ", _SURROGATE.sub("\ufffd", _CONTROL.sub("", title or "")))
    return title.strip().lstrip("#").strip()[:300]


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
    # UTF-8 with a few stray bytes (a bad paste, a cut download) has more valid multi-byte
    # characters than broken ones; a legacy 8-bit file has almost none. Keep the former's text,
    # with U+FFFD for the stray bytes, instead of skipping the whole file.
    text = data.decode("utf-8-sig", errors="replace")
    broken = text.count("\ufffd") - data.count("\ufffd".encode())
    if len(_NOT_MULTIBYTE.sub("", text)) > broken:
        log.warning("%d byte(s) are not UTF-8: replaced with U+FFFD", broken)
        return text
    # Not UTF-8: newsrooms still have cp1251 and latin-1 files. Western European text first:
    # on short French or German text charset-normalizer's best guess is often a Baltic or
    # Central European code page ("déçu" read as "déįu"); checked alone, cp1252 (a superset
    # of latin-1's letters) is only accepted when the text reads as plausible.
    from charset_normalizer import from_bytes

    sample = data[: 1 << 20]
    western = from_bytes(sample, cp_isolation=["cp1252"]).best()
    if (western is not None and western.chaos <= 0.1) or _looks_western(sample):
        return data.decode("cp1252", errors="replace")
    best = from_bytes(sample).best()
    if best is None or best.chaos > 0.2:
        raise DocumentError("not decodable as text (not UTF-8, and no confident guess)")
    return data.decode(best.encoding, errors="replace")


def _looks_western(data: bytes) -> bool:
    """Whether `data` read as cp1252 looks like Western European text: every non-ASCII character
    an accented Latin letter or common punctuation, and accented letters under 30 % of letters
    (French ~3 %, German ~2 %). charset-normalizer gives up on short text ("Ça a été déçu" is
    Urdu to it); Cyrillic or Greek read as cp1252 is all accented letters."""
    text = data.decode("cp1252", errors="replace")
    accented = _WESTERN_LETTER.findall(text)
    if not accented or _NOT_WESTERN.search(text):
        return False
    letters = sum(1 for ch in text if ch.isalpha())
    return len(accented) <= 0.3 * letters


def _read_text(text: str, *, markdown: bool) -> tuple[str | None, str]:
    if markdown:
        m = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
        return (m.group(1) if m else None), text
    return None, text


def _read_html(html: str) -> tuple[str | None, str, str]:
    import trafilatura

    text = trafilatura.extract(
        html, include_comments=False, include_tables=True, favor_recall=True, deduplicate=False
    )
    meta = trafilatura.extract_metadata(html)
    title = meta.title if meta is not None else None
    if not text:
        raise DocumentError("no main text found in the HTML")
    return title, text, parse_date(meta.date if meta is not None else None)


def _read_pdf(data: bytes, *, max_chars: int) -> tuple[str | None, str]:
    import io

    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # An owner password alone (printing or copying restricted) still opens with "".
            try:
                opened = reader.decrypt("")
            except DependencyError as exc:
                raise DocumentError(
                    "encrypted PDF (AES) and the `cryptography` package is missing: "
                    "pip install cryptography"
                ) from exc
            except (NotImplementedError, PdfReadError) as exc:
                raise DocumentError(f"encrypted PDF qabot cannot open ({exc})") from exc
            if opened == PasswordType.NOT_DECRYPTED:
                raise DocumentError(
                    "encrypted PDF that needs a password to open: save a copy without it"
                )
        pages, size = [], 0
        for page in reader.pages:
            pages.append((page.extract_text() or "").strip())
            size += len(pages[-1])
            _check_size(size, max_chars, max_chars)  # before extracting thousands more pages
        meta = reader.metadata
        title = meta.title if meta is not None else None
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"not a readable PDF ({exc.__class__.__name__})") from exc
    text = "\n\n".join(p for p in pages if p)
    if not text:
        raise DocumentError("PDF has no text layer (scanned? run OCR first)")
    return title, text


def _read_docx(data: bytes, *, max_chars: int) -> tuple[str | None, str]:
    import io
    import zipfile

    import docx

    try:
        # The sizes a zip declares are the most its members can unpack to (zipfile stops
        # there), so a zip bomb is refused before python-docx parses any of it.
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        # Pictures unpack to about their packed size: allowed on top of the text's markup.
        limit = max_chars * MARKUP_BYTES_PER_CHAR + 2 * len(data)
        _check_size(unpacked, limit, max_chars, what="unpacked XML")
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError("not a readable .docx file") from exc
    paragraphs: list[str] = []
    size = 0
    for text in _docx_texts(document):
        paragraphs.append(text)
        size += len(text) + 1
        _check_size(size, max_chars, max_chars)  # while extracting, not after
    return document.core_properties.title or None, "\n".join(paragraphs)


def _docx_texts(document) -> Iterator[str]:
    """A .docx's paragraphs, then its tables a row per line ("cell | cell")."""
    for paragraph in document.paragraphs:
        if paragraph.text.strip():
            yield paragraph.text
    for table in document.tables:
        for row in table.rows:
            cells, seen = [], set()
            for cell in row.cells:
                # python-docx lists a merged cell once per grid column it spans: once here.
                if id(cell._tc) in seen:
                    continue
                seen.add(id(cell._tc))
                if cell.text.strip():
                    cells.append(cell.text.strip())
            if cells:
                yield " | ".join(cells)


def _read_jsonl(entry: FileEntry, data: bytes, *, max_chars: int) -> list[Document]:
    """One document per line: {"doc_id", "title", "text", "date"} (the evaluation data format;
    "date" optional, else the file name's). Lines
    that are not such an object (or whose text is not a string) are skipped and counted."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError("jsonl is not UTF-8") from exc
    docs: list[Document] = []
    seen: set[str] = set()
    bad: dict[str, list[int]] = {}
    name_date = date_in_name(entry.rel)
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad.setdefault("not JSON", []).append(lineno)
            continue
        body = row.get("text") if isinstance(row, dict) else None
        if not isinstance(body, str):
            what = "not an object" if not isinstance(row, dict) else _text_problem(row)
            bad.setdefault(what, []).append(lineno)
            continue
        body = normalize_text(body)
        if not body:
            bad.setdefault("empty text", []).append(lineno)
            continue
        if len(body) > max_chars:
            bad.setdefault("text over QABOT_MAX_DOCUMENT_CHARS", []).append(lineno)
            continue
        raw_key = row.get("doc_id") or row.get("id")
        if isinstance(raw_key, str | int):
            key = _SURROGATE.sub("\ufffd", _NAME_CONTROL.sub("", str(raw_key)))
        else:
            key = str(lineno)
        if key in seen:
            bad.setdefault("duplicate doc_id", []).append(lineno)
            continue
        seen.add(key)
        raw_title = row.get("title")
        title = _clean_title(raw_title if isinstance(raw_title, str) else "") or key
        doc_id = f"{entry.rel}#{key}"
        date = parse_date(row.get("date")) or name_date
        docs.append(Document(doc_id, title, body, entry.rel, text_sha256(title, body), date))
    count = sum(len(lines) for lines in bad.values())
    if not docs:
        raise DocumentError(
            f"no usable lines (each needs a JSON object with a 'text' string; {count} bad)"
        )
    if bad:
        reasons = "; ".join(
            f"{what}: line{'s' * (len(lines) > 1)} {', '.join(map(str, lines[:5]))}"
            + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
            for what, lines in bad.items()
        )
        log.warning("%s: skipped %d bad line(s) (%s)", entry.rel, count, reasons)
    return docs


def _text_problem(row: dict) -> str:
    if "text" not in row:
        return "no 'text' field"
    kind = type(row["text"]).__name__
    return {"NoneType": "'text' is null", "dict": "'text' is an object"}.get(
        kind, f"'text' is a {kind}, not a string"
    )
