"""Word documents (.docx): paragraphs, then tables a row per line, read by python-docx."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from qabot.errors import DocumentError
from qabot.ingest.text import MARKUP_BYTES_PER_CHAR, check_size, one_document
from qabot.types import Document


def read(data: bytes, *, name: str, max_chars: int) -> list[Document]:
    """A .docx titled by its core properties; refused unparsed when it unpacks to too much XML."""
    import docx  # python-docx

    try:
        # The sizes a zip declares are the most its members can unpack to (zipfile stops
        # there), so a zip bomb is refused before python-docx parses any of it.
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        # Pictures unpack to about their packed size: allowed on top of the text's markup.
        limit = max_chars * MARKUP_BYTES_PER_CHAR + 2 * len(data)
        check_size(unpacked, limit, max_chars, what="unpacked XML")
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError("not a readable .docx file") from exc
    paragraphs: list[str] = []
    size = 0
    for text in _texts(document):
        paragraphs.append(text)
        size += len(text) + 1
        check_size(size, max_chars, max_chars)  # while extracting, not after
    title = document.core_properties.title or None
    return [one_document(name, title=title, text="\n".join(paragraphs), max_chars=max_chars)]


def _texts(document) -> Iterator[str]:
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
