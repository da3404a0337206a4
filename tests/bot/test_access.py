"""Who is refused what, update kind by update kind: a stranger is refused wherever the bot would
answer, and only there (help, "unknown command" and group chatter stay as for anyone); an allowed
user is refused only the admin commands; every refused update is journalled as handled."""

from __future__ import annotations

import sqlite3

import pytest

from qabot.bot.inbox import journal_path
from qabot.config import Settings
from qabot.testing.botapi.harness import SYBIHA_QUESTION, make_settings, running_bot, seed, settled
from qabot.testing.botapi.server import BotApiServer, TelegramUser

pytestmark = pytest.mark.timeout(60)

ADMIN = TelegramUser(1, "Admin")
ALICE = TelegramUser(1001, "Alice")  # allowed, not an admin
BOB = TelegramUser(1002, "Bob")  # a stranger
PRIVATE = "this bot is private"
ADMINS_ONLY = "Only the bot's admins"


async def quiet(server: BotApiServer, settings: Settings, chat_id: int, after: int) -> None:
    """Assert the bot sent nothing more to the chat, once it has handled every update."""
    await settled(server, settings)
    assert server.bot_messages(chat_id, after=after) == []


async def one_reply(server: BotApiServer, chat_id: int, sent: dict) -> str:
    [reply] = await server.replies(chat_id, after=sent["message_id"])
    return reply["text"]


async def alert(server: BotApiServer, query_id: str) -> dict:
    call = await server.wait_call(
        "answerCallbackQuery", lambda p: p["callback_query_id"] == query_id
    )
    return call.params


async def test_strangers_are_refused_exactly_where_the_bot_would_answer(tmp_path, server):
    team = server.group_chat(-200, "Team")
    elsewhere = server.group_chat(-300, "Elsewhere")
    settings = make_settings(
        tmp_path,
        server,
        allowed_user_ids=[ALICE.id],
        allowed_chat_ids=[team["id"]],
        admin_user_ids=[ADMIN.id],
    )
    seed(settings)
    bot = f"@{server.bot_user['username']}"
    async with running_bot(settings, server):
        # Private chat: whatever the bot would answer is refused, with the user's id.
        question = await server.send_text(BOB, SYBIHA_QUESTION)
        refused = [await one_reply(server, BOB.id, question)]
        for command in ("/start", "/sources", "/ask", f"/ask {SYBIHA_QUESTION}", "/reindex"):
            refused.append(await one_reply(server, BOB.id, await server.send_text(BOB, command)))
        upload = await server.send_document(BOB, "notes.txt", b"Notes\nA red bicycle.\n")
        refused.append(await one_reply(server, BOB.id, upload))
        # ... an edit within the window is a question again, and refused again.
        last = server.bot_messages(BOB.id)[-1]["message_id"]
        edited = await server.edit_text(BOB, question, "Who is the new EU High Representative?")
        [again] = await server.replies(BOB.id, after=last)
        refused.append(again["text"])
        # What the bot says to anyone is said to strangers too.
        helped = await one_reply(server, BOB.id, await server.send_text(BOB, "/help"))
        unknown = await one_reply(server, BOB.id, await server.send_text(BOB, "/nonsense"))
        sticker = await one_reply(server, BOB.id, await server.send_media(BOB, "sticker"))
        # An edit outside the window, or to a command other than /ask, is no question: silence.
        last = server.bot_messages(BOB.id)[-1]["message_id"]
        await server.edit_text(
            BOB, edited, "Where is the new NATO command?", edit_date=edited["date"] + 3600
        )
        await server.edit_text(BOB, question, "/start")
        await quiet(server, settings, BOB.id, last)

        # A group that is not allowed: chatter is not ours; what is addressed to the bot is
        # refused (a mention, a reply to the bot, /ask); /help is not.
        chatter = await server.send_text(BOB, "good morning everyone", chat=elsewhere)
        await quiet(server, settings, elsewhere["id"], chatter["message_id"])
        mention = await server.send_text(BOB, f"{bot} {SYBIHA_QUESTION}", chat=elsewhere)
        [to_mention] = await server.replies(elsewhere["id"], after=mention["message_id"])
        refused.append(to_mention["text"])
        reply = await server.send_text(BOB, SYBIHA_QUESTION, chat=elsewhere, reply_to=to_mention)
        refused.append(await one_reply(server, elsewhere["id"], reply))
        ask = await server.send_text(BOB, f"/ask {SYBIHA_QUESTION}", chat=elsewhere)
        refused.append(await one_reply(server, elsewhere["id"], ask))
        group_help = await server.send_text(BOB, "/help", chat=elsewhere)
        helped_in_group = await one_reply(server, elsewhere["id"], group_help)

        # Buttons under an answer to someone allowed: a stranger's press is refused in an alert.
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [answer] = await server.replies(ALICE.id, after=asked["message_id"])
        presses = [
            await server.press(BOB, answer, "Source"),
            await server.press(BOB, answer, "More results"),
            await server.press(BOB, answer, "👍"),
            await server.press_data(BOB, answer, "not-ours"),
        ]
        alerts = [await alert(server, query_id) for query_id in presses]
        await quiet(server, settings, ALICE.id, answer["message_id"])

    for text in refused:
        assert PRIVATE in text and str(BOB.id) in text, text
        assert "Sybiha" not in text and ADMINS_ONLY not in text
    assert len(refused) == 11
    assert "Send me a question" in helped and "Send me a question" in helped_in_group
    assert "don't know that command" in unknown and "only read text" in sticker
    for params in alerts:
        assert PRIVATE in params["text"] and str(BOB.id) in params["text"]
        assert params["show_alert"] in (True, "true")
    assert server.calls_of("getFile") == []  # the stranger's file was not even downloaded
    assert not (settings.seeds_dir / "notes.txt").exists()
    # Every update, refused or not, was handled once and marked done; each message it sent
    # was confirmed.
    with sqlite3.connect(journal_path(settings.index_dir)) as db:
        rows = db.execute("SELECT update_id, sending, sent, done FROM updates").fetchall()
    assert rows and all(done is not None and sending == sent for _, sending, sent, done in rows)


