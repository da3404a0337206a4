"""Telegram's HTML parse mode, checked the way the Bot API checks it.

Only the tags Telegram supports are accepted, every tag must be closed in order, and ``&`` must
start one of the entities Telegram knows. On failure the Bot API answers 400 "can't parse
entities: ..."; this module raises `EntityParseError` with the same wording. It is a little
stricter than Telegram in one place (any ``&`` not starting an entity is refused), which only
makes escaping mistakes easier to catch.
"""

from __future__ import annotations

import html
import re

SUPPORTED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji", "tg-time",
}  # fmt: skip
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)\s*>")


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message is the Bot API's description."""


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def parse_html(text: str) -> str:
    """The visible text of a Telegram HTML message, or `EntityParseError`."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            m = _TAG.match(text, i)
            if not m:
                raise EntityParseError(
                    f"can't parse entities: Unsupported start tag at byte offset {_offset(text, i)}"
                )
            closing, name = m.group(1), m.group(2).lower()
            if name not in SUPPORTED_TAGS:
                raise EntityParseError(
                    f'can\'t parse entities: Unsupported start tag "{name}" at byte offset '
                    f"{_offset(text, i)}"
                )
            if closing:
                if not stack or stack[-1] != name:
                    raise EntityParseError(
                        f"can't parse entities: Can't find end tag corresponding to start tag \""
                        f'{stack[-1] if stack else name}"'
                    )
                stack.pop()
            else:
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, i)
            if not m:
                raise EntityParseError(
                    "can't parse entities: Character '&' is reserved and must be escaped at "
                    f"byte offset {_offset(text, i)}"
                )
            out.append(html.unescape(m.group(0)))
            i = m.end()
        else:
            out.append(ch)
            i += 1
    if stack:
        raise EntityParseError(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return "".join(out)


def utf16_len(text: str) -> int:
    """Telegram measures message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2
