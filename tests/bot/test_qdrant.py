"""The bot on the Qdrant store (local mode), over real HTTP to the stand-in Bot API: answers,
the Source button (the document's text from Qdrant's payload), an admin's upload, and a build by
another service of the same process picked up between questions."""

from __future__ import annotations

import asyncio

import pytest

from qabot.service import QAService
from qabot.stores.qdrant.index import close_local
from qabot.testing.botapi.harness import (
    LIGHTHOUSE,
    SYBIHA_QUESTION,
    make_settings,
    running_bot,
    seed,
)
from qabot.testing.botapi.server import TelegramUser

pytestmark = pytest.mark.timeout(60)

ADMIN = TelegramUser(1, "Admin")
USER = TelegramUser(2, "User")
KEEPER = "Who is the keeper of the Tarkhankut lighthouse?"


@pytest.fixture
def qdrant_settings(tmp_path, server):
    settings = make_settings(
        tmp_path, server, vector_store="qdrant", admin_user_ids=[ADMIN.id], chunk_tokens=48
    )
    yield settings
    close_local(str(settings.qdrant_local_path))


async def test_answers_sources_and_uploads_on_qdrant(qdrant_settings, server):
    settings = qdrant_settings
    seed(settings)
    async with running_bot(settings, server):
        asked = await server.send_text(USER, SYBIHA_QUESTION)
        [answer] = await server.replies(USER.id, after=asked["message_id"])
        assert "Sybiha" in answer["html"].split("<b>", 1)[1].split("</b>")[0]

        query = await server.press(USER, answer, "Source")
        await server.wait_call("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
        [source] = await server.replies(USER.id, after=answer["message_id"])
        assert source["text"].startswith("Source: Alliance must help Ukraine")

        sent = await server.send_document(ADMIN, "lighthouse.txt", LIGHTHOUSE.encode())
        [done] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
        assert "1 added" in done["text"]
        asked = await server.send_text(USER, KEEPER)
        [fresh] = await server.replies(USER.id, after=asked["message_id"])
    assert "Ostap Vereshchak" in fresh["text"]


async def test_a_build_by_another_service_is_picked_up(qdrant_settings, server):
    settings = qdrant_settings
    seed(settings)
    async with running_bot(settings, server):
        (settings.seeds_dir / "lighthouse.txt").write_text(LIGHTHOUSE)
        build = asyncio.create_task(asyncio.to_thread(QAService(settings).build))
        during = await server.send_text(USER, SYBIHA_QUESTION)  # answered from either generation
        [answer] = await server.replies(USER.id, after=during["message_id"])
        assert "Sybiha" in answer["text"]
        await build
        asked = await server.send_text(USER, KEEPER)
        [fresh] = await server.replies(USER.id, after=asked["message_id"])
    assert "Ostap Vereshchak" in fresh["text"]
