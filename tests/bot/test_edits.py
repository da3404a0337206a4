"""An edited question is answered again: the earlier answer is edited in place when it can be,
else the new answer is a reply. Over HTTP to the stand-in, across a restart too."""

from __future__ import annotations

import pytest

from qabot.testing.botapi.harness import SYBIHA_QUESTION, make_settings, running_bot, seed, settled
from qabot.testing.botapi.server import BotApiServer, TelegramUser

pytestmark = pytest.mark.timeout(60)

ALICE = TelegramUser(1001, "Alice")
KALLAS_QUESTION = "Who is the new EU High Representative?"


def _edits(server: BotApiServer) -> int:
    return len([c for c in server.calls_of("editMessageText") if c.status == 200])


async def test_an_edited_question_gets_its_answer_edited_in_place(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        typo = await server.send_text(ALICE, "Zebras dancing Mars?")
        [reply] = await server.replies(ALICE.id, after=typo["message_id"])
        assert "found nothing" in reply["text"] and "reply_markup" not in reply

        await server.edit_text(ALICE, typo, SYBIHA_QUESTION)
        await server.wait_until(lambda: _edits(server) == 1)
        assert "Sybiha" in reply["text"]  # the same message, edited
        assert [b["text"] for b in reply["reply_markup"]["inline_keyboard"][1]] == ["👍", "👎"]

        await server.edit_text(ALICE, typo, KALLAS_QUESTION)
        await server.wait_until(lambda: _edits(server) == 2)
        assert "Kallas" in reply["text"] and "Sybiha" not in reply["text"]
        # An edit that keeps the words (formatting, say) is not answered again.
        await server.edit_text(ALICE, typo, f"  {KALLAS_QUESTION} ")
        await settled(server, settings)
        assert _edits(server) == 2
        assert server.bot_messages(ALICE.id, after=reply["message_id"]) == []

        # Groups: an edited /ask, and a message edited to mention the bot.
        group = server.group_chat(-100900)
        ask = await server.send_text(ALICE, "/ask Zebras dancing Mars?", chat=group)
        [group_reply] = await server.replies(group["id"], after=ask["message_id"])
        await server.edit_text(ALICE, ask, f"/ask@qabot_test_bot {SYBIHA_QUESTION}")
        await server.wait_until(lambda: "Sybiha" in group_reply["text"])
        chatter = await server.send_text(ALICE, "where is the new command?", chat=group)
        await server.edit_text(ALICE, chatter, "@qabot_test_bot Where is the new NATO command?")
        [answer] = await server.replies(group["id"], after=chatter["message_id"])
        assert "Wiesbaden" in answer["text"]
        assert answer["reply_to_message"]["message_id"] == chatter["message_id"]
        # Another command edited in: not a question.
        await server.edit_text(ALICE, chatter, "/sources")
        await settled(server, settings)
        assert server.bot_messages(group["id"], after=answer["message_id"]) == []
    assert all(c.status == 200 for c in server.calls), [c.description for c in server.calls]
    edits = server.calls_of("editMessageText")  # link previews stay off in edited answers too
    assert edits and all(c.params["link_preview_options"] == {"is_disabled": True} for c in edits)


async def test_an_answer_that_cannot_be_edited_is_replaced_by_a_reply(tmp_path, server):
    settings = make_settings(tmp_path, server, edit_window_seconds=60)
    seed(settings)
    async with running_bot(settings, server):
        asked = await server.send_text(ALICE, "Zebras dancing Mars?")
        [first] = await server.replies(ALICE.id, after=asked["message_id"])
        server.delete_message(first)  # the user deleted the bot's answer
        await server.edit_text(ALICE, asked, SYBIHA_QUESTION)
        [second] = await server.replies(ALICE.id, after=first["message_id"])
        assert "Sybiha" in second["text"]
        # Outside the window (60 s here) an edit is ignored.
        await server.edit_text(ALICE, asked, KALLAS_QUESTION, edit_date=asked["date"] + 61)
        await settled(server, settings)
        assert "Sybiha" in second["text"]
        assert server.bot_messages(ALICE.id, after=second["message_id"]) == []


async def test_edits_are_answered_in_order_and_after_a_restart(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [answer] = await server.replies(ALICE.id, after=asked["message_id"])
    # Edited while the bot is down: the restarted bot knows its answer (in the journal).
    await server.edit_text(ALICE, asked, KALLAS_QUESTION)
    # A question and its edit arrive in one batch: answered, then edited, in that order.
    second = await server.send_text(ALICE, "Zebras dancing Mars?")
    await server.edit_text(ALICE, second, "Where is the new NATO command?")
    async with running_bot(settings, server):
        await server.wait_until(lambda: "Kallas" in answer["text"])
        [reply] = await server.replies(ALICE.id, after=second["message_id"])
        await server.wait_until(lambda: "Wiesbaden" in reply["text"])
        await settled(server, settings)
    assert len(server.bot_messages(ALICE.id)) == 2  # no answer sent twice
