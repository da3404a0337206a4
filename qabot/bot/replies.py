"""Sending an answer: remembered per question message, so that an edited question is answered
again in place of the earlier answer; and what the feedback store keeps of it.

The bot's answer to each question message is recorded in the journal (`Journal.replied`) once
Telegram confirmed it. An edit of that message (within QABOT_EDIT_WINDOW_SECONDS) is handled in
its chat's order, after the question itself, also when both are replayed after a restart: an
answer of one message is edited into the new one (editing is idempotent: an edit repeated after
a crash finds the text already there, "message is not modified"); otherwise, or when Telegram
refuses the edit (too old, deleted), the new answer is sent as a reply.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from qabot.bot.context import BotContext, BotState, reply
from qabot.types import Hit

log = logging.getLogger("qabot.bot")


async def earlier_answer(update: Update, state: BotState):
    """What the bot answered to the message an edit changed (None for new messages)."""
    message = update.edited_message
    if message is None or state.inbox is None:
        return None
    return await asyncio.to_thread(
        state.inbox.journal.reply_to, message.chat_id, message.message_id
    )


async def answer_or_edit(
    update: Update,
    context: BotContext,
    texts: list[str],
    markup: InlineKeyboardMarkup | None = None,
    *,
    question: str,
) -> None:
    """Send the answer (or edit the earlier one into it) and remember it for later edits."""
    state = context.state
    message = update.effective_message
    earlier = await earlier_answer(update, state)
    sent_ids: list[int] = []
    if earlier is not None and len(earlier.message_ids) == 1 and len(texts) == 1:
        target = earlier.message_ids[0]
        if await _edit(context, message.chat_id, target, texts[0], markup):
            sent_ids = [target]
    if not sent_ids:
        sent_ids = [m.message_id for m in await reply(update, texts, markup)]
    if state.inbox is not None and sent_ids:
        await asyncio.to_thread(
            state.inbox.journal.replied,
            message.chat_id,
            message.message_id,
            question=question,
            message_ids=sent_ids,
        )


async def _edit(
    context: BotContext,
    chat_id: int,
    message_id: int,
    html: str,
    markup: InlineKeyboardMarkup | None,
) -> bool:
    """Edit a message of the bot; False when Telegram refuses (then the caller replies)."""
    try:
        # No reply_markup removes the old buttons, as a "not found" needs.
        await context.bot.edit_message_text(
            html, chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
    except BadRequest as exc:
        if "not modified" in str(exc).lower():  # the same answer, or an edit made before a crash
            return True
        log.info("the earlier answer could not be edited (%s); replying instead", exc)
        return False
    return True


# -- the feedback store: never at the cost of the answer ---------------------------------------
async def shown(state: BotState, question: str, hit: Hit, *, chat_id: int, user_id: int):
    """Record the answer about to be shown; its key for the 👍/👎 buttons (None: no buttons,
    when there is no store or it cannot be written)."""
    if state.feedback is None:
        return None
    try:
        return await asyncio.to_thread(
            state.feedback.shown,
            question=question,
            answer=hit.span or hit.sentence,
            source=hit.chunk.title or hit.chunk.source,
            chat_id=chat_id,
            user_id=user_id,
        )
    except (sqlite3.Error, OSError) as exc:
        log.warning("feedback store not written (%s); answering without 👍/👎", exc)
        return None


async def keep_unanswered(state: BotState, question: str, *, chat_id: int, user_id: int) -> None:
    """Keep a question answered "not found" for /unanswered and `qabot report`."""
    if state.feedback is None:
        return
    try:
        await asyncio.to_thread(
            state.feedback.missed, question, chat_id=chat_id, user_id=user_id, via="bot"
        )
    except (sqlite3.Error, OSError) as exc:
        log.warning("an unanswered question was not kept (%s)", exc)
