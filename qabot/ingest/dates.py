"""A document's date, where the document says it: news is read against its time.

A date comes from what a document declares, never from the file's modification time (copying a
folder gives every file today's date): a jsonl line's "date" field, an HTML page's metadata
(trafilatura finds it), a Markdown or text file's front matter (``date: 2024-12-04``), else a date
in the file's name (``ukrinform-nato-2024-12-04.txt``, ``20241204-nato.md``). Dates are kept as
ISO ``YYYY-MM-DD`` strings ("" when unknown).
"""

from __future__ import annotations

import datetime as dt
import re

# 2024-12-04, 2024/12/04, 2024.12.04, 2024_12_04, or 20241204; a time after it is ignored.
_DATE = r"(?P<y>(?:19|20)\d\d)(?P<sep>[-/._]?)(?P<m>\d\d)(?P=sep)(?P<d>\d\d)"
_LEADING = re.compile(r"\s*" + _DATE)
_IN_NAME = re.compile(r"(?<!\d)" + _DATE + r"(?!\d)")
# Front matter: a first block between --- lines holding "date: ..." (Jekyll, Hugo, Pandoc), or
# such a line among the first lines of a plain text ("Date: 2024-12-04", "Published: ...").
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_DATE_LINE = re.compile(
    r"^\s*(?:date|published|published_at|pubdate)\s*:\s*['\"]?(.+?)['\"]?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
HEADER_LINES = 5


def parse_date(value: object) -> str:
    """An ISO date from a value that starts with one (``2022/06/16``, ``2022-06-16T10:00Z``,
    ``20220616``), else ""."""
    if not isinstance(value, str):
        return ""
    m = _LEADING.match(value)
    return _valid(m) if m else ""


def date_in_name(name: str) -> str:
    """The last date written in a file name or path, else ""."""
    found = ""
    for m in _IN_NAME.finditer(name):
        found = _valid(m) or found
    return found


def declared_date(text: str) -> str:
    """The date a Markdown or text document declares in its front matter or its first lines."""
    front = _FRONT_MATTER.match(text)
    head = front.group(1) if front else "\n".join(text.split("\n", HEADER_LINES)[:HEADER_LINES])
    m = _DATE_LINE.search(head)
    return parse_date(m.group(1)) if m else ""


def day_number(iso: str) -> int:
    """Days since 0001-01-01 for an ISO date (what ages are computed from); -1 for ""."""
    return dt.date.fromisoformat(iso).toordinal() if iso else -1


def _valid(m: re.Match) -> str:
    try:
        return dt.date(int(m["y"]), int(m["m"]), int(m["d"])).isoformat()
    except ValueError:  # 2024-13-45: digits, not a date
        return ""
