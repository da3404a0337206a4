"""Inline buttons under answers, and what their callback data means.

Telegram gives a button at most 64 bytes of callback data, too little for a question, so the
question is kept in memory under a short id and the data names it: ``m|<index>|<id>|<page>`` for
"More results", ``s|<index>|<id>|<rank>`` for "Source". ``<index>`` is a short hash of the index
version the answer came from: a button pressed after the documents changed is recognised as stale.
The id starts with a per-process prefix, so a button from before a restart is never mistaken for
a newer question.

👍 and 👎 are ``u|<index>|<key>|1`` and ``d|<index>|<key>|1``, where ``<key>`` is the answer's
durable key in the feedback store (`qabot.feedback.store`, 16 hex digits): a vote is about the answer
as it was shown, so it counts after a restart and after the documents changed. At most
1 + 1 + 8 + 1 + 16 + 1 + 1 = 29 bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass

MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
KINDS = frozenset({"m", "s", "u", "d"})
VOTES = frozenset({"u", "d"})
_ASCII_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class ButtonData:
    """What a pressed button asks for: `kind` "m" (more, `n` = page), "s" (source, `n` = rank),
    "u" or "d" (👍 or 👎 on the answer whose feedback key is `question_id`)."""

    kind: str
    index_tag: str
    question_id: str
    n: int

    def encode(self) -> str:
        data = f"{self.kind}|{self.index_tag}|{self.question_id}|{self.n}"
        if len(data.encode()) > MAX_CALLBACK_DATA:  # cannot happen with our ids; keep it so
            raise ValueError(f"callback data over {MAX_CALLBACK_DATA} bytes: {data!r}")
        return data

    @classmethod
    def decode(cls, data: str | None) -> ButtonData | None:
        """The button's meaning, or None for data this bot did not make."""
        parts = (data or "").split("|")
        # ASCII digits only: str.isdigit also takes "²" (which int() refuses) and "٣".
        if len(parts) != 4 or parts[0] not in KINDS or not _ASCII_NUMBER.fullmatch(parts[3]):
            return None
        return cls(parts[0], parts[1], parts[2], int(parts[3]))

    @classmethod
    def pattern(cls, kinds: Collection[str]) -> Callable[[object], bool]:
        """A `CallbackQueryHandler` pattern: True for data this bot made for a button of one
        of `kinds` (decoded as `decode` does, so a handler and its pattern never disagree)."""

        def matches(data: object) -> bool:
            button = cls.decode(data) if isinstance(data, str) else None
            return button is not None and button.kind in kinds

        return matches


def index_tag(version: str | None) -> str:
    """Eight hex digits standing for an index version (any string)."""
    return hashlib.sha1((version or "none").encode()).hexdigest()[:8]


@dataclass(frozen=True)
class AskedQuestion:
    question: str
    index_tag: str
    # The day it was asked (`context.asked_on`): its buttons search as of that day too, so
    # "More results" and "Source" rank as the answer did, after midnight as well.
    as_of: dt.date | None = None


class QuestionMemory:
    """The most recent questions that have buttons, by short id (oldest forgotten first)."""

    def __init__(self, capacity: int = 5000) -> None:
        self.capacity = capacity
        self._prefix = secrets.token_hex(2)
        self._counter = itertools.count(1)
        self._items: OrderedDict[str, AskedQuestion] = OrderedDict()

    def remember(self, question: str, tag: str, *, as_of: dt.date | None = None) -> str:
        qid = f"{self._prefix}{next(self._counter):x}"
        self._items[qid] = AskedQuestion(question, tag, as_of)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return qid

    def recall(self, question_id: str) -> AskedQuestion | None:
        return self._items.get(question_id)
