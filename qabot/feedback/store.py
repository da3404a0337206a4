"""What askers told about the answers (👍 / 👎), and the questions the documents could not answer.

One SQLite file, ``<index>/bot/feedback.sqlite3``, next to the bot's journal (builds never
clean ``index/bot/``). WAL mode with ``synchronous=FULL``, as the journal: a row is on disk when
the call returns, so a vote or a question is never lost to a kill -9, and the CLI (`qabot report`,
`qabot ask`) can read and write it while the bot runs.

- ``shown``: each answer shown with feedback buttons, under a random `key` that its buttons
  carry (durable, unlike the bot's in-memory question ids, so a vote still counts after a
  restart): the question, the answer sentence, its document, the chat, the asker, the time.
- ``votes``: one row per answer and user; a second tap replaces the first.
- ``misses``: questions answered "not found", from the bot or the CLI.

Plain Python: the CLI reads it without importing telegram.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qabot.errors import FeedbackStoreError
from qabot.fsutil import durable_sqlite

# Answers nobody voted on are forgotten after this long (their buttons then say "expired");
# votes and misses are kept a year, far longer than any report looks back.
KEEP_UNVOTED_SECONDS = 90 * 24 * 3600
KEEP_SECONDS = 365 * 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS shown (
    key       TEXT PRIMARY KEY,
    question  TEXT NOT NULL,
    answer    TEXT NOT NULL,
    source    TEXT NOT NULL,
    chat_id   INTEGER,
    user_id   INTEGER,
    at        REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    key       TEXT NOT NULL REFERENCES shown (key),
    user_id   INTEGER NOT NULL,
    chat_id   INTEGER,
    vote      INTEGER NOT NULL,  -- +1 or -1
    at        REAL NOT NULL,
    PRIMARY KEY (key, user_id)
);
CREATE TABLE IF NOT EXISTS misses (
    id        INTEGER PRIMARY KEY,
    question  TEXT NOT NULL,
    chat_id   INTEGER,
    user_id   INTEGER,
    via       TEXT NOT NULL,     -- "bot" or "cli"
    at        REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS misses_at ON misses (at);
CREATE INDEX IF NOT EXISTS votes_at ON votes (at);
"""


def feedback_path(index_dir: Path) -> Path:
    """Beside the bot's journal (``index/bot/``): one folder the bot owns, kept by builds."""
    return index_dir / "bot" / "feedback.sqlite3"


@dataclass(frozen=True)
class Vote:
    """A recorded vote: `previous` is the user's earlier vote on that answer (None: first)."""

    vote: int
    previous: int | None
    question: str


@dataclass(frozen=True)
class Unanswered:
    """A question the documents did not answer: "not_found", or an answer voted "downvoted"."""

    question: str
    kind: str
    at: float


class FeedbackStore:
    """The feedback file. Safe to call from several threads (one connection, one lock)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self._db = durable_sqlite(path, _SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise FeedbackStoreError(
                f"{path} cannot be read as the feedback store ({exc}): move it away, and a new "
                "one is started (the votes and unanswered questions in it are not read)"
            ) from None

    @classmethod
    def open(cls, index_dir: Path) -> FeedbackStore:
        return cls(feedback_path(index_dir))

    @classmethod
    def open_existing(cls, index_dir: Path) -> FeedbackStore | None:
        """The store when one was ever written (a report creates no folders)."""
        path = feedback_path(index_dir)
        return cls(path) if path.exists() else None

    def shown(
        self, *, question: str, answer: str, source: str, chat_id: int | None, user_id: int | None
    ) -> str:
        """Record an answer about to be shown with feedback buttons; returns its key (16 hex
        digits: random, so a key never points at another answer, even after the file is
        deleted)."""
        key = secrets.token_hex(8)
        with self._lock:
            self._db.execute(
                "INSERT INTO shown (key, question, answer, source, chat_id, user_id, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, question, answer, source, chat_id, user_id, self._clock()),
            )
        return key

    def vote(self, key: str, *, user_id: int, chat_id: int | None, up: bool) -> Vote | None:
        """Record `user_id`'s vote on the answer `key`, replacing their earlier one; None when
        the answer is not known (forgotten, or not ours)."""
        value = 1 if up else -1
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT question FROM shown WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            before = self._db.execute(
                "SELECT vote FROM votes WHERE key = ? AND user_id = ?", (key, user_id)
            ).fetchone()
            self._db.execute(
                "INSERT INTO votes (key, user_id, chat_id, vote, at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (key, user_id) DO UPDATE SET vote = excluded.vote, at = excluded.at, "
                "chat_id = excluded.chat_id",
                (key, user_id, chat_id, value, self._clock()),
            )
        return Vote(value, before[0] if before else None, row[0])

    def missed(self, question: str, *, chat_id: int | None, user_id: int | None, via: str) -> None:
        """Record a question answered "not found"."""
        with self._lock:
            self._db.execute(
                "INSERT INTO misses (question, chat_id, user_id, via, at) VALUES (?, ?, ?, ?, ?)",
                (question, chat_id, user_id, via, self._clock()),
            )

    def unanswered(self, *, since: float) -> list[Unanswered]:
        """Questions answered "not found" and answers whose current vote is 👎, since `since`
        (a time.time() value), newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT question, 'not_found', at FROM misses WHERE at >= ? "
                "UNION ALL "
                "SELECT s.question, 'downvoted', v.at FROM votes v JOIN shown s USING (key) "
                "WHERE v.vote < 0 AND v.at >= ? "
                "ORDER BY 3 DESC",
                (since, since),
            ).fetchall()
        return [Unanswered(*row) for row in rows]

    def votes(self, key: str) -> dict[int, int]:
        """user id -> vote for one answer."""
        with self._lock:
            rows = self._db.execute("SELECT user_id, vote FROM votes WHERE key = ?", (key,))
            return dict(rows.fetchall())

    def prune(self) -> int:
        """Forget unvoted answers and old rows (see `KEEP_SECONDS`); returns how many."""
        now = self._clock()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            removed = self._db.execute(
                "DELETE FROM votes WHERE at < ?", (now - KEEP_SECONDS,)
            ).rowcount
            removed += self._db.execute(
                "DELETE FROM shown WHERE at < ? AND key NOT IN (SELECT key FROM votes)",
                (now - KEEP_UNVOTED_SECONDS,),
            ).rowcount
            removed += self._db.execute(
                "DELETE FROM misses WHERE at < ?", (now - KEEP_SECONDS,)
            ).rowcount
        return removed

    def close(self) -> None:
        with self._lock:
            self._db.close()
