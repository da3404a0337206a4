"""Turning answers into Telegram HTML messages: escaping, and splitting long replies.

A reply is built from `Block`s: plain text plus an optional tag around it. Text is escaped only
when a block is rendered, so document text full of ``<``, ``&``, ``*`` and ``_`` arrives intact.
Telegram refuses messages over 4096 characters; a long block is cut at paragraph, line, sentence
or word boundaries *before* it is wrapped in its tag, so a cut never falls inside a tag.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from qabot.bot.messages import text
from qabot.types import Hit

# Telegram's limit, in UTF-16 code units of the parsed text. We measure the rendered HTML, which is
# never shorter than the text Telegram counts, so a split message always fits.
MAX_MESSAGE = 4096
# A long block starts in the current message only if at least this much room is left.
MIN_PIECE = 400

# Coarsest first; each pattern matches the separator a piece may end with.
_BOUNDARIES = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?…»”\"])\s+"),
    re.compile(r"\s+"),
)


def escape(value: object) -> str:
    """Text safe inside Telegram HTML (quotes need no escaping outside attributes)."""
    return html.escape(str(value), quote=False)


def utf16_len(value: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts two)."""
    return len(value.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Block:
    """A paragraph of a reply: plain `text`, shown inside `tag` (b, i, code, blockquote) if set.
    `prefix` is trusted HTML kept in front of the first piece (a label such as "Source: ")."""

    text: str
    tag: str | None = None
    prefix: str = ""
    # A part of `text` shown in bold inside the tag (the answer sentence in its passage), in
    # whichever piece holds it when the block is split.
    bold: str = ""

    def render(self, text: str | None = None, *, first: bool = True) -> str:
        text = self.text if text is None else text
        body = _bolded(text, self.bold)
        if self.tag:
            body = f"<{self.tag}>{body}</{self.tag}>"
        return (self.prefix if first else "") + body


def _bolded(text: str, bold: str) -> str:
    """`text` escaped, `bold` in it in <b>. A bold part of several lines (an answer shown with
    the sentence before it) that a split cut in two is bolded line by line in each piece."""
    if not bold:
        return escape(text)
    parts = [bold] if bold in text else [line.strip() for line in bold.splitlines()]
    out, cursor = [], 0
    for part in parts:
        at = text.find(part, cursor) if part else -1
        if at < 0:
            continue
        out += [escape(text[cursor:at]), f"<b>{escape(part)}</b>"]
        cursor = at + len(part)
    return "".join(out) + escape(text[cursor:])


def split_text(text: str, fits: Callable[[str], bool], level: int = 0) -> list[str]:
    """Cut `text` into pieces that each satisfy `fits`, at the coarsest boundary that works."""
    if fits(text):
        return [text]
    if level == len(_BOUNDARIES):  # one unbreakable word longer than a message
        lo, hi = 1, len(text)  # the longest prefix that fits, by bisection
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if fits(text[:mid]) else (lo, mid - 1)
        cut = lo
        return [text[:cut], *split_text(text[cut:], fits, level)]
    parts, last = [], 0
    for m in _BOUNDARIES[level].finditer(text):
        parts.append(text[last : m.end()])
        last = m.end()
    parts.append(text[last:])
    pieces: list[str] = []
    current = ""
    for part in parts:
        if fits((current + part).strip()):  # separators at the ends are stripped below
            current += part
            continue
        if current:
            pieces.append(current)
        if fits(part.strip()):
            current = part
        else:
            pieces.extend(split_text(part, fits, level + 1))
            current = ""
    if current:
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


def render_messages(blocks: list[Block], *, limit: int = MAX_MESSAGE) -> list[str]:
    """The blocks as few HTML messages as possible, each within `limit`, in order. A block that
    fits in a message is never cut; a longer one starts in the space left and continues."""
    messages: list[str] = []
    current = ""

    def room() -> int:
        return limit - utf16_len(current) - (2 if current else 0)  # 2: the "\n\n" joint

    def add(part: str) -> None:
        nonlocal current
        current = f"{current}\n\n{part}" if current else part

    for block in blocks:
        if not block.text.strip():
            continue
        whole = block.render()
        if utf16_len(whole) <= room():
            add(whole)
            continue
        if utf16_len(whole) <= limit:
            messages.append(current)
            current = whole
            continue
        rest, first = block.text, True
        while rest.strip():
            budget = room() - (utf16_len(block.prefix) if first else 0)
            piece = _first_piece(block, rest, budget) if budget >= MIN_PIECE else None
            if piece is None:  # too little room left here: continue in a new message
                messages.append(current)
                current = ""
                continue
            add(block.render(piece, first=first))
            rest = rest[rest.find(piece) + len(piece) :]
            first = False
    if current:
        messages.append(current)
    return [m for m in messages if m]


def _first_piece(block: Block, text: str, budget: int) -> str | None:
    """The longest start of `text`, cut at a boundary, that renders within `budget`."""

    def fits(piece: str) -> bool:
        return utf16_len(block.render(piece, first=False)) <= budget

    pieces = split_text(text, fits)
    return pieces[0] if pieces else None


# -- the bot's replies -------------------------------------------------------------------------
def answer_blocks(hit: Hit, lang: str) -> list[Block]:
    """The answer: the reader's exact span when there is one, the passage with the answer
    sentence in bold (shown once, in its place), and the document's title."""
    blocks = []
    if hit.span:
        blocks.append(Block(hit.span, "b", _label("answer_label", lang)))
    blocks.append(Block(hit.chunk.text, "blockquote", bold=hit.sentence))
    blocks.append(Block(_source_name(hit), "i", _label("source_label", lang)))
    return blocks


def _source_name(hit: Hit) -> str:
    """The document's title; for a page added by its link, with the URL it came from."""
    name = hit.chunk.title or hit.chunk.source
    if hit.chunk.source.startswith(("http://", "https://")) and hit.chunk.source != name:
        name = f"{name} ({hit.chunk.source})"
    return name


def more_blocks(hits: list[Hit], lang: str) -> list[Block]:
    """Further passages, each under its rank and document title (kept with its first piece)."""
    blocks = []
    for hit in hits:
        heading = text("result_heading", lang, rank=hit.rank)
        title = escape(hit.chunk.title or hit.chunk.source)
        blocks.append(Block(hit.chunk.text, "blockquote", f"<b>{heading}</b> · <i>{title}</i>\n"))
    return blocks


def source_blocks(hit: Hit, context: str, lang: str) -> list[Block]:
    """The text around a passage, under the document's title and file."""
    name = hit.chunk.title or hit.chunk.source
    if hit.chunk.source and hit.chunk.source != name:
        name = f"{name} ({hit.chunk.source})"
    return [Block(context, "blockquote", f"{_label('source_label', lang)}<i>{escape(name)}</i>\n")]


def _label(key: str, lang: str) -> str:
    return f"<b>{text(key, lang)}</b>: "
