"""Asking the bot in private chats and groups, over real HTTP to the stand-in Bot API."""

from __future__ import annotations

import asyncio

import pytest

from qabot.config import Settings
from qabot.service import QAService
from qabot.testing.botapi.harness import SYBIHA_QUESTION, make_settings, running_bot, seed, settled
from qabot.testing.botapi.server import BotApiServer, TelegramUser

pytestmark = pytest.mark.timeout(60)

ALICE = TelegramUser(1001, "Alice")
BOB = TelegramUser(1002, "Bob")
OKSANA = TelegramUser(1003, "Оксана", language_code="uk")
HOSTILE = (
    "Escaping <notes> & *more_notes*\n"
    "The comparison rule says if a < b && c > d then call <script>alert(1)</script> now. "
    "Snake_case_names like max_retries and *starred* words and AT&T &amp; stay verbatim.\n"
)


async def quiet(server: BotApiServer, settings: Settings, chat_id: int, after: int) -> None:
    """Assert the bot sent nothing more to the chat, once it has handled every update."""
    await settled(server, settings)
    assert server.bot_messages(chat_id, after=after) == []


async def test_private_question_is_answered(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [reply] = await server.replies(ALICE.id, after=asked["message_id"])
    # the answer sentence in bold inside its passage, once
    assert reply["html"].startswith("<blockquote>")
    sentence = reply["html"].split("<b>", 1)[1].split("</b>")[0]
    assert "Sybiha" in sentence and reply["text"].count(sentence) == 1
    assert "Alliance must help Ukraine" in reply["text"]  # the document title as the source
    assert server.calls_of("sendChatAction")[0].params["action"] == "typing"
    buttons = [b["text"] for b in reply["reply_markup"]["inline_keyboard"][0]]
    assert buttons == ["More results", "Source"]
    assert "reply_to_message" not in reply  # private chats need no quoting


async def test_commands_are_registered_and_answered(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        assert [c["command"] for c in server.commands[""]] == ["ask", "start", "help", "sources"]
        assert server.commands["uk"][0]["description"] == "Поставити запитання"
        m = await server.send_text(ALICE, "/start")
        [start] = await server.replies(ALICE.id, after=m["message_id"])
        m = await server.send_text(ALICE, "/help")
        [help_] = await server.replies(ALICE.id, after=m["message_id"])
        m = await server.send_text(ALICE, "/sources")
        [sources] = await server.replies(ALICE.id, after=m["message_id"])
        m = await server.send_text(ALICE, "/frobnicate")
        [unknown] = await server.replies(ALICE.id, after=m["message_id"])
    assert "from 1 document (5 passages)" in start["text"]  # "1 documents" no more
    assert "Alliance must help Ukraine" in start["text"]
    assert "/ask" in help_["text"] and "More results" in help_["text"]
    assert "Documents in the index (1)" in sources["text"]
    assert "don't know that command" in unknown["text"]


async def test_group_answers_only_what_is_addressed_to_it(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    group = server.group_chat(-100500)
    async with running_bot(settings, server):
        chatter = await server.send_text(ALICE, "who attended the council anyway?", chat=group)
        await quiet(server, settings, group["id"], chatter["message_id"])

        ask = await server.send_text(ALICE, f"/ask {SYBIHA_QUESTION}", chat=group)
        [answer] = await server.replies(group["id"], after=ask["message_id"])
        assert "Sybiha" in answer["text"]
        assert answer["reply_to_message"]["message_id"] == ask["message_id"]  # quoted in groups

        addressed = await server.send_text(
            BOB, f"/ask@qabot_test_bot {SYBIHA_QUESTION}", chat=group
        )
        [answer] = await server.replies(group["id"], after=addressed["message_id"])
        assert "Sybiha" in answer["text"]

        other_bot = await server.send_text(
            BOB, f"/ask@some_other_bot {SYBIHA_QUESTION}", chat=group
        )
        await quiet(server, settings, group["id"], other_bot["message_id"])

        mention = await server.send_text(BOB, f"@qabot_test_bot {SYBIHA_QUESTION}", chat=group)
        [answer] = await server.replies(group["id"], after=mention["message_id"])
        assert "Sybiha" in answer["text"]

        follow_up = await server.send_text(
            ALICE, "What did Rutte say about winter?", chat=group, reply_to=answer
        )
        [answer] = await server.replies(group["id"], after=follow_up["message_id"])
        assert "winter" in answer["text"]

        reply_to_human = await server.send_text(BOB, "I agree", chat=group, reply_to=follow_up)
        await quiet(server, settings, group["id"], reply_to_human["message_id"])

        bare = await server.send_text(ALICE, "/ask", chat=group)
        [usage] = await server.replies(group["id"], after=bare["message_id"])
        assert "after the command" in usage["text"]


async def test_more_results_and_source_buttons(tmp_path, server):
    settings = make_settings(tmp_path, server, top_k=2, chunk_tokens=48)
    seed(settings)
    async with running_bot(settings, server):
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [answer] = await server.replies(ALICE.id, after=asked["message_id"])

        query = await server.press(ALICE, answer, "Source")
        await server.wait_call("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
        [source] = await server.replies(ALICE.id, after=answer["message_id"])
        assert source["text"].startswith("Source: Alliance must help Ukraine")
        assert "Andrii Sybiha." in source["text"]
        assert source["reply_to_message"]["message_id"] == answer["message_id"]

        query = await server.press(ALICE, answer, "More results")
        await server.wait_call("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
        [more] = await server.replies(ALICE.id, after=source["message_id"])
        assert "Result 2" in more["text"] and "Result 3" in more["text"]
        assert "Result 4" not in more["text"]  # top_k per page
        # The used "More results" button is gone from the answer; "Source" stays.
        await server.wait_call("editMessageReplyMarkup")
        assert [b["text"] for b in answer["reply_markup"]["inline_keyboard"][0]] == ["Source"]
        # The next page hangs under the page just shown.
        query = await server.press(ALICE, more, "More results")
        await server.wait_call("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
        [page2] = await server.replies(ALICE.id, after=more["message_id"])
        assert "Result 4" in page2["text"]
    data = [
        b["callback_data"]
        for c in server.calls_of("sendMessage")
        for row in (c.params.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    ]
    assert data and all(len(d.encode()) <= 64 for d in data)


async def test_stale_buttons_get_a_polite_answer(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [answer] = await server.replies(ALICE.id, after=asked["message_id"])
        # The documents change while the bot runs (a build from the CLI: another process).
        (settings.seeds_dir / "extra.txt").write_text("Kyiv hosted a new conference on energy.\n")
        await asyncio.to_thread(QAService(settings).build)
        query = await server.press(ALICE, answer, "Source")
        call = await server.wait_call(
            "answerCallbackQuery", lambda p: p["callback_query_id"] == query
        )
        assert "documents changed" in call.params["text"]
        await quiet(server, settings, ALICE.id, answer["message_id"])
        # The rebuild was picked up without a restart.
        asked = await server.send_text(ALICE, "Which conference did Kyiv host?")
        [fresh] = await server.replies(ALICE.id, after=asked["message_id"])
        assert "energy" in fresh["text"]

    async with running_bot(settings, server):  # a restarted bot has forgotten the question
        query = await server.press(ALICE, fresh, "Source")
        call = await server.wait_call(
            "answerCallbackQuery", lambda p: p["callback_query_id"] == query
        )
        assert "older answer" in call.params["text"]
        query = await server.press_data(ALICE, fresh, "not-ours")
        call = await server.wait_call(
            "answerCallbackQuery", lambda p: p["callback_query_id"] == query
        )
        assert "older answer" in call.params["text"]


async def test_allow_lists_refuse_strangers(tmp_path, server):
    team = server.group_chat(-200, "Team")
    settings = make_settings(
        tmp_path, server, allowed_user_ids=[ALICE.id], allowed_chat_ids=[team["id"]]
    )
    seed(settings)
    async with running_bot(settings, server):
        asked = await server.send_text(BOB, SYBIHA_QUESTION)
        [refusal] = await server.replies(BOB.id, after=asked["message_id"])
        asked = await server.send_text(BOB, "/start")
        [start] = await server.replies(BOB.id, after=asked["message_id"])
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [answer] = await server.replies(ALICE.id, after=asked["message_id"])
        asked = await server.send_text(BOB, f"/ask {SYBIHA_QUESTION}", chat=team)
        [in_team] = await server.replies(team["id"], after=asked["message_id"])
        other = server.group_chat(-300, "Elsewhere")
        asked = await server.send_text(BOB, f"/ask {SYBIHA_QUESTION}", chat=other)
        [elsewhere] = await server.replies(other["id"], after=asked["message_id"])
    for refused in (refusal, start, elsewhere):
        assert "this bot is private" in refused["text"] and str(BOB.id) in refused["text"]
        assert "Sybiha" not in refused["text"] and "NATO" not in refused["text"]
        assert "reply_markup" not in refused
    assert "Sybiha" in answer["text"] and "Sybiha" in in_team["text"]


async def test_the_readers_span_leads_the_reply(tmp_path, server, tiny_models):
    """With QABOT_READER_MODEL (a tiny random model the test built), the reply starts with the
    reader's exact answer, then its passage; the bot's answer is the service's."""
    settings = make_settings(tmp_path, server, reader_model=str(tiny_models["reader"]))
    seed(settings, {"hostile.txt": HOSTILE})
    question = "What does the comparison rule say about <script>?"
    expected = QAService(settings).ask(question)
    assert expected.found and expected.span
    async with running_bot(settings, server):
        asked = await server.send_text(ALICE, question)
        [reply] = await server.replies(ALICE.id, after=asked["message_id"])
    passage = expected.hits[0].chunk.text
    assert reply["text"].startswith(f"Answer: {expected.span}\n\n{passage[:60]}")
    assert reply["text"].count(expected.sentence) == 1  # marked inside its passage, once
    assert all(c.status == 200 for c in server.calls), [c.description for c in server.calls]


async def test_html_hostile_document_text_arrives_intact(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings, {"hostile.txt": HOSTILE})
    async with running_bot(settings, server):
        asked = await server.send_text(ALICE, "What does the comparison rule say about <script>?")
        [answer] = await server.replies(ALICE.id, after=asked["message_id"])
        query = await server.press(ALICE, answer, "Source")
        await server.wait_call("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
        [source] = await server.replies(ALICE.id, after=answer["message_id"])
        m = await server.send_text(ALICE, "/sources")
        [listing] = await server.replies(ALICE.id, after=m["message_id"])
    assert "• Escaping <notes> & *more_notes* (1 passage)" in listing["text"]
    assert "Source: Escaping <notes> & *more_notes*" in answer["text"]
    for message in (answer, source):
        assert "if a < b && c > d then call <script>alert(1)</script> now." in message["text"]
        assert (
            "Snake_case_names like max_retries and *starred* words and AT&T &amp;"
            in (message["text"])
        )
    assert all(c.status == 200 for c in server.calls), [c.description for c in server.calls]


async def test_long_replies_are_split_under_4096(tmp_path, server):
    sentences = [
        f"Harbour report {i}: the lighthouse keeper logged ships, storms and tides at dawn."
        for i in range(400)
    ]
    long_doc = "Harbour log\n" + "\n".join(" ".join(sentences[i : i + 8]) for i in range(0, 400, 8))
    settings = make_settings(tmp_path, server, top_k=12, chunk_tokens=256)
    seed(settings, {"harbour.txt": long_doc})
    async with running_bot(settings, server):
        asked = await server.send_text(ALICE, "What did the lighthouse keeper log at dawn?")
        [answer] = await server.replies(ALICE.id, after=asked["message_id"])
        query = await server.press(ALICE, answer, "More results")
        await server.wait_call("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
        # The pages are paced (one message a second in a private chat); the last has the button.
        pages = await server.wait_until(
            lambda: (
                (m := server.bot_messages(ALICE.id, after=answer["message_id"]))
                and "reply_markup" in m[-1]
                and m
            ),
            timeout=20,
        )
    assert len(pages) >= 3
    assert all(len(p["text"].encode("utf-16-le")) // 2 <= 4096 for p in pages)
    text = "\n".join(p["text"] for p in pages)
    for rank in range(2, 14):
        assert f"Result {rank} · Harbour log" in text
    # Cuts fall between sentences: every sentence shown is whole.
    lines = [line for p in pages for line in p["text"].splitlines()]
    assert all(line.endswith("at dawn.") for line in lines if line.startswith("Harbour report"))
    assert "reply_markup" in pages[-1] and all("reply_markup" not in p for p in pages[:-1])


async def test_bad_input_is_handled_and_the_bot_keeps_going(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    channel_id = -1009999
    async with running_bot(settings, server):
        m = await server.send_text(ALICE, "   \n  ")
        [empty] = await server.replies(ALICE.id, after=m["message_id"])
        assert "Send me a question in words" in empty["text"]
        m = await server.send_text(ALICE, "why " * 1024)
        [too_long] = await server.replies(ALICE.id, after=m["message_id"])
        assert "characters long" in too_long["text"]
        for kind in ("sticker", "photo", "voice"):
            m = await server.send_media(ALICE, kind)
            [reply] = await server.replies(ALICE.id, after=m["message_id"])
            assert "only read text questions" in reply["text"]
        m = await server.send_text(ALICE, "typo")
        [_reply] = await server.replies(ALICE.id, after=m["message_id"])
        # An edit long after the question is not a question again (bot/test_edits.py: within
        # QABOT_EDIT_WINDOW_SECONDS it is).
        await server.edit_text(ALICE, m, SYBIHA_QUESTION, edit_date=m["date"] + 3600)
        await quiet(server, settings, ALICE.id, _reply["message_id"])
        assert "Sybiha" not in _reply["text"]
        await server.channel_post(channel_id, SYBIHA_QUESTION)
        group = server.group_chat(-4242)
        sticker = await server.send_media(BOB, "sticker", chat=group)
        await quiet(server, settings, group["id"], sticker["message_id"])
        m = await server.send_text(ALICE, SYBIHA_QUESTION)
        [answer] = await server.replies(ALICE.id, after=m["message_id"])
        assert "Sybiha" in answer["text"]
    assert server.bot_messages(channel_id) == []
    assert all(c.status == 200 for c in server.calls), [c.description for c in server.calls]


async def test_ukrainian_users_get_ukrainian_fixed_replies(tmp_path, server):
    settings = make_settings(tmp_path, server, allowed_user_ids=[OKSANA.id, ALICE.id])
    seed(settings)
    stranger = TelegramUser(1004, "Петро", language_code="uk-UA")
    async with running_bot(settings, server):
        m = await server.send_text(OKSANA, "/start")
        [start] = await server.replies(OKSANA.id, after=m["message_id"])
        m = await server.send_text(OKSANA, "Зебри танцюють Марсі?")
        [not_found] = await server.replies(OKSANA.id, after=m["message_id"])
        m = await server.send_text(stranger, "Привіт")
        [refusal] = await server.replies(stranger.id, after=m["message_id"])
        m = await server.send_text(OKSANA, SYBIHA_QUESTION)
        [answer] = await server.replies(OKSANA.id, after=m["message_id"])
        m = await server.send_text(ALICE, "Zebras dancing Mars?")
        [english] = await server.replies(ALICE.id, after=m["message_id"])
    assert start["text"].startswith("Вітаю!")
    assert not_found["text"] == "У документах я нічого про це не знайшов."
    assert "приватний бот" in refusal["text"]
    assert [b["text"] for b in answer["reply_markup"]["inline_keyboard"][0]] == [
        "Ще результати",
        "Джерело",
    ]
    assert "Джерело:" in answer["text"]
    assert english["text"] == "I found nothing about that in the documents."


async def test_questions_per_minute_limit_is_polite(tmp_path, server):
    settings = make_settings(tmp_path, server, questions_per_minute=2)
    seed(settings)
    async with running_bot(settings, server):
        for _ in range(2):
            m = await server.send_text(ALICE, SYBIHA_QUESTION)
            [answer] = await server.replies(ALICE.id, after=m["message_id"])
            assert "Sybiha" in answer["text"]
        m = await server.send_text(ALICE, SYBIHA_QUESTION)
        [limited] = await server.replies(ALICE.id, after=m["message_id"])
        m = await server.send_text(BOB, SYBIHA_QUESTION)  # other users are not affected
        [other] = await server.replies(BOB.id, after=m["message_id"])
    assert "2 questions a minute" in limited["text"] and "try again in" in limited["text"]
    assert "Sybiha" in other["text"]


async def test_an_error_is_logged_reported_and_survived(tmp_path, server, caplog):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        # A newer index version appears whose files are broken: loading it fails.
        (settings.seeds_dir / "extra.txt").write_text("A second document about harbours.\n")
        await asyncio.to_thread(QAService(settings).build)
        store = QAService(settings).store
        version_dir = settings.index_dir / store.current_version()
        for path in version_dir.iterdir():
            if path.is_file() and path.suffix == ".npy":
                path.write_bytes(b"garbage")
        m = await server.send_text(ALICE, SYBIHA_QUESTION)
        [sorry] = await server.replies(ALICE.id, after=m["message_id"])
        m = await server.send_text(ALICE, "/help")
        [help_] = await server.replies(ALICE.id, after=m["message_id"])
    assert "something went wrong" in sorry["text"]
    assert "/ask" in help_["text"]
    assert any(
        "error while handling an update" in r.getMessage() and r.exc_info for r in caplog.records
    )


async def test_button_data_with_unicode_digits_is_an_expired_button(tmp_path, server):
    """ "²" and "٣" are digits to str.isdigit (and "٣" to int()): data this bot never made,
    answered as such, not with the error for a failure."""
    settings = make_settings(tmp_path, server, top_k=2, chunk_tokens=48)
    seed(settings)
    async with running_bot(settings, server):
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [answer] = await server.replies(ALICE.id, after=asked["message_id"])
        rows = answer["reply_markup"]["inline_keyboard"]
        [more] = [b["callback_data"] for row in rows for b in row if b["text"] == "More results"]
        for digit in ("²", "٣"):
            query = await server.press_data(ALICE, answer, more.rsplit("|", 1)[0] + "|" + digit)
            call = await server.wait_call(
                "answerCallbackQuery", lambda p, q=query: p["callback_query_id"] == q
            )
            assert "older answer" in call.params["text"]
        await quiet(server, settings, ALICE.id, answer["message_id"])
