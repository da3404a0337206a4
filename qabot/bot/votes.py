"""👍 / 👎 under answers: each tap is recorded in the feedback store (`qabot.feedback.store`) and
acknowledged with a short note; one vote per user and answer, a second tap changes it."""

from __future__ import annotations

import asyncio

from telegram import Update

from qabot.bot.buttons import ButtonData
from qabot.bot.context import BotContext, user_language
from qabot.bot.messages import text

VOTE_BUTTONS = {"u": "👍", "d": "👎"}


async def on_vote(update: Update, context: BotContext) -> None:
    """A press on 👍 or 👎: record the vote and answer the callback query (Telegram shows the
    note as a toast)."""
    query = update.callback_query
    data = ButtonData.decode(query.data)
    state = context.state
    lang = user_language(update)
    chat = update.effective_chat
    if state.feedback is None:  # a state built without a store (not the running bot)
        await query.answer()
        return
    vote = await asyncio.to_thread(
        state.feedback.vote,
        data.question_id,
        user_id=update.effective_user.id,
        chat_id=chat.id if chat else None,
        up=data.kind == "u",
    )
    if vote is None:  # forgotten (an old answer nobody voted on), or not ours
        await query.answer(text("button_expired", lang), show_alert=True)
        return
    emoji = VOTE_BUTTONS["u" if vote.vote > 0 else "d"]
    if vote.previous is None:
        note = text("vote_thanks", lang)
    elif vote.previous == vote.vote:
        note = text("vote_same", lang, vote=emoji)
    else:
        note = text("vote_changed", lang, vote=emoji)
    await query.answer(note)
