"""Helpers for the format tests: a file's entry without a scan, small .docx files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from qabot.ingest.formats import read_file
from qabot.ingest.scan import FileEntry, scan_folder
from qabot.types import Document


def entry(path: Path) -> FileEntry:
    return FileEntry(path, path.name, "", path.stat().st_size)


def read_one(folder: Path, name: str) -> list[Document]:
    """The documents of `name` below `folder`, found by a scan as a build finds it."""
    (found,) = [f for f in scan_folder(folder).files if f.rel == name]
    return read_file(found)


def make_docx(paragraphs: list[str], *, extra_member: bytes | None = None) -> bytes:
    """A .docx of `paragraphs`, with `extra_member` as one more file in its zip if given."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    if extra_member is None:
        return buffer.getvalue()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(buffer) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("word/padding.xml", extra_member)
    return out.getvalue()
