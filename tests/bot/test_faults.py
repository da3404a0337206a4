"""Telegram misbehaving, over real HTTP: 5xx, dropped connections, late answers, 429s and
enforced flood limits. Each question is answered once, and never followed by an apology."""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise

import pytest

from qabot.bot import sending
from qabot.testing.botapi.harness import (
    SYBIHA_QUESTION,
    TOKEN,
    make_settings,
    running_bot,
    seed,
    settled,
)
from qabot.testing.botapi.server import BotApiServer, TelegramUser

pytestmark = pytest.mark.timeout(120)

ALICE = TelegramUser(1001, "Alice")
APOLOGY = "something went wrong"


@pytest.fixture
async def strict_server():
    async with BotApiServer(TOKEN, flood_limits=True) as srv:
        yield srv


@pytest.mark.parametrize("fault", ["500", "502", "drop"])
async def test_a_failed_send_is_retried_and_the_answer_arrives_once(tmp_path, server, fault):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        server.fault_next("sendMessage", fault)
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        await server.replies(ALICE.id, after=asked["message_id"], timeout=15)
        await settled(server, settings)  # a wrong second message would have come by now
    [answer] = server.bot_messages(ALICE.id)
    assert "Sybiha" in answer["text"]
    attempts = server.calls_of("sendMessage")
    assert [c.status for c in attempts] == [0 if fault == "drop" else int(fault), 200]
    assert attempts[1].at - attempts[0].at >= 0.4  # after a backoff, not hammering


async def test_a_late_answer_is_not_resent_and_not_apologised_for(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        # Delivered at once, but its answer comes after python-telegram-bot's 5 s read timeout.
        server.fault_next("sendMessage", "slow", delay=6.5)
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        await server.replies(ALICE.id, after=asked["message_id"], timeout=10)
        # Handled once the read timed out: a resend or an apology would have come by then.
        await settled(server, settings, timeout=15)
        after = await server.send_text(ALICE, SYBIHA_QUESTION)  # and the bot still works
        await server.replies(ALICE.id, after=after["message_id"], timeout=10)
    texts = [m["text"] for m in server.bot_messages(ALICE.id)]
    assert len(texts) == 2 and all("Sybiha" in t for t in texts), texts
    assert len(server.calls_of("sendMessage")) == 2


async def test_a_send_failing_every_time_ends_in_one_apology(tmp_path, server, monkeypatch):
    # The retries' backoff shortened 10 times (0.5 + 1 + 2 + 4 + 8 s by default): what is
    # tested is how many tries there are and what follows the last.
    delays = tuple(d / 10 for d in sending.TRANSIENT_DELAYS)
    monkeypatch.setattr(sending, "TRANSIENT_DELAYS", delays)
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        server.fault_next("sendMessage", "500", times=6)  # the first try and its 5 retries
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [apology] = await server.replies(ALICE.id, after=asked["message_id"], timeout=30)
    assert APOLOGY in apology["text"]
    attempts = server.calls_of("sendMessage")
    assert [c.status for c in attempts] == [500] * 6 + [200]
    gaps = [b.at - a.at for a, b in pairwise(attempts[:6])]
    assert all(gap >= delay for gap, delay in zip(gaps, delays, strict=True)), gaps


async def test_under_enforced_flood_limits_a_burst_gets_no_429(tmp_path, strict_server):
    server = strict_server
    settings = make_settings(tmp_path, server, questions_per_minute=100)
    seed(settings)
    users = [TelegramUser(5000 + i, f"User{i}") for i in range(10)]
    async with running_bot(settings, server):
        started = time.monotonic()
        await asyncio.gather(*(server.send_text(u, SYBIHA_QUESTION) for u in users * 4))
        for user in users:
            await server.replies(user.id, count=4, timeout=60)
        took = time.monotonic() - started
    assert server.flood.refused == 0, [c.description for c in server.calls if c.status == 429]
    for user in users:
        replies = server.bot_messages(user.id)
        assert len(replies) == 4 and all("Sybiha" in r["text"] for r in replies)
        sent = [c.at for c in server.calls_of("sendMessage") if c.params["chat_id"] == user.id]
        # about one message a second in a private chat
        assert all(b - a >= 1.0 for a, b in pairwise(sent)), sent
    assert took < 20


async def test_in_a_busy_group_chat_actions_do_not_hold_back_answers(tmp_path, strict_server):
    server = strict_server
    settings = make_settings(tmp_path, server, questions_per_minute=100)
    seed(settings)
    group = server.group_chat(-100123)
    users = [TelegramUser(6000 + i, f"Member{i}") for i in range(5)]
    async with running_bot(settings, server):
        started = time.monotonic()
        await asyncio.gather(
            *(server.send_text(u, f"/ask {SYBIHA_QUESTION}", chat=group) for u in users * 3)
        )
        await server.replies(group["id"], count=1, timeout=10)
        first = time.monotonic() - started
        # 15 answers fit the group's 20 messages a minute: none waits for "typing".
        await server.replies(group["id"], count=15, timeout=10)
        last = time.monotonic() - started
    assert first < 3 and last < 6, (first, last)
    assert server.flood.refused == 0
    answers = server.calls_of("sendMessage")
    actions = [c for c in server.calls_of("sendChatAction") if c.at <= answers[-1].at]
    assert len(actions) <= 2, len(actions)  # a "typing" only while the group was quiet


async def test_a_429_on_a_chat_action_is_not_waited_for(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        server.fail_next("sendChatAction", retry_after=30)
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [answer] = await server.replies(ALICE.id, after=asked["message_id"], timeout=5)
    assert "Sybiha" in answer["text"]
    assert [c.status for c in server.calls_of("sendChatAction")] == [429]


async def test_a_long_sources_list_is_paced(tmp_path, strict_server):
    """/sources with 400 documents: several messages, one a second (they used to go at once)."""
    server = strict_server
    settings = make_settings(tmp_path, server)
    seed(
        settings, {f"d{i:03d}.txt": f"Document {i:03d}\nA note on topic {i}.\n" for i in range(400)}
    )
    alice = TelegramUser(77, "Alice")

    def complete() -> list[dict] | None:
        pages = server.bot_messages(alice.id)
        text = "\n".join(p["text"] for p in pages)
        return pages if all(f"Document {i:03d}" in text for i in range(400)) else None

    async with running_bot(settings, server):
        await server.send_text(alice, "/sources")
        pages = await server.wait_until(complete, timeout=40)
    assert server.flood.refused == 0
    sent = [c.at for c in server.calls_of("sendMessage") if c.status == 200]
    assert len(sent) == len(pages) >= 3
    assert all(b - a >= 1.0 for a, b in pairwise(sent))  # one a second, not all at once