async def test_allowed_users_are_refused_only_the_admin_commands(tmp_path, server):
    settings = make_settings(
        tmp_path, server, allowed_user_ids=[ALICE.id], admin_user_ids=[ADMIN.id]
    )
    seed(settings)
    async with running_bot(settings, server):
        refused = []
        for command in ("/reindex", "/stats", "/unanswered", "/add https://example.com/", "/add"):
            refused.append(
                await one_reply(server, ALICE.id, await server.send_text(ALICE, command))
            )
        upload = await server.send_document(ALICE, "notes.txt", b"Notes\nA red bicycle.\n")
        refused.append(await one_reply(server, ALICE.id, upload))
        # A message that is only a link is a question from anyone but an admin.
        link = await server.send_text(ALICE, "https://example.com/")
        answered = await one_reply(server, ALICE.id, link)
        stats = await one_reply(server, ADMIN.id, await server.send_text(ADMIN, "/stats"))
    for text in refused:
        assert ADMINS_ONLY in text and str(ALICE.id) in text, text
    assert ADMINS_ONLY not in answered and PRIVATE not in answered
    assert ADMINS_ONLY not in stats and PRIVATE not in stats
    assert server.calls_of("getFile") == []


async def test_a_refusal_that_cannot_be_sent_still_stops_the_update(tmp_path, server, caplog):
    """The access check fails closed: when Telegram refuses the refusal (here: its forum topic
    was deleted), the error is reported and the question still never reaches the search."""
    forum = server.forum_chat(-400, "Forum")
    settings = make_settings(tmp_path, server, allowed_user_ids=[ALICE.id])
    seed(settings)
    bot = f"@{server.bot_user['username']}"
    async with running_bot(settings, server):
        with caplog.at_level("ERROR", logger="qabot.bot"):
            await server.send_text(BOB, f"{bot} {SYBIHA_QUESTION}", chat=forum, thread=999)
            await server.wait_until(lambda: server.calls_of("sendMessage"))
            await settled(server, settings)  # its error handler has returned
        # The chat is handled in order: once Alice's question is answered, Bob's update is done.
        asked = await server.send_text(ALICE, f"{bot} {SYBIHA_QUESTION}", chat=forum)
        [answer] = await server.replies(forum["id"], after=asked["message_id"])
    assert "Sybiha" in answer["text"]
    to_bob = [
        c.params.get("text", "")[:20]
        for method in ("sendMessage", "sendChatAction")
        for c in server.calls_of(method)
        if c.params.get("message_thread_id") == 999
    ]
    assert to_bob == ["Sorry, this bot is p", "Sorry, something wen"]  # no "typing", no answer
    assert "error while handling an update" in caplog.text
