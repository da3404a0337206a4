"""What the bot does with questions, commands and everything else users send.

Handlers stay thin: they check limits, run the search off the event loop
(`asyncio.to_thread`, so one slow question never stalls other users) and send what
`formatting` renders. Who may ask was checked before any of them runs, and edits outside the
window never reach them (`routes`). Buttons live in `callbacks`, admin commands in `admin`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from qabot.bot.buttons import index_tag
from qabot.bot.callbacks import answer_keyboard
from qabot.bot.context import (
    BotContext,
    apologise_if_late,
    asked_on,
    reply,
    search,
    thread_of,
    user_language,
    working,
)
from qabot.bot.formatting import Block, answer_blocks, escape, render_messages
from qabot.bot.messages import Html, count, plain, text
from qabot.bot.replies import answer_or_edit, earlier_answer, keep_unanswered, shown
from qabot.bot.sending import MaybeDelivered
from qabot.errors import IndexMissingError, QuestionError
from qabot.search.question import check_question, english_only, needs_english
from qabot.service import QAService

log = logging.getLogger("qabot.bot")


# -- questions ---------------------------------------------------------------------------------
async def ask_private(update: Update, context: BotContext) -> None:
    """In a private chat every text message is a question."""
    await answer(update, context, update.effective_message.text or "")


async def ask_group(update: Update, context: BotContext) -> None:
    """In a group, answer messages that mention the bot or reply to it (the route lets only
    those through: `addressed_question`)."""
    await answer(update, context, addressed_question(update.effective_message) or "")


def addressed_question(message: Message) -> str | None:
    """The question in a group message that mentions the bot or replies to it; None for
    ordinary group chatter, which is not addressed to us."""
    bot = message.get_bot()
    replied = message.reply_to_message
    mention = re.compile(rf"@{re.escape(bot.username)}\b", re.IGNORECASE)
    if replied is not None and replied.from_user and replied.from_user.id == bot.id:
        return message.text or ""
    if mention.search(message.text or ""):
        return mention.sub(" ", message.text or "")
    return None


async def ask_command(update: Update, context: BotContext) -> None:
    """/ask question: works everywhere, and is how groups ask."""
    parts = (update.effective_message.text or "").split(maxsplit=1)
    question = parts[1] if len(parts) > 1 else ""
    if not question.strip():
        await reply(update, text("ask_usage", user_language(update)))
        return
    await answer(update, context, question)


async def edited_too_late(update: Update, context: BotContext) -> None:
    """An edit made after QABOT_EDIT_WINDOW_SECONDS is no question again: ignored."""
    log.debug("edit %s is outside the edit window; ignored", update.update_id)


async def answer(update: Update, context: BotContext, question: str) -> None:
    """Check, search, and reply with the answer and its buttons (an edited question: in place
    of the earlier answer, see `replies`)."""
    state = context.state
    lang = user_language(update)
    user, chat = update.effective_user, update.effective_chat
    try:
        normalized = check_question(question, max_chars=state.settings.max_question_chars)
    except QuestionError as exc:
        await reply(update, _refusal(exc, lang))
        return
    earlier = await earlier_answer(update, state)
    if earlier is not None and earlier.question == normalized:
        return  # an edit that left the question as it was (its formatting, say)
    wait = state.limiter.wait_seconds(user.id)
    if wait:
        limit = count("question", state.limiter.per_minute, lang)
        await reply(update, text("rate_limited", lang, limit=limit, seconds=wait))
        return
    await apologise_if_late(update, state, lang)
    day = asked_on(update.effective_message)
    async with working(context, chat.id, thread=thread_of(update.effective_message)):
        try:
            # Two hits: the answer, and whether "More results" has anything to show.
            result, version = await asyncio.to_thread(
                search, state.service, normalized, 2, as_of=day
            )
        except IndexMissingError:
            await reply(update, text("no_index", lang))
            return
        except QuestionError as exc:
            await reply(update, _refusal(exc, lang))
            return
        state.answered += 1
        if not result.found:
            await keep_unanswered(state, normalized, chat_id=chat.id, user_id=user.id)
            s = state.settings
            # Searched all the same: BM25 may match Cyrillic words in the documents.
            key = (
                "english_only"
                if needs_english(normalized, embedder=s.embedder, model=s.model)
                else "not_found"
            )
            await answer_or_edit(update, context, [text(key, lang)], question=normalized)
            return
        tag = index_tag(version)
        qid = state.questions.remember(normalized, tag, as_of=day)
        hit = result.hits[0]
        key = await shown(state, normalized, hit, chat_id=chat.id, user_id=user.id)
        markup = answer_keyboard(lang, tag, qid, more=len(result.hits) > 1, feedback=key)
        texts = render_messages(answer_blocks(hit, lang))
        await answer_or_edit(update, context, texts, markup, question=normalized)


def _refusal(exc: QuestionError, lang: str) -> str:
    """Why the question cannot be asked, in the user's language (`QuestionError.reason`)."""
    if exc.reason == "empty":
        return text("empty_question", lang)
    if exc.reason == "too_long":
        return text("too_long", lang, length=exc.length, limit=exc.limit)
    return escape(exc)  # not UTF-8: Telegram sends only valid text, so no message of ours


