"""Forum supergroups: a question asked in a topic is answered in that topic, and the buttons
under the answer (More results, Source, 👍/👎) answer there too. Over HTTP to the stand-in."""

from __future__ import annotations

import pytest

from qabot.testing.botapi.harness import SYBIHA_QUESTION, TOKEN, make_settings, running_bot, seed
from qabot.testing.botapi.server import BotApiServer, TelegramUser

pytestmark = pytest.mark.timeout(60)

ALICE = TelegramUser(1001, "Alice")


async def _press(server: BotApiServer, message: dict, button: str) -> dict:
    query = await server.press(ALICE, message, button)
    call = await server.wait_call("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
    return call.params


async def test_answers_and_buttons_stay_in_the_questions_topic(tmp_path):
    async with BotApiServer(TOKEN) as server:
        settings = make_settings(tmp_path, server, top_k=2, chunk_tokens=48)
        seed(settings)
        forum = server.forum_chat(-100800)
        topic = server.create_topic(forum, "NATO", ALICE)
        other = server.create_topic(forum, "Chatter", ALICE)
        async with running_bot(settings, server):
            asked = await server.send_text(
                ALICE, f"/ask {SYBIHA_QUESTION}", chat=forum, thread=topic
            )
            [answer] = await server.replies(forum["id"], after=asked["message_id"])
            assert answer["message_thread_id"] == topic and answer["is_topic_message"]
            assert answer["reply_to_message"]["message_id"] == asked["message_id"]

            await _press(server, answer, "Source")
            [source] = await server.replies(forum["id"], after=answer["message_id"])
            assert source["text"].startswith("Source:")
            await _press(server, answer, "More results")
            [more] = await server.replies(forum["id"], after=source["message_id"])
            assert "Result 2" in more["text"]
            assert (await _press(server, answer, "👍"))["text"] == "Thanks for the feedback!"

            mention = await server.send_text(
                ALICE, "@qabot_test_bot Zebras dancing Mars?", chat=forum, thread=other
            )
            [not_found] = await server.replies(forum["id"], after=mention["message_id"])

            general = await server.send_text(ALICE, f"/ask {SYBIHA_QUESTION}", chat=forum)
            [in_general] = await server.replies(forum["id"], after=general["message_id"])

    for message in (source, more):
        assert message["message_thread_id"] == topic
    assert not_found["message_thread_id"] == other
    assert "message_thread_id" not in in_general  # the General topic has no thread id
    # "typing" shows in the topic (later ones may be skipped by pacing: sending.PacedSender)
    actions = [c.params for c in server.calls_of("sendChatAction")]
    assert actions[0]["message_thread_id"] == topic
    assert all(c.status == 200 for c in server.calls), [c.description for c in server.calls]


async def test_an_admins_add_in_a_topic_shows_typing_in_that_topic(tmp_path, server):
    settings = make_settings(tmp_path, server, admin_user_ids=[ALICE.id])
    seed(settings)
    forum = server.forum_chat(-100801)
    topic = server.create_topic(forum, "Links", ALICE)
    async with running_bot(settings, server):
        # A private address is refused before anything is fetched: no web site needed.
        sent = await server.send_text(ALICE, "/add http://10.0.0.7/", chat=forum, thread=topic)
        [refused] = await server.replies(forum["id"], after=sent["message_id"], timeout=30)
    assert refused["message_thread_id"] == topic
    [action] = [c.params for c in server.calls_of("sendChatAction")]
    assert action["message_thread_id"] == topic
