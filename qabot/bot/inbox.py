"""Where updates enter the bot: recorded in the `journal` first, handled in order per chat.

Both long polling and the webhook hand each update to ``Application.update_queue.put``. The
polling loop confirms a batch to Telegram with its next getUpdates, which it sends only after
every `put` of the batch has returned; the webhook answers Telegram's POST with 200 only after
its `put` returned. So an update written to the journal inside `put` is on disk before Telegram
forgets it: a bot killed at any point finds it again at the next start (`replay`).

Updates of one chat are handled one after another, in the order they arrived (a replayed
backlog too); different chats run concurrently. An update is marked done in the journal when its
handling ended, answered or not; each message sent for it is counted when it leaves and when
Telegram confirmed it (the sender calls `mark_sending` and `mark_sent`; the update being handled
is known from `CURRENT_UPDATE`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from qabot.bot.journal import Journal

log = logging.getLogger("qabot.bot")
# Handlers waiting for their chat's turn still hold one of these slots; generous, so one busy
# chat does not hold back the others.
MAX_CONCURRENT_UPDATES = 512
PRUNE_EVERY = 1000  # updates handled between two prunings of the journal
# The update whose handler is running (set per task, so concurrent chats do not mix).
CURRENT_UPDATE: ContextVar[int | None] = ContextVar("qabot_current_update", default=None)


def journal_path(index_dir: Path) -> Path:
    """The journal lives next to the index (``index/bot/``), which builds never clean up."""
    return index_dir / "bot" / "journal.sqlite3"


class Inbox:
    """The journal. Updates are recorded and marked done from one thread of its own, so a busy
    search pool never delays the confirmation of updates; the per-message marks are written
    inline, as they must be on disk before the request leaves (a fraction of a millisecond)."""

    def __init__(self, path: Path) -> None:
        self.journal = Journal(path)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qabot-journal")
        # update_id -> when it was first recorded, for updates replayed from an earlier run
        self.replayed: dict[int, float] = {}
        self._done = 0

    async def _run(self, fn, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def record(self, update: Update) -> bool:
        chat = update.effective_chat
        payload = json.dumps(update.to_dict(), ensure_ascii=False)
        return await self._run(
            self.journal.record, update.update_id, chat.id if chat else None, payload
        )

    async def done(self, update: Update) -> None:
        await self._run(self.journal.done, update.update_id)
        self._done += 1
        if self._done % PRUNE_EVERY == 0:  # a bot that runs for weeks keeps a small file
            await self._run(self.journal.prune)

    def mark_sending(self) -> None:
        """Called just before a message is sent: on disk before the request leaves (a fraction
        of a millisecond, so written here rather than in the journal's thread)."""
        update_id = CURRENT_UPDATE.get()
        if update_id is not None:
            self.journal.sending(update_id)

    def mark_sent(self) -> None:
        """Called when Telegram confirmed a message."""
        update_id = CURRENT_UPDATE.get()
        if update_id is not None:
            self.journal.sent(update_id)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self.journal.close()


class JournalQueue(asyncio.Queue):
    """`Application.update_queue`: an update is journaled before `put` returns, and one that
    is already in the journal (delivered again because it was never confirmed) is dropped."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self.inbox = inbox

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and not await self.inbox.record(item):
            log.info("update %s was delivered again; it is already in the journal", item.update_id)
            return
        await super().put(item)

    async def put_replayed(self, update: Update) -> None:
        """Queue an update from the journal (already recorded)."""
        await super().put(update)


class InOrderProcessor(BaseUpdateProcessor):
    """Handles updates of one chat one at a time, in arrival order; other chats concurrently.
    Marks each update done in the journal when its handling ended."""

    def __init__(self, inbox: Inbox, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES):
        super().__init__(max_concurrent_updates)
        self.inbox = inbox
        self._tails: dict[object, asyncio.Future] = {}  # chat -> the last update's "finished"

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        key = chat.id if chat else object()  # no chat (e.g. inline queries): no order to keep
        previous = self._tails.get(key)
        finished = asyncio.get_running_loop().create_future()
        self._tails[key] = finished
        started = False
        try:
            if previous is not None:
                await asyncio.shield(previous)
            started = True
            cancelled = False
            if isinstance(update, Update):
                CURRENT_UPDATE.set(update.update_id)  # this task's context only
            try:
                await coroutine
            except asyncio.CancelledError:
                cancelled = True  # stopped mid-way: stays pending, handled after a restart
                raise
            finally:
                # Handled, or failed in a way the error handler has seen: not again.
                if not cancelled and isinstance(update, Update):
                    await self.inbox.done(update)
                    self.inbox.replayed.pop(update.update_id, None)
        finally:
            if not started and hasattr(coroutine, "close"):
                coroutine.close()  # cancelled while waiting for its turn
            finished.set_result(None)
            if self._tails.get(key) is finished:
                del self._tails[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        self.inbox.close()


async def replay(application: Application) -> int:
    """Queue the updates an earlier run recorded but did not finish; returns how many.
    Call before polling or the webhook starts, so they come first."""
    queue: JournalQueue = application.update_queue  # type: ignore[assignment]
    inbox = queue.inbox
    journal = inbox.journal
    pruned = await inbox._run(journal.prune)
    answered, in_flight = await inbox._run(journal.settle_interrupted)
    if answered or in_flight:
        log.warning(
            "journal: %d update(s) were answered just before the bot stopped (not again); %d "
            "had a reply in flight and are answered again (it may arrive twice)",
            answered,
            in_flight,
        )
    rows = await inbox._run(journal.pending)
    pacer = getattr(getattr(application.bot, "rate_limiter", None), "pacer", None)
    if pacer is not None:
        # The run before may have just sent to these chats, and its pacing died with it: one
        # message's worth of waiting per chat (a second in private, three in a group) keeps the
        # first answers after a restart from a 429 (bench/RESULTS-bot.md).
        for chat_id in {row.chat_id for row in rows if row.chat_id is not None}:
            pacer.block(chat_id, 1.0 if chat_id > 0 else 3.0)
    for row in rows:
        update = Update.de_json(json.loads(row.payload), application.bot)
        inbox.replayed[update.update_id] = row.received
        await queue.put_replayed(update)
    if rows or pruned:
        log.info(
            "journal: %d unanswered update(s) from before the restart queued first; %d old "
            "row(s) removed",
            len(rows),
            pruned,
        )
    return len(rows)


def waited(inbox: Inbox, update: Update, *, longer_than: float) -> bool:
    """Whether this update is one replayed from before a restart and has waited longer than
    `longer_than` seconds (so its answer deserves a word of apology)."""
    received = inbox.replayed.get(update.update_id)
    return received is not None and time.time() - received > longer_than
