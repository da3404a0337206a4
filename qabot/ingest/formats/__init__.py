"""The formats qabot reads, one module each, and the registry that picks a file's reader.

Every reader has the same signature, `read(data, *, name, max_chars) -> list[Document]`: the
file's bytes, its path below seeds/, and QABOT_MAX_DOCUMENT_CHARS; it returns the file's
documents or raises DocumentError with the reason it has none. Adding a format is a module
with such a reader and a line in FORMATS; scanning, uploads and every message listing the
formats follow from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from qabot.errors import DocumentError
from qabot.ingest.formats import docx, html, jsonl, pdf, plain
from qabot.ingest.text import MAX_DOCUMENT_CHARS, display_name
from qabot.types import Document


class ScannedFile(Protocol):
    """A file found below seeds/ (`qabot.ingest.scan.FileEntry`, which imports this module for
    the suffixes it lists)."""

    path: Path
    rel: str


class Reader(Protocol):
    def __call__(self, data: bytes, *, name: str, max_chars: int) -> list[Document]: ...


@dataclass(frozen=True)
class Format:
    """A file format: the suffixes it is recognised by (the first is the one named to users,
    the others are aliases) and its reader."""

    suffixes: tuple[str, ...]
    read: Reader


FORMATS = (
    Format((".txt",), plain.read_text),
    Format((".md", ".markdown"), plain.read_markdown),
    Format((".html", ".htm"), html.read),
    Format((".pdf",), pdf.read),
    Format((".docx",), docx.read),
    Format((".jsonl",), jsonl.read),
)
_READERS = {suffix: fmt.read for fmt in FORMATS for suffix in fmt.suffixes}


def supported_suffixes() -> frozenset[str]:
    """Every suffix qabot reads, lower case with its dot, aliases included (".htm")."""
    return frozenset(_READERS)


def format_names(*, dots: bool = True) -> list[str]:
    """The formats as users know them, one suffix each: [".txt", ".md", ..., ".jsonl"]."""
    return [fmt.suffixes[0] if dots else fmt.suffixes[0].removeprefix(".") for fmt in FORMATS]


def formats_text(*, dots: bool = True, last: str = "or") -> str:
    """The formats as a message names them: ".txt, .md, .html, .pdf, .docx or .jsonl"; with
    `dots=False` and `last="або"`, "txt, md, html, pdf, docx або jsonl"."""
    *names, final = format_names(dots=dots)
    return f"{', '.join(names)} {last} {final}" if names else final


def unsupported(suffix: str) -> str:
    """The reason a file of type `suffix` ("" for none) is not read."""
    return f"unsupported file type {display_name(suffix) or '(none)'}"


def read_file(entry: ScannedFile, *, max_chars: int = MAX_DOCUMENT_CHARS) -> list[Document]:
    """The documents in one file, read by its format's reader. Raises DocumentError with the
    reason when there are none, or when one holds more than `max_chars` characters of text
    (QABOT_MAX_DOCUMENT_CHARS)."""
    read = _READERS.get(entry.path.suffix.lower())
    if read is None:
        raise DocumentError(unsupported(entry.path.suffix.lower()))
    try:
        data = entry.path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"unreadable: {exc.strerror or exc}") from exc
    if not data.strip():
        raise DocumentError("empty file")
    return read(data, name=entry.rel, max_chars=max_chars)
