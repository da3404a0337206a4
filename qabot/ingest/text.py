"""Text as qabot keeps it, whatever format it came from: decoded, cleaned, capped, titled.

Every format's reader (`qabot.ingest.formats`) ends in `one_document` or uses these pieces, so
a document reads the same whether it was a .txt, a PDF or a line of a jsonl corpus.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from qabot.errors import DocumentError
from qabot.ingest.dates import date_in_name
from qabot.types import Document

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

log = logging.getLogger("qabot")


def one_document(
    name: str,
    *,
    title: str | None,
    text: str,
    max_chars: int,
    date: str = "",
    source: str | None = None,
) -> Document:
    """The document a file of one text holds: `text` cleaned and capped at `max_chars`, its title
    (else the text's first line, else the file name), its date (else one in the file's name),
    `source` (else `name`, the file's path below seeds/) for answers to show."""
    text = normalize_text(text)
    check_size(len(text), max_chars, max_chars)
    if not text:
        raise DocumentError("no text found")
    stem = Path(name).stem
    title = clean_title(title) or clean_title(text.split("\n", 1)[0]) or stem
    date = date or date_in_name(name)
    return Document(name, title, text, source or name, text_sha256(title, text), date)


def decode(data: bytes) -> str:
    """The text of a file's bytes: UTF-8 (with or without a BOM), UTF-16 with a BOM, UTF-8 with a
    few stray bytes, or a legacy 8-bit code page. DocumentError for binary data."""
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


def normalize_text(text: str) -> str:
    """One newline convention, no trailing spaces, at most one blank line in a row, no control
    characters, no lone surrogates."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n")
    text = _ESCAPES.sub("", text.replace("\x0c", "\n"))
    text = _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def printable(text: str) -> str:
    """`text` without terminal escape sequences and control characters (tab and newline stay):
    for showing text qabot did not write (an index built before documents were cleaned)."""
    return _PRINT_CONTROL.sub("", _ESCAPES.sub("", text))


def clean_title(title: str | None) -> str:
    """A title on one line: no control characters, no Markdown `#`, at most 300 characters."""
    title = re.sub(r"\s+", " ", _SURROGATE.sub("\ufffd", _CONTROL.sub("", title or "")))
    return title.strip().lstrip("#").strip()[:300]


def clean_key(key: str) -> str:
    """An id from inside a file (a jsonl line's doc_id) without control characters or lone
    surrogates."""
    return _SURROGATE.sub("\ufffd", _NAME_CONTROL.sub("", key))


def display_name(name: str) -> str:
    """A file name as qabot stores and shows it: bytes that are not UTF-8 (which Python keeps as
    surrogates) and control characters written as backslash escapes, e.g. `bad-\\xff.txt`."""
    name = os.fsencode(name).decode("utf-8", errors="backslashreplace")
    return _NAME_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", name)


def check_size(size: int, limit: int, max_chars: int, *, what: str = "text") -> None:
    """DocumentError naming QABOT_MAX_DOCUMENT_CHARS when `size` (characters of text, or bytes
    of `what` else) passes `limit`."""
    if size > limit:
        unit = "characters" if what == "text" else "bytes"
        raise DocumentError(
            f"too much {what} ({size:,} {unit}; QABOT_MAX_DOCUMENT_CHARS={max_chars:,} allows "
            f"{limit:,}): split the document, or raise QABOT_MAX_DOCUMENT_CHARS"
        )


def text_sha256(*parts: str) -> str:
    """The hash of a document's title and text: any edit of what is indexed changes it."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()
