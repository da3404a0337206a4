"""Running the real bot against the stand-in server: settings, an index, the app in-process."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from qabot.bot.app import ALLOWED_UPDATES, build_application
from qabot.bot.inbox import journal_path
from qabot.bot.journal import Journal
from qabot.config import Settings, get_settings
from qabot.service import QAService
from qabot.testing.botapi.server import BotApiServer

# Shaped like a real token (digits, colon, 35 characters), so the bot accepts it.
TOKEN = "123456789:AAH-test_token_0123456789abcdefghij"
SEED_DIR = Path(__file__).resolve().parents[3] / "seeds"
# A document the seed lacks, for tests that add one (uploads, watching, links, Qdrant).
LIGHTHOUSE = (
    "Lighthouse keeping\n"
    "The keeper of the Tarkhankut lighthouse is named Ostap Vereshchak. "
    "He climbs its stairs every evening.\n"
)
SYBIHA_QUESTION = "Who attended the NATO-Ukraine Council?"
# Questions the hashing embedder answers from the seed document, and a word of each answer.
ANSWERED_QUESTIONS = {
    SYBIHA_QUESTION: "Sybiha",
    "What could be the most difficult winter for Ukraine?": "winter",
    "Who is the new EU High Representative?": "Kallas",
    "How much security assistance was promised at the Washington summit?": "40 billion",
    "Where is the new NATO command?": "Wiesbaden",
}

# httpx sends even loopback traffic through a configured proxy.
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = "127.0.0.1,localhost"
logging.getLogger("httpx").setLevel(logging.WARNING)


def make_settings(tmp_path: Path, server: BotApiServer, **overrides: object) -> Settings:
    """Settings for one test: its own seeds/ and index/, the hashing embedder, the stand-in."""
    values: dict[str, object] = {
        "telegram_token": TOKEN,
        "telegram_base_url": server.base_url,
        "telegram_base_file_url": server.base_file_url,
        "seeds_dir": tmp_path / "seeds",
        "index_dir": tmp_path / "index",
        "embedder": "hashing",
        "score_threshold": 0.1,  # bag-of-words cosines run lower than a real model's
        # Off unless a test watches: a watched build would race the builds tests make.
        "watch_seeds": False,
    }
    values.update(overrides)
    return get_settings(**values)


def seed(settings: Settings, files: dict[str, str] | None = None, *, build: bool = True) -> None:
    """Copy the project's seed document (and `files`) into the test's seeds/, then build."""
    settings.seeds_dir.mkdir(parents=True, exist_ok=True)
    for path in SEED_DIR.glob("*.txt"):
        shutil.copy(path, settings.seeds_dir / path.name)
    for name, content in (files or {}).items():
        (settings.seeds_dir / name).write_text(content, encoding="utf-8")
    if build:
        QAService(settings).build()


@asynccontextmanager
async def running_bot(
    settings: Settings, server: BotApiServer, *, service: QAService | None = None
) -> AsyncIterator:
    """The bot's Application, polling the stand-in, ready when its first getUpdates arrived."""
    app = build_application(settings, service=service)
    async with app:
        await app.post_init(app)
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=5, allowed_updates=ALLOWED_UPDATES)
        await server.ready.wait()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
            if app.post_stop:  # as run_polling does
                await app.post_stop(app)


async def settled(server: BotApiServer, settings: Settings, *, timeout: float = 10.0) -> None:
    """Wait until the bot has taken every update the server holds and finished handling each:
    the journal marks an update done once its handlers (the error handler too) returned, and
    nothing is sent for it after that. So a test checks that the bot did *not* answer something
    without sleeping for "long enough". The bot may run in-process or as a process."""
    path = journal_path(settings.index_dir)
    deadline = time.monotonic() + timeout
    while True:
        if not server.pending_updates and path.exists():
            journal = Journal(path)
            try:
                unhandled, _ = journal.counts()
            finally:
                journal.close()
            if not unhandled:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"the bot has not handled every update after {timeout}s")
        await asyncio.sleep(0.02)


def tally_chat(server: BotApiServer, chat_id: int, asked: int) -> tuple[int, int, bool]:
    """For a chat that asked `ANSWERED_QUESTIONS` round and round, `asked` of them: (questions
    answered, answers repeated, whether the answers came in the order asked). An answer sent
    again after a restart comes right after the first copy (its update is the chat's oldest
    unfinished one), so repeats are counted as an answer equal to the one before it."""
    words = list(ANSWERED_QUESTIONS.values())
    texts = [m["text"] for m in server.bot_messages(chat_id)]
    unique = [t for i, t in enumerate(texts) if i == 0 or t != texts[i - 1]]
    in_order = len(unique) <= asked and all(
        words[i % len(words)] in t for i, t in enumerate(unique)
    )
    return len(unique), len(texts) - len(unique), in_order
