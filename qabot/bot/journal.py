"""The bot's update journal: every update Telegram hands over, kept on disk until it is answered.

python-telegram-bot confirms a batch of updates to Telegram with its next getUpdates call,
before it has handled them (and a webhook confirms an update by answering 200). A process that
is killed after that point would lose the questions it held in memory. So each update is written
here first, durably (SQLite in WAL mode, ``synchronous=FULL``: the row is on disk when `record`
returns), and marked done once it has been handled; at the next start the rows not done are
handled again. An update Telegram delivers a second time (it was never confirmed) is recognised
by its ``update_id`` and not handled twice.

Each message sent for an update is counted twice: when the request leaves (`sending`) and when
Telegram confirmed it (`sent`). An unfinished update whose messages were all confirmed was
answered (the bot died before it marked it done) and is not handled again. One with a message
still in flight when the bot died is handled again: a request cut off by the crash is often
lost (the server drops a half-read request when the connection resets), and at-least-once
prefers a rare second answer to a lost one.

Plain Python, no Telegram types: rows hold the update's JSON as Telegram sent it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qabot.fsutil import durable_sqlite

# Telegram keeps an unconfirmed update for 24 hours; done rows are kept longer than that, so a
# late re-delivery is still recognised, then removed so the file stays small.
KEEP_DONE_SECONDS = 3 * 24 * 3600
# An update whose handling was interrupted this many times (it may be what crashes the bot) is
# given up instead of being retried at every start.
MAX_ATTEMPTS = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS updates (
    update_id INTEGER PRIMARY KEY,
    chat_id   INTEGER,
    payload   TEXT NOT NULL,
    received  REAL NOT NULL,     -- wall-clock time it was recorded
    attempts  INTEGER NOT NULL DEFAULT 0,
    sending   INTEGER NOT NULL DEFAULT 0,  -- messages begun for it
    sent      INTEGER NOT NULL DEFAULT 0,  -- messages Telegram confirmed
    done      REAL               -- when it was handled; NULL while pending
);
CREATE INDEX IF NOT EXISTS pending ON updates (done, update_id);
-- What the bot answered to each question message, so an edited question can have its answer
-- edited in place (`QABOT_EDIT_WINDOW_SECONDS`).
CREATE TABLE IF NOT EXISTS replies (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    question   TEXT NOT NULL,
    sent       TEXT NOT NULL,     -- the bot's message ids, space-separated, in order
    at         REAL NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
"""


@dataclass(frozen=True)
class Reply:
    """What the bot sent in answer to one message: the question it read and its message ids."""

    question: str
    message_ids: tuple[int, ...]


@dataclass(frozen=True)
class Pending:
    """An update recorded but not handled yet."""

    update_id: int
    chat_id: int | None
    payload: str
    received: float
    attempts: int


class Journal:
    """The journal file (``<index>/bot/journal.sqlite3``). Safe to call from several threads."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._db = durable_sqlite(path, _SCHEMA)

    def record(self, update_id: int, chat_id: int | None, payload: str) -> bool:
        """Store an update; False when it was already known (Telegram delivered it again)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO updates (update_id, chat_id, payload, received) "
                "VALUES (?, ?, ?, ?)",
                (update_id, chat_id, payload, self._clock()),
            )
            return cursor.rowcount == 1

    def done(self, update_id: int) -> None:
        """Mark an update handled: it is not handled again after a restart. Its content is
        dropped (only its id is needed, to recognise it if Telegram delivers it again)."""
        with self._lock:
            self._db.execute(
                "UPDATE updates SET done = ?, payload = '' WHERE update_id = ?",
                (self._clock(), update_id),
            )

    def sending(self, update_id: int) -> None:
        """A message for this update is about to be sent."""
        with self._lock:
            self._db.execute(
                "UPDATE updates SET sending = sending + 1 WHERE update_id = ?", (update_id,)
            )

    def sent(self, update_id: int) -> None:
        """Telegram confirmed a message for this update."""
        with self._lock:
            self._db.execute("UPDATE updates SET sent = sent + 1 WHERE update_id = ?", (update_id,))

    def settle_interrupted(self) -> tuple[int, int]:
        """After a crash: mark done the unfinished updates whose messages were all confirmed
        (see the module docstring). Returns (how many, how many had a message in flight and
        stay pending)."""
        with self._lock:
            answered = self._db.execute(
                "UPDATE updates SET done = ? WHERE done IS NULL AND sending > 0 AND sent >= sending",
                (self._clock(),),
            ).rowcount
            (in_flight,) = self._db.execute(
                "SELECT COUNT(*) FROM updates WHERE done IS NULL AND sending > sent"
            ).fetchone()
            return answered, in_flight

    def pending(self) -> list[Pending]:
        """Updates not handled yet, oldest first. Each call counts an attempt for each; those
        tried `MAX_ATTEMPTS` times already are marked done (given up) and left out."""
        with self._lock, self._db:
            now = self._clock()
            self._db.execute(
                "UPDATE updates SET done = ? WHERE done IS NULL AND attempts >= ?",
                (now, MAX_ATTEMPTS),
            )
            self._db.execute("UPDATE updates SET attempts = attempts + 1 WHERE done IS NULL")
            rows = self._db.execute(
                "SELECT update_id, chat_id, payload, received, attempts FROM updates "
                "WHERE done IS NULL ORDER BY update_id"
            ).fetchall()
        return [Pending(*row) for row in rows]

    def prune(self) -> int:
        """Forget updates handled, and replies sent, more than `KEEP_DONE_SECONDS` ago; returns
        how many updates."""
        with self._lock:
            cutoff = self._clock() - KEEP_DONE_SECONDS
            cursor = self._db.execute(
                "DELETE FROM updates WHERE done IS NOT NULL AND done < ?", (cutoff,)
            )
            self._db.execute("DELETE FROM replies WHERE at < ?", (cutoff,))
            return cursor.rowcount

    def replied(
        self, chat_id: int, message_id: int, *, question: str, message_ids: list[int]
    ) -> None:
        """Remember the messages sent in answer to a question (replacing an earlier answer's)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO replies (chat_id, message_id, question, sent, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (chat_id, message_id, question, " ".join(map(str, message_ids)), self._clock()),
            )

    def reply_to(self, chat_id: int, message_id: int) -> Reply | None:
        """What the bot last sent in answer to this message, if anything."""
        with self._lock:
            row = self._db.execute(
                "SELECT question, sent FROM replies WHERE chat_id = ? AND message_id = ?",
                (chat_id, message_id),
            ).fetchone()
        if row is None:
            return None
        return Reply(row[0], tuple(int(i) for i in row[1].split()))

    def counts(self) -> tuple[int, int]:
        """(pending, done) rows."""
        with self._lock:
            pending, done = self._db.execute(
                "SELECT COUNT(*) - COUNT(done), COUNT(done) FROM updates"
            ).fetchone()
        return pending, done

    def close(self) -> None:
        with self._lock:
            self._db.close()
