"""The bot watches seeds/ (QABOT_WATCH_SEEDS): a dropped file is answered from, a removed one
no longer is, and an admin's upload at the same moment shares the build lock."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from qabot.embedders.hashing import HashingEmbedder
from qabot.service import QAService
from qabot.stores.files.folders import VersionFolders
from qabot.testing.botapi.harness import LIGHTHOUSE, make_settings, running_bot, seed
from qabot.testing.botapi.server import TelegramUser

pytestmark = pytest.mark.timeout(90)

ADMIN = TelegramUser(1, "Admin")
USER = TelegramUser(2, "User")
KEEPER = "Who is the keeper of the Tarkhankut lighthouse?"
BEEKEEPING = "Beekeeping\nThe apiary near Poltava is run by Hanna Lysenko, who keeps forty hives.\n"
BEES = "Who runs the apiary near Poltava?"


def _watching(tmp_path, server, **overrides):
    return make_settings(tmp_path, server, watch_seeds=True, watch_quiet_seconds=0.3, **overrides)


async def _indexed(settings, name: str, *, present: bool = True, timeout: float = 30) -> None:
    """Wait until the current index version does (or does not) hold `name`."""
    store = VersionFolders(settings.index_dir)
    deadline = time.monotonic() + timeout
    while (name in store.read_manifest().files) != present:
        assert time.monotonic() < deadline, f"{name} never {'indexed' if present else 'gone'}"
        await asyncio.sleep(0.1)


async def test_a_dropped_file_is_answered_and_a_removed_one_no_longer(tmp_path, server):
    settings = _watching(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        path = settings.seeds_dir / "lighthouse.txt"
        # Written in pieces, as a slow copy would: indexed once whole.
        with path.open("w", encoding="utf-8") as fh:
            for line in LIGHTHOUSE.splitlines(keepends=True):
                fh.write(line)
                fh.flush()
                await asyncio.sleep(0.1)
        await _indexed(settings, "lighthouse.txt")
        asked = await server.send_text(USER, KEEPER)
        [answer] = await server.replies(USER.id, after=asked["message_id"])
        assert "Ostap Vereshchak" in answer["text"]

        path.unlink()
        await _indexed(settings, "lighthouse.txt", present=False)
        asked = await server.send_text(USER, KEEPER)
        [after] = await server.replies(USER.id, after=asked["message_id"])
    assert "Ostap Vereshchak" not in after["text"]


class SlowEmbedder(HashingEmbedder):
    """Embedding passages takes a second: a build holds the build lock that long."""

    def __init__(self) -> None:
        super().__init__()
        self.building = threading.Event()

    def embed_passages(self, texts, **kwargs):
        self.building.set()
        time.sleep(1.0)
        return super().embed_passages(texts, **kwargs)


async def test_an_upload_while_a_dropped_file_is_indexed(tmp_path, server):
    """The upload waits for the watcher's build (the same lock), then builds: it is never told
    that another build is running, and both documents are answered from."""
    settings = _watching(tmp_path, server, admin_user_ids=[ADMIN.id])
    seed(settings)
    embedder = SlowEmbedder()
    service = QAService(settings, embedder=embedder)
    async with running_bot(settings, server, service=service):
        (settings.seeds_dir / "bees.txt").write_text(BEEKEEPING, encoding="utf-8")
        assert await asyncio.to_thread(embedder.building.wait, 10)  # the watcher is embedding
        sent = await server.send_document(ADMIN, "lighthouse.txt", LIGHTHOUSE.encode())
        [done] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
        await _indexed(settings, "bees.txt")
        answers = []
        for question in (KEEPER, BEES):
            asked = await server.send_text(USER, question)
            [answer] = await server.replies(USER.id, after=asked["message_id"])
            answers.append(answer["text"])
    assert "Saved as “lighthouse.txt”" in done["text"] and "1 added" in done["text"]
    assert "Ostap Vereshchak" in answers[0] and "Hanna Lysenko" in answers[1]


async def test_files_changed_while_the_bot_was_down_are_caught_up(tmp_path, server):
    settings = _watching(tmp_path, server)
    seed(settings)
    (settings.seeds_dir / "bees.txt").write_text(BEEKEEPING, encoding="utf-8")
    async with running_bot(settings, server):
        await _indexed(settings, "bees.txt")
        asked = await server.send_text(USER, BEES)
        [answer] = await server.replies(USER.id, after=asked["message_id"])
    assert "Hanna Lysenko" in answer["text"]


async def test_watching_off_leaves_the_index_alone(tmp_path, server):
    settings = make_settings(tmp_path, server, watch_seeds=False, watch_quiet_seconds=0.1)
    seed(settings)
    version = VersionFolders(settings.index_dir).current_version()
    async with running_bot(settings, server):
        (settings.seeds_dir / "bees.txt").write_text(BEEKEEPING, encoding="utf-8")
        await asyncio.sleep(1.0)
    assert VersionFolders(settings.index_dir).current_version() == version