# -- commands ----------------------------------------------------------------------------------
async def start(update: Update, context: BotContext) -> None:
    """/start: what the bot knows, with example questions."""
    state = context.state
    lang = user_language(update)
    docs = await _documents(state.service)
    if not docs:
        await reply(update, text("start_empty", lang))
        return
    examples = "\n".join(text("example", lang, title=title) for _doc_id, title, _n in docs[:3])
    chunks = sum(n for _doc_id, _title, n in docs)
    documents = count("document", len(docs), lang)
    passages = count("passage", chunks, lang)
    welcome = text("start", lang, documents=documents, chunks=passages, examples=Html(examples))
    await reply(update, welcome + _admin_notes(update, state, lang))


def _admin_notes(update: Update, state, lang: str) -> str:
    """What an admin should know at /start and /help: an English-only model cannot serve
    Ukrainian and Russian questions."""
    s = state.settings
    user = update.effective_user
    if state.access.is_admin(user.id if user else None) and english_only(
        embedder=s.embedder, model=s.model
    ):
        return "\n\n" + text("admin_multilingual", lang)
    return ""


async def _documents(service: QAService) -> list[tuple[str, str, int]]:
    """The index's documents (none before the first build), off the event loop."""

    def load() -> list[tuple[str, str, int]]:
        service.reload_if_changed()
        return service.documents()

    try:
        return await asyncio.to_thread(load)
    except IndexMissingError:
        return []


async def help_command(update: Update, context: BotContext) -> None:
    """/help: how to ask, the buttons, edits, topics, and the admin commands."""
    state = context.state
    lang = user_language(update)
    window = state.settings.edit_window_seconds
    edits = text("help_edits", lang, minutes=f"{window / 60:g}") if window else ""
    await reply(update, text("help", lang, edits=Html(edits)) + _admin_notes(update, state, lang))


async def sources(update: Update, context: BotContext) -> None:
    """/sources: the documents in the index, split over several messages if many."""
    state = context.state
    lang = user_language(update)
    docs = await _documents(state.service)
    if not docs:
        await reply(update, text("no_index", lang))
        return
    heading = text("sources_heading", lang, count=len(docs))
    lines = "\n".join(
        plain("sources_line", lang, title=title or doc_id, chunks=count("passage", n, lang))
        for doc_id, title, n in docs
    )
    await reply(update, render_messages([Block(lines, prefix=heading + "\n")]))


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have (private chats only; groups are not ours to correct)."""
    await reply(update, text("unknown_command", user_language(update)))


# -- everything else ---------------------------------------------------------------------------
async def not_text(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice... in a private chat: say what the bot can read."""
    await reply(update, text("text_only", user_language(update)))


async def ignore(update: Update, context: BotContext) -> None:
    """Channel posts are ignored on purpose (a channel has no one to answer), and so are edits
    that are no question (a sticker's caption, another command)."""
    log.debug("ignored update %s", update.update_id)


async def on_error(update: object, context: BotContext) -> None:
    """Log the traceback, tell the user something went wrong, and keep the bot running.
    Not after a message that timed out once sent: it was most likely delivered.

    An update whose handling failed goes no further (`ApplicationHandlerStop`): above all, one
    whose access check failed (handler group -1, `routes`) never reaches the handler it was
    checked for."""
    await _report(update, context)
    raise ApplicationHandlerStop


async def _report(update: object, context: BotContext) -> None:
    if isinstance(context.error, MaybeDelivered):
        log.warning("a reply timed out after it was sent; it was not repeated")
        return
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    lang = user_language(update)
    if update.callback_query:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    with contextlib.suppress(TelegramError):
        await context.bot.send_message(
            update.effective_chat.id,
            text("error", lang),
            message_thread_id=thread_of(update.effective_message),
        )
