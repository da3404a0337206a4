"""Web pages (.html, .htm): the main text without menus and scripts, found by trafilatura."""

from __future__ import annotations

import re

from qabot.errors import DocumentError
from qabot.ingest.dates import parse_date
from qabot.ingest.text import MARKUP_BYTES_PER_CHAR, check_size, decode, one_document
from qabot.types import Document

# A page added by its link (qabot/ingest/links.py) is stored as HTML starting with this line:
# the URL is its source, which answers show, and the file keeps it through every rebuild.
LINK_MARK = "<!-- qabot-source: {url} -->\n"
_LINK_MARK = re.compile(r"\A<!-- qabot-source: (https?://[^\s<>]+) -->\n")


def read(data: bytes, *, name: str, max_chars: int) -> list[Document]:
    """A page titled and dated by its metadata; its source is the URL it was fetched from, if
    `qabot.ingest.links` stored it."""
    import trafilatura

    html = decode(data)
    check_size(len(html), max_chars * MARKUP_BYTES_PER_CHAR, max_chars, what="HTML")
    text = trafilatura.extract(
        html, include_comments=False, include_tables=True, favor_recall=True, deduplicate=False
    )
    meta = trafilatura.extract_metadata(html)
    title = meta.title if meta is not None else None
    if not text:
        raise DocumentError("no main text found in the HTML")
    date = parse_date(meta.date if meta is not None else None)
    document = one_document(
        name, title=title, text=text, date=date, source=link_source(html), max_chars=max_chars
    )
    return [document]


def link_source(html: str) -> str | None:
    """The URL a page stored by `qabot.ingest.links` was fetched from, None for other HTML."""
    match = _LINK_MARK.match(html)
    return match.group(1) if match else None
