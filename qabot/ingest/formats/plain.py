"""Plain text (.txt) and Markdown (.md, .markdown): the text as it is, in whatever encoding."""

from __future__ import annotations

import re

from qabot.ingest.dates import declared_date
from qabot.ingest.text import decode, one_document
from qabot.types import Document

_HEADING = re.compile(r"^#\s+(.+)$", flags=re.MULTILINE)


def read_text(data: bytes, *, name: str, max_chars: int) -> list[Document]:
    """A text file: titled by its first line, dated by a `Date:` line near its top."""
    text = decode(data)
    return [
        one_document(name, title=None, text=text, date=declared_date(text), max_chars=max_chars)
    ]


def read_markdown(data: bytes, *, name: str, max_chars: int) -> list[Document]:
    """A Markdown file: titled by its first `# heading`, dated by its front matter."""
    text = decode(data)
    heading = _HEADING.search(text)
    title = heading.group(1) if heading else None
    return [
        one_document(name, title=title, text=text, date=declared_date(text), max_chars=max_chars)
    ]
