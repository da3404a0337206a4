"""The buttons under answers: "More results", "Source", and 👍 / 👎 (`votes`)."""

from __future__ import annotations

import asyncio
import contextlib

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from qabot.bot.buttons import VOTES, ButtonData, index_tag
from qabot.bot.formatting import more_blocks, render_messages, source_blocks
from qabot.bot.messages import text
from qabot.bot.state import Context, search, state_of, thread_of, user_language
from qabot.bot.votes import VOTE_BUTTONS, on_vote


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
async def on_button(update: Update, context: Context) -> None:
    """A press on "More results" or "Source"; stale or foreign buttons get a polite note."""
    query = update.callback_query
    state = state_of(context)
    lang = user_language(update)
    user, chat = update.effective_user, update.effective_chat
    if not state.access.may_ask(user.id, chat.id if chat else None):
        await query.answer(text("not_allowed", lang, user_id=user.id), show_alert=True)
        return
    data = ButtonData.decode(query.data)
    if data is not None and data.kind in VOTES:
        await on_vote(update, context, data)
        return
    asked = state.questions.recall(data.question_id) if data else None
    if data is None or asked is None:  # not ours, or from before a restart
        await query.answer(text("button_expired", lang), show_alert=True)
        return
    await asyncio.to_thread(state.service.reload_if_changed)
    if data.index_tag != index_tag(state.service.index_version):
        await query.answer(text("button_stale", lang), show_alert=True)
        return
    top_k = state.settings.top_k
    if data.kind == "m":
        await _more_results(update, context, asked.question, page=data.n, top_k=top_k)
    else:
        await _show_source(update, context, asked.question, rank=data.n)


async def _more_results(
    update: Update, context: Context, question: str, *, page: int, top_k: int
) -> None:
    """Page `page` of further passages (ranks after the answer, `top_k` per page)."""
    query = update.callback_query
    lang = user_language(update)
    state = state_of(context)
    first = 1 + (page - 1) * top_k  # index into hits; hits[0] is the answer itself
    result, version = await asyncio.to_thread(search, state.service, question, first + top_k + 1)
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


async def _show_source(update: Update, context: Context, question: str, *, rank: int) -> None:
    """The text around the passage of rank `rank`, with the document's name."""
    query = update.callback_query
    lang = user_language(update)
    state = state_of(context)
    result, _version = await asyncio.to_thread(search, state.service, question, max(rank, 2))
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
    context: Context,
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
