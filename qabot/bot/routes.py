"""Which handler takes which kind of update, and who may have it handled.

`add_handlers` registers the routes in python-telegram-bot's handler group 0, in order (the first
route whose filters match an update takes it), and before them, in group -1, one access check for
every update (`check_access`): a stranger is refused where a route for askers or admins would
take the update, an allowed user where a route for admins would, and `ApplicationHandlerStop`
ends the update there. What the bot says to anyone (/help, "unknown command", "text only") and
what it ignores (group chatter, edits outside the window) is nobody's to refuse. A refused
update is journalled and marked done like any other (`inbox`).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Message, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from qabot.bot import admin, callbacks, handlers, votes
from qabot.bot.buttons import VOTES, ButtonData
from qabot.bot.context import BotContext, reply, user_language
from qabot.bot.messages import text
from qabot.ingest.links import LINK_MESSAGE

ACCESS_GROUP = -1  # python-telegram-bot runs lower groups first; the routes are in group 0


class Who(enum.Enum):
    """Who may have a route's handler run."""

    ANYONE = "anyone"
    ASKERS = "askers"  # whom the allow-lists let ask (`Access.may_ask`; admins always)
    ADMINS = "admins"


@dataclass(frozen=True)
class Route:
    who: Who
    handler: BaseHandler
    # What an allowed user who is no admin is told (messages.py), for a route for admins.
    refusal: str = "admin_only"


class EditedWithin(filters.MessageFilter):
    """Edits made within `seconds` of the message (QABOT_EDIT_WINDOW_SECONDS), which are a
    question again. Measured on Telegram's own dates, so a replayed edit is judged as it was
    then."""

    def __init__(self, seconds: float) -> None:
        super().__init__(name=f"EditedWithin({seconds:g}s)")
        self.seconds = seconds

    def filter(self, message: Message) -> bool:
        edited = message.edit_date
        return edited is not None and (edited - message.date).total_seconds() <= self.seconds


class AddressedToBot(filters.MessageFilter):
    """Messages that mention the bot or reply to it (`handlers.addressed_question`)."""

    def filter(self, message: Message) -> bool:
        return handlers.addressed_question(message) is not None


def routes(*, admins: frozenset[int], edit_window: float) -> list[Route]:
    """Every kind of update the bot handles, in the order they are tried: new messages, edited
    ones (answered again within the edit window, see `replies`), button presses; never channel
    posts."""
    new = filters.UpdateType.MESSAGE
    edited = filters.UpdateType.EDITED_MESSAGE
    fresh_edit = edited & EditedWithin(edit_window)
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    text_only = filters.TEXT & ~filters.COMMAND
    # An admin's message that is only a link adds the page; from anyone else it is a question.
    from_admin, link = filters.User(user_id=admins), filters.Regex(LINK_MESSAGE)
    anyone, askers, admins_only = Who.ANYONE, Who.ASKERS, Who.ADMINS
    return [
        Route(anyone, MessageHandler(edited & ~fresh_edit, handlers.edited_too_late)),
        Route(askers, CommandHandler("start", handlers.start, filters=new)),
        Route(anyone, CommandHandler("help", handlers.help_command, filters=new)),
        Route(askers, CommandHandler("ask", handlers.ask_command, filters=new | fresh_edit)),
        Route(askers, CommandHandler("sources", handlers.sources, filters=new)),
        Route(admins_only, CommandHandler("reindex", admin.reindex, filters=new)),
        Route(admins_only, CommandHandler("add", admin.add_link, filters=new)),
        Route(
            admins_only,
            CommandHandler("stats", admin.stats, filters=new),
            refusal="admin_only_reports",
        ),
        Route(
            admins_only,
            CommandHandler("unanswered", admin.unanswered, filters=new),
            refusal="admin_only_reports",
        ),
        Route(
            admins_only,
            MessageHandler(new & private & text_only & from_admin & link, admin.on_link),
        ),
        Route(
            askers,
            MessageHandler((new | fresh_edit) & private & text_only, handlers.ask_private),
        ),
        Route(
            askers,
            MessageHandler(
                (new | fresh_edit) & groups & text_only & AddressedToBot(), handlers.ask_group
            ),
        ),
        Route(
            admins_only,
            MessageHandler(new & private & filters.Document.ALL, admin.on_document),
        ),
        # Groups are not ours to correct; ordinary group chatter matches no route at all.
        Route(anyone, MessageHandler(new & private & filters.COMMAND, handlers.unknown_command)),
        Route(anyone, MessageHandler(new & private, handlers.not_text)),
        Route(
            anyone,
            MessageHandler(
                filters.UpdateType.EDITED | filters.UpdateType.CHANNEL_POSTS, handlers.ignore
            ),
        ),
        Route(
            askers,
            CallbackQueryHandler(callbacks.more_results, pattern=ButtonData.pattern({"m"})),
        ),
        Route(
            askers,
            CallbackQueryHandler(callbacks.show_source, pattern=ButtonData.pattern({"s"})),
        ),
        Route(askers, CallbackQueryHandler(votes.on_vote, pattern=ButtonData.pattern(VOTES))),
        Route(askers, CallbackQueryHandler(callbacks.expired)),  # data this bot did not make
    ]


def add_handlers(application: Application) -> None:
    """The access check in group -1, then the routes, and the error handler."""
    state = application.bot_data.state
    table = routes(admins=state.access.admins, edit_window=state.settings.edit_window_seconds)
    application.add_handler(TypeHandler(Update, access_check(table)), group=ACCESS_GROUP)
    application.add_handlers([route.handler for route in table])
    application.add_error_handler(handlers.on_error)


def access_check(table: list[Route]) -> Callable[[Update, BotContext], Awaitable[None]]:
    """The handler for group -1: refuse an update that the route taking it is not for."""

    async def check_access(update: Update, context: BotContext) -> None:
        """Send the refusal (with the user's id, nothing from the documents; a button press
        gets it as an alert) and handle the update no further; or let it through."""
        access = context.state.access
        user, chat = update.effective_user, update.effective_chat
        user_id = user.id if user else None
        if access.is_admin(user_id):
            return  # admins may do everything
        route = route_of(update, table)
        if route is None or route.who is Who.ANYONE:
            return
        if not access.may_ask(user_id, chat.id if chat else None):
            key = "not_allowed"
        elif route.who is Who.ADMINS:
            key = route.refusal
        else:
            return
        refusal = text(key, user_language(update), user_id=user_id)
        if update.callback_query:
            await update.callback_query.answer(refusal, show_alert=True)
        else:
            await reply(update, refusal)
        raise ApplicationHandlerStop

    return check_access


def route_of(update: Update, table: list[Route]) -> Route | None:
    """The route that takes this update: the first whose handler would (None when none does,
    and anyone may have it)."""
    for route in table:
        check = route.handler.check_update(update)
        if check is not None and check is not False:  # as python-telegram-bot decides
            return route
    return None
