"""jsonl corpora: one document per line, {"doc_id", "title", "text", "date"} (the evaluation
data format; "date" optional, else the file name's)."""

from __future__ import annotations

import json
import logging

from qabot.errors import DocumentError
from qabot.ingest.dates import date_in_name, parse_date
from qabot.ingest.text import clean_key, clean_title, normalize_text, text_sha256
from qabot.types import Document

log = logging.getLogger("qabot")


def read(data: bytes, *, name: str, max_chars: int) -> list[Document]:
    """A document per line, `name#doc_id` each. Lines that are not such an object (or whose
    text is not a string) are skipped and counted in one warning."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError("jsonl is not UTF-8") from exc
    docs: list[Document] = []
    seen: set[str] = set()
    bad: dict[str, list[int]] = {}
    name_date = date_in_name(name)
    too_long = f"more text than QABOT_MAX_DOCUMENT_CHARS allows ({max_chars:,} characters)"
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
            bad.setdefault(too_long, []).append(lineno)
            continue
        raw_key = row.get("doc_id") or row.get("id")
        key = clean_key(str(raw_key)) if isinstance(raw_key, str | int) else str(lineno)
        if key in seen:
            bad.setdefault("duplicate doc_id", []).append(lineno)
            continue
        seen.add(key)
        raw_title = row.get("title")
        title = clean_title(raw_title if isinstance(raw_title, str) else "") or key
        doc_id = f"{name}#{key}"
        date = parse_date(row.get("date")) or name_date
        docs.append(Document(doc_id, title, body, name, text_sha256(title, body), date))
    count = sum(len(lines) for lines in bad.values())
    if not docs and list(bad) == [too_long]:
        raise DocumentError(
            f"no usable lines: {_lines(bad[too_long])} {'has' if count == 1 else 'have'} "
            f"{too_long}: split the text over several lines (a document each), or raise "
            "QABOT_MAX_DOCUMENT_CHARS"
        )
    reasons = "; ".join(f"{what}: {_lines(lines)}" for what, lines in bad.items())
    if not docs:
        raise DocumentError(
            "no usable lines (each needs a JSON object with a 'text' string)"
            + (f": {reasons}" if reasons else "")
        )
    if bad:
        log.warning("%s: skipped %d bad line(s) (%s)", name, count, reasons)
    return docs


def _lines(numbers: list[int]) -> str:
    """ "line 3", "lines 1, 2, 3, 4, 5 and 7 more"."""
    shown = ", ".join(map(str, numbers[:5]))
    more = f" and {len(numbers) - 5} more" if len(numbers) > 5 else ""
    return f"line{'s' * (len(numbers) > 1)} {shown}{more}"


def _text_problem(row: dict) -> str:
    if "text" not in row:
        return "no 'text' field"
    kind = type(row["text"]).__name__
    return {"NoneType": "'text' is null", "dict": "'text' is an object"}.get(
        kind, f"'text' is a {kind}, not a string"
    )
