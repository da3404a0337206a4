"""The buttons under answers: "More results", "Source", and 👍 / 👎 (`votes`).

Each kind of button has its own `CallbackQueryHandler`, chosen by the kind in its data
(`ButtonData.pattern`, see `routes`); a press on a button this bot did not make, or made before a
restart, gets `expired`."""

from __future__ import annotations

import asyncio
import contextlib

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from qabot.bot.buttons import AskedQuestion, ButtonData, index_tag
from qabot.bot.context import BotContext, search, thread_of, user_language
from qabot.bot.formatting import more_blocks, render_messages, source_blocks
from qabot.bot.messages import text
from qabot.bot.votes import VOTE_BUTTONS


def answer_keyboard(
    lang: str, tag: str, qid: str, *, more: bool, feedback: str | None = None
) -> InlineKeyboardMarkup:
    """The buttons under an answer: "More results" (when there is more) and "Source"; then 👍
    and 👎 when the answer has a feedback key."""
    row = []
    if more:
        data = ButtonData("m", tag, qid, 1).encode()
        row.append(InlineKeyboardButton(text("more_button", lang), callback_data=data))
    data = ButtonData("s", tag, qid, 1).encode()
    row.append(InlineKeyboardButton(text("source_button", lang), callback_data=data))
    rows = [row]
    if feedback:
        rows.append(
            [
                InlineKeyboardButton(
                    emoji, callback_data=ButtonData(kind, tag, feedback, 1).encode()
                )
                for kind, emoji in VOTE_BUTTONS.items()
            ]
        )
    return InlineKeyboardMarkup(rows)


# -- presses ----------------------------------------------------------------------------------
async def more_results(update: Update, context: BotContext) -> None:
    """A press on "More results": the next page of passages."""
    data = ButtonData.decode(update.callback_query.data)
    asked = await _asked(update, context, data)
    if asked is not None:
        top_k = context.state.settings.top_k
        await _more_results(update, context, asked, page=data.n, top_k=top_k)


async def show_source(update: Update, context: BotContext) -> None:
    """A press on "Source": the text around the answer's passage."""
    data = ButtonData.decode(update.callback_query.data)
    asked = await _asked(update, context, data)
    if asked is not None:
        await _show_source(update, context, asked, rank=data.n)


async def expired(update: Update, context: BotContext) -> None:
    """A press on a button this bot did not make: a polite note, as for a forgotten one."""
    await update.callback_query.answer(
        text("button_expired", user_language(update)), show_alert=True
    )


async def _asked(update: Update, context: BotContext, data: ButtonData) -> AskedQuestion | None:
    """The question a "More results" or "Source" button was made for; None, with a polite
    note, when it is from before a restart or the documents changed since."""
    query = update.callback_query
    state = context.state
    lang = user_language(update)
    asked = state.questions.recall(data.question_id)
    if asked is None:  # from before a restart
        await query.answer(text("button_expired", lang), show_alert=True)
        return None
    await asyncio.to_thread(state.service.reload_if_changed)
    if data.index_tag != index_tag(state.service.index_version):
        await query.answer(text("button_stale", lang), show_alert=True)
        return None
    return asked


async def _more_results(
    update: Update, context: BotContext, asked: AskedQuestion, *, page: int, top_k: int
) -> None:
    """Page `page` of further passages (ranks after the answer, `top_k` per page)."""
    query = update.callback_query
    lang = user_language(update)
    state = context.state
    first = 1 + (page - 1) * top_k  # index into hits; hits[0] is the answer itself
    result, version = await asyncio.to_thread(
        search, state.service, asked.question, first + top_k + 1, as_of=asked.as_of
    )
    hits = result.hits[first : first + top_k]
    if not hits:
        await query.answer(text("no_more", lang), show_alert=True)
        return
    await query.answer()
    markup = None
    if len(result.hits) > first + top_k:
        data = ButtonData(
            "m", index_tag(version), ButtonData.decode(query.data).question_id, page + 1
        )
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(text("more_button", lang), callback_data=data.encode())]]
        )
    await _send_following(update, context, render_messages(more_blocks(hits, lang)), markup)
    await _drop_button(query, "m")


async def _show_source(
    update: Update, context: BotContext, asked: AskedQuestion, *, rank: int
) -> None:
    """The text around the passage of rank `rank`, with the document's name."""
    query = update.callback_query
    lang = user_language(update)
    state = context.state
    result, _version = await asyncio.to_thread(
        search, state.service, asked.question, max(rank, 2), as_of=asked.as_of
    )
    if len(result.hits) < rank:
        await query.answer(text("button_stale", lang), show_alert=True)
        return
    hit = result.hits[rank - 1]
    around = await asyncio.to_thread(
        state.service.context, hit.chunk.doc_id, hit.chunk.start, hit.chunk.end
    )
    await query.answer()
    await _send_following(update, context, render_messages(source_blocks(hit, around, lang)))


async def _send_following(
    update: Update,
    context: BotContext,
    texts: list[str],
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Send messages after the one whose button was pressed, replying to it (in its forum
    topic, if any)."""
    query = update.callback_query
    chat_id = update.effective_chat.id
    reply_to = query.message.message_id if query.message else None
    for i, part in enumerate(texts):
        await context.bot.send_message(
            chat_id,
            part,
            message_thread_id=thread_of(query.message),
            reply_to_message_id=reply_to if i == 0 else None,
            allow_sending_without_reply=True,
            reply_markup=markup if i == len(texts) - 1 else None,
        )


async def _drop_button(query: CallbackQuery, kind: str) -> None:
    """Remove a used "More results" button, so the next page is asked for only once."""
    markup = getattr(query.message, "reply_markup", None)
    if not markup:
        return

    def keep(button: InlineKeyboardButton) -> bool:
        data = ButtonData.decode(button.callback_data)
        return data is None or data.kind != kind

    rows = [[b for b in row if keep(b)] for row in markup.inline_keyboard]
    rows = [row for row in rows if row]
    with contextlib.suppress(BadRequest):  # edited meanwhile, or too old to edit
        await query.edit_message_reply_markup(InlineKeyboardMarkup(rows) if rows else None)
