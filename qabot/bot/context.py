"""What the handlers share: the bot's state, the user's language, replying, "typing", search."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram import Message, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import CallbackContext, ExtBot

from qabot.bot.access import Access
from qabot.bot.buttons import QuestionMemory
from qabot.bot.inbox import Inbox, waited
from qabot.bot.messages import language_of, text
from qabot.bot.ratelimit import QuestionLimiter
from qabot.bot.sending import MaybeDelivered
from qabot.config import Settings
from qabot.feedback.store import FeedbackStore
from qabot.service import QAService
from qabot.types import Answer

if TYPE_CHECKING:
    from qabot.bot.watcher import SeedsWatcher

log = logging.getLogger("qabot.bot")
TYPING_REPEAT = 4.5  # seconds; Telegram shows a chat action for about 5


@dataclass
class BotState:
    """Everything the handlers share (`BotContext.state`)."""

    settings: Settings
    service: QAService
    access: Access
    limiter: QuestionLimiter
    inbox: Inbox | None = None
    feedback: FeedbackStore | None = None  # 👍/👎 and "not found" questions (qabot.feedback.store)
    questions: QuestionMemory = field(default_factory=QuestionMemory)
    started: float = field(default_factory=time.monotonic)
    answered: int = 0
    build_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class BotData:
    """``application.bot_data`` (``ContextTypes(bot_data=BotData)``): the bot's state, set by
    `app.build_application` before any update arrives, and the documents-folder watcher while
    one runs."""

    state: BotState
    watcher: SeedsWatcher | None = None


class BotContext(CallbackContext[ExtBot, dict, dict, BotData]):
    """The ``context`` every handler gets (``ContextTypes(context=BotContext)``):
    python-telegram-bot's, with the bot's state typed."""

    @property
    def state(self) -> BotState:
        return self.bot_data.state


def user_language(update: Update) -> str:
    user = update.effective_user
    return language_of(user.language_code if user else None)


def in_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE


def thread_of(message: Message | None) -> int | None:
    """The forum topic a message is in (None outside forums): what the bot answers in. A reply
    chain in an ordinary group also has a message_thread_id, which is no topic to send to."""
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


async def reply(update: Update, html: str | list[str], markup=None) -> list[Message]:
    """Reply in the update's chat (quoting the message in groups, where threads interleave;
    in its forum topic, which `reply_html` keeps); `markup` goes under the last of several
    messages. Returns the messages Telegram confirmed."""
    message = update.effective_message
    texts = [html] if isinstance(html, str) else html
    sent = []
    for i, part in enumerate(texts):
        try:
            sent.append(
                await message.reply_html(
                    part,
                    do_quote=in_group(update) and i == 0,
                    reply_markup=markup if i == len(texts) - 1 else None,
                )
            )
        except MaybeDelivered:
            continue  # most likely delivered, only the answer was late: go on with the rest
    return sent


async def apologise_if_late(update: Update, state: BotState, lang: str) -> None:
    """A question from before a restart that waited long gets a word first."""
    late = state.settings.late_notice_seconds
    if state.inbox and waited(state.inbox, update, longer_than=late):
        await reply(update, text("late", lang))


@contextlib.asynccontextmanager
async def working(
    context: BotContext, chat_id: int, action: str = ChatAction.TYPING, *, thread: int | None = None
) -> AsyncIterator[None]:
    """Show "typing" (or another chat action, in forum topic `thread`) until the block ends."""

    async def show() -> None:
        with contextlib.suppress(TelegramError):
            await context.bot.send_chat_action(chat_id, action, message_thread_id=thread)

    async def repeat() -> None:
        while True:
            await asyncio.sleep(TYPING_REPEAT)
            await show()

    await show()
    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()


def search(
    service: QAService, question: str, k: int, *, as_of: dt.date | None = None
) -> tuple[Answer, str | None]:
    """Blocking: pick up a build made elsewhere, then search (as of the day `as_of`, see
    `asked_on`). Runs in a worker thread."""
    service.reload_if_changed()
    return service.ask(question, k=k, as_of=as_of), service.index_version


def asked_on(message: Message | None) -> dt.date | None:
    """The day a question was asked: its message's date (its edit's, for an edited question),
    in this machine's time zone as `date.today()` is. A question replayed after an outage is
    asked as of the day it was sent, not the day it is answered."""
    when = message and (message.edit_date or message.date)
    return when.astimezone().date() if when else None
