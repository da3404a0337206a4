"""Being a good citizen: bursts of users, Telegram's 429s, and a token that never reaches logs."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from qabot.service import QAService
from qabot.testing.botapi.harness import SYBIHA_QUESTION, TOKEN, make_settings, running_bot, seed
from qabot.testing.botapi.server import TelegramUser

pytestmark = pytest.mark.timeout(90)

QUESTIONS = {
    SYBIHA_QUESTION: "Sybiha",
    "What could be the most difficult winter for Ukraine?": "winter",
    "Who is the new EU High Representative?": "Kallas",
    "How much security assistance was promised at the Washington summit?": "40 billion",
    "Where is the new NATO command?": "Wiesbaden",
}


async def test_a_burst_of_50_questions_from_10_users_is_all_answered(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    users = [TelegramUser(5000 + i, f"User{i}") for i in range(10)]
    async with running_bot(settings, server):
        started = time.monotonic()
        await asyncio.gather(
            *(server.send_text(user, q) for q in QUESTIONS for user in users)
        )  # all 50 arrive at once, as from 10 phones
        for user in users:
            await server.replies(user.id, count=len(QUESTIONS), timeout=60)
        elapsed = time.monotonic() - started
    for user in users:
        replies = server.bot_messages(user.id)
        assert len(replies) == len(QUESTIONS)
        # Every question got its own answer (order may differ: updates run concurrently).
        for word in QUESTIONS.values():
            assert sum(word in r["text"] for r in replies) >= 1, (word, user)
    assert all(c.status == 200 for c in server.calls)
    # Telegram allows ~30 messages/s; 50 answers and 50 "typing" take a few seconds, not more.
    assert elapsed < 30
    print(f"burst: 50 questions from 10 users answered in {elapsed:.2f}s")


async def test_a_429_is_waited_out_not_dropped(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        server.fail_next("sendMessage", retry_after=1)
        asked = await server.send_text(TelegramUser(7), SYBIHA_QUESTION)
        [answer] = await server.replies(7, after=asked["message_id"], timeout=15)
    assert "Sybiha" in answer["text"]
    attempts = server.calls_of("sendMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # retry_after was honoured


async def test_the_token_never_reaches_the_logs(tmp_path, server, caplog):
    caplog.set_level(logging.DEBUG)
    # Even with httpx at DEBUG (it logs every URL, token included) nothing leaks.
    caplog.set_level(logging.DEBUG, logger="httpx")
    admin = TelegramUser(1)
    settings = make_settings(tmp_path, server, admin_user_ids=[admin.id])
    seed(settings)
    async with running_bot(settings, server):
        logging.getLogger("httpx").setLevel(logging.DEBUG)
        server.fail_next("sendMessage", retry_after=1)
        asked = await server.send_text(admin, SYBIHA_QUESTION)
        [answer] = await server.replies(admin.id, after=asked["message_id"], timeout=15)
        sent = await server.send_document(admin, "note.txt", b"Note\nA short note.\n")
        await server.replies(admin.id, after=sent["message_id"], timeout=30)
        query = await server.press(admin, answer, "Source")
        await server.wait_call("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "api.telegram.org" not in logged and "/bot<token>/" in logged  # URLs were logged...
    assert TOKEN not in logged  # ...but never with the token
    assert TOKEN.split(":")[1] not in logged


class GatedService(QAService):
    """The real service, except that a question containing "slowly" waits for a gate: a search
    that takes as long as the test wants (a fake with real behaviour, not a mock)."""

    def __init__(self, settings, gate: threading.Event) -> None:
        super().__init__(settings)
        self.gate = gate

    def ask(self, question: str, *, k: int | None = None, as_of=None):
        if "slowly" in question:
            self.gate.wait(20)
        return super().ask(question, k=k, as_of=as_of)


async def test_one_slow_question_does_not_stall_other_users(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    gate = threading.Event()
    slow_user, others = TelegramUser(11), [TelegramUser(12), TelegramUser(13)]
    async with running_bot(settings, server, service=GatedService(settings, gate)):
        slow = await server.send_text(slow_user, f"Answer slowly: {SYBIHA_QUESTION}")
        await server.wait_call("sendChatAction", lambda p: p["chat_id"] == slow_user.id)
        for user in others:
            asked = await server.send_text(user, SYBIHA_QUESTION)
            [answer] = await server.replies(user.id, after=asked["message_id"], timeout=5)
            assert "Sybiha" in answer["text"]
        assert server.bot_messages(slow_user.id) == []  # still searching, in its own thread
        gate.set()
        [late] = await server.replies(slow_user.id, after=slow["message_id"])
    assert "Sybiha" in late["text"]
