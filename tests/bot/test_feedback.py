"""👍 / 👎 under answers and /unanswered, over real HTTP to the stand-in Bot API; `qabot report`
reads what the bot recorded."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qabot.cli.main import app as cli
from qabot.feedback.store import FeedbackStore
from qabot.testing.botapi.harness import SYBIHA_QUESTION, make_settings, running_bot, seed
from qabot.testing.botapi.server import BotApiServer, TelegramUser

pytestmark = pytest.mark.timeout(60)

ALICE = TelegramUser(1001, "Alice")
BOB = TelegramUser(1002, "Bob")
ADMIN = TelegramUser(1009, "Admin")


def _rows(message: dict) -> list[list[str]]:
    return [[b["text"] for b in row] for row in message["reply_markup"]["inline_keyboard"]]


async def _vote(server: BotApiServer, user: TelegramUser, message: dict, button: str) -> str:
    query = await server.press(user, message, button)
    call = await server.wait_call("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
    return call.params.get("text", "")


async def test_votes_are_recorded_acknowledged_and_changed_by_a_second_tap(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    group = server.group_chat(-100700)
    async with running_bot(settings, server):
        asked = await server.send_text(ALICE, f"/ask {SYBIHA_QUESTION}", chat=group)
        [answer] = await server.replies(group["id"], after=asked["message_id"])
        assert _rows(answer) == [["More results", "Source"], ["👍", "👎"]]
        assert await _vote(server, ALICE, answer, "👍") == "Thanks for the feedback!"
        assert await _vote(server, ALICE, answer, "👎") == "Your vote is now 👎."
        assert "already" in await _vote(server, ALICE, answer, "👎")
        assert await _vote(server, BOB, answer, "👍") == "Thanks for the feedback!"
    # Votes count after a restart: the key the buttons carry is on disk, not in memory.
    async with running_bot(settings, server):
        assert await _vote(server, BOB, answer, "👎") == "Your vote is now 👎."
    data = [b["callback_data"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    assert all(len(d.encode()) <= 64 for d in data)
    key = data[-1].split("|")[2]
    store = FeedbackStore.open(settings.index_dir)
    assert store.votes(key) == {ALICE.id: -1, BOB.id: -1}
    row = store._db.execute(
        "SELECT question, answer, source, chat_id, user_id, at FROM shown WHERE key = ?", (key,)
    ).fetchone()
    assert row[0] == SYBIHA_QUESTION and "Sybiha" in row[1] and "Alliance" in row[2]
    assert row[3:5] == (group["id"], ALICE.id) and row[5] > 0
    voters = store._db.execute("SELECT user_id, chat_id, at FROM votes WHERE key = ?", (key,))
    assert all(chat == group["id"] and at > 0 for _user, chat, at in voters)
    # Link previews are off in every answer (a passage may hold a URL).
    sends = server.calls_of("sendMessage")
    assert sends and all(c.params["link_preview_options"] == {"is_disabled": True} for c in sends)


async def test_unanswered_lists_what_the_documents_lack_for_admins(tmp_path, server):
    settings = make_settings(tmp_path, server, admin_user_ids=[ADMIN.id])
    seed(settings)
    async with running_bot(settings, server):
        m = await server.send_text(ADMIN, "/unanswered")
        [empty] = await server.replies(ADMIN.id, after=m["message_id"])
        assert "No unanswered questions in the last 30 days" in empty["text"]
        for user, question in (
            (ALICE, "Do zebras dance on Mars?"),
            (BOB, "do ZEBRAS dance on mars"),
            (ALICE, "Which penguins sing opera?"),
        ):
            m = await server.send_text(user, question)
            [reply] = await server.replies(user.id, after=m["message_id"])
            assert reply["text"] == "I found nothing about that in the documents."
        m = await server.send_text(BOB, SYBIHA_QUESTION)
        [answer] = await server.replies(BOB.id, after=m["message_id"])
        await _vote(server, BOB, answer, "👎")
        m = await server.send_text(ALICE, "/unanswered")
        [refused] = await server.replies(ALICE.id, after=m["message_id"])
        m = await server.send_text(ADMIN, "/unanswered")
        [listing] = await server.replies(ADMIN.id, after=m["message_id"])
    assert refused["text"] == (
        "Only the bot's admins can see its statistics and the questions it could not answer "
        f"(your user id is {ALICE.id})."
    )
    lines = listing["text"].splitlines()
    assert lines[0].startswith("Questions the documents did not answer, last 30 days")
    assert lines[1] == "1. do ZEBRAS dance on mars — 2 times (not found 2, 👎 0)"
    assert lines[2] == "   also: “Do zebras dance on Mars?”"
    assert f"{SYBIHA_QUESTION} — 1 time (not found 0, 👎 1)" in listing["text"]
    assert "Which penguins sing opera? — 1 time" in listing["text"]

    # The CLI reads the same store, without importing telegram.
    result = CliRunner().invoke(
        cli, ["--index", str(settings.index_dir), "report", "--json", "--limit", "2"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["days"] == 30
    assert [(g["question"], g["count"]) for g in report["groups"]] == [
        ("do ZEBRAS dance on mars", 2),
        (SYBIHA_QUESTION, 1),
    ]  # then the latest first among equals: the 👎 came after the penguins
    text = CliRunner().invoke(cli, ["--index", str(settings.index_dir), "report"])
    assert text.exit_code == 0, text.output
    assert "2x  do ZEBRAS dance on mars" in text.stdout
    assert "also: Do zebras dance on Mars?" in text.stdout
