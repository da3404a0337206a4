"""The bot with the real default model (sentence-transformers): slow, so marked `slow`."""

from __future__ import annotations

import pytest

from tests.botapi.harness import SYBIHA_QUESTION, TOKEN, make_settings, running_bot, seed
from tests.botapi.server import BotApiServer, TelegramUser

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def test_the_real_model_answers_with_the_sybiha_sentence(tmp_path):
    user = TelegramUser(1001, "Alice")
    async with BotApiServer(TOKEN) as server:
        settings = make_settings(
            tmp_path, server, embedder="sentence-transformers", score_threshold=0.2
        )
        seed(settings)
        async with running_bot(settings, server):
            asked = await server.send_text(user, SYBIHA_QUESTION)
            [answer] = await server.replies(user.id, after=asked["message_id"], timeout=60)
    first_line = answer["text"].split("\n")[0]
    assert "Sybiha" in first_line  # the answer sentence, in bold inside its passage
    assert "Alliance must help Ukraine" in answer["text"]
