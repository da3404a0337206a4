"""Every Bot API request the bot makes goes through `PacedSender`: paced, and retried when
Telegram did not carry it out.

python-telegram-bot calls `process_request` around each HTTP request (except getUpdates, which
its polling loop retries itself). Here a request

- waits for its turn in the `Pacer` (Telegram's flood limits), and a chat action that would have
  to wait is skipped instead: it would only delay the answer it announces;
- is retried with backoff after a 5xx answer or a dropped or refused connection: the Bot API did
  not carry it out (a 5xx is Telegram's "try again"; a connection that failed before an answer
  is taken as not carried out, see below);
- after a 429 waits the ``retry_after`` Telegram asked for, holding back that chat (or all);
- is *not* repeated when it timed out after it was sent: Telegram may well have delivered the
  message and only the answer was late, and a second copy is worse than a late one. That raises
  `MaybeDelivered` and no apology follows.

A connection dropped without an answer is the ambiguous case: it is retried, on the assumption
that a server that hangs up without answering has not carried the request out (what the
stand-in tests do). Had it been carried out, the user gets that message twice.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from qabot.bot.pacing import Pacer

log = logging.getLogger("qabot.bot")
# A 429 is waited out (retry_after) up to this many times before the request fails.
MAX_FLOOD_RETRIES = 5
# Transient failures (5xx, dropped connections): retried after 0.5, 1, 2, 4 and 8 seconds.
TRANSIENT_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
# Requests that do the same thing when repeated, so a timeout can be retried.
REPEATABLE = frozenset(
    {
        "getMe", "getFile", "getChat", "setMyCommands", "deleteMyCommands", "getMyCommands",
        "setWebhook", "deleteWebhook", "getWebhookInfo", "editMessageReplyMarkup",
        # An edited question's answer: a second edit to the same text is refused as "not
        # modified", which the bot takes as done.
        "editMessageText",
    }
)  # fmt: skip
# Requests that put a message in a chat.
MESSAGES = frozenset(
    {
        "sendMessage", "sendDocument", "sendPhoto", "sendAudio", "sendVideo", "sendVoice",
        "sendSticker", "sendAnimation", "sendMediaGroup", "sendLocation", "sendContact",
        "sendPoll", "copyMessage", "forwardMessage",
    }
)  # fmt: skip
_NOT_SENT = (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError)
JSON = bool | dict[str, Any] | list[dict[str, Any]]


class MaybeDelivered(TimedOut):
    """A message request timed out after it was sent: Telegram may have delivered it, so it is
    not sent again, and the user gets no apology for it (logged as a warning)."""


def _not_sent(exc: NetworkError) -> bool:
    """The request provably never reached the server (refused or timed-out connection)."""
    cause = exc.__cause__
    return isinstance(cause, _NOT_SENT)


def _transient(exc: NetworkError) -> bool:
    """A 5xx answer (PTB raises a bare NetworkError for those) or a failed connection."""
    if isinstance(exc, BadRequest):
        return False
    if isinstance(exc, TimedOut):
        return _not_sent(exc)
    return True


def _seconds(exc: RetryAfter) -> float:
    value = exc._retry_after  # a timedelta; the public attribute warns while it may be an int
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


class PacedSender(BaseRateLimiter[None]):
    """The bot's rate limiter: pacing, 429s and transient errors (see the module docstring)."""

    def __init__(
        self,
        pacer: Pacer | None = None,
        *,
        before_send: Callable[[], None] = lambda: None,
        after_send: Callable[[], None] = lambda: None,
        sleep=asyncio.sleep,
    ) -> None:
        self.pacer = pacer or Pacer()
        # Called before a message request leaves and once Telegram confirmed it (the journal).
        self.before_send, self.after_send = before_send, after_send
        self._sleep = sleep

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> JSON:
        chat_id = data.get("chat_id")
        if endpoint == "sendChatAction":
            return await self._chat_action(callback, args, kwargs, chat_id)
        floods = transients = 0
        while True:
            try:
                async with self.pacer.slot(chat_id):
                    if endpoint not in MESSAGES:
                        return await callback(*args, **kwargs)
                    self.before_send()
                    result = await callback(*args, **kwargs)
                    self.after_send()
                    return result
            except RetryAfter as exc:
                floods += 1
                if floods > MAX_FLOOD_RETRIES:
                    raise
                wait = _seconds(exc)
                log.warning("%s: flood limit, retrying in %.0f s", endpoint, wait)
                self.pacer.block(chat_id, wait)
            except NetworkError as exc:
                if isinstance(exc, TimedOut) and not _not_sent(exc):
                    if endpoint not in REPEATABLE:
                        log.warning("%s timed out after it was sent; not repeated", endpoint)
                        raise MaybeDelivered(str(exc)) from exc
                elif not _transient(exc):
                    raise
                if transients >= len(TRANSIENT_DELAYS):
                    raise
                delay = TRANSIENT_DELAYS[transients]
                transients += 1
                log.warning("%s failed (%s), retrying in %.1f s", endpoint, exc, delay)
                await self._sleep(delay)

    async def _chat_action(
        self, callback: Callable[..., Coroutine[Any, Any, JSON]], args, kwargs, chat_id
    ) -> JSON:
        """One try, now or never: a chat action that has to wait or fails is skipped."""
        if not self.pacer.try_action(chat_id):
            return True
        try:
            return await callback(*args, **kwargs)
        except (NetworkError, RetryAfter) as exc:
            if isinstance(exc, RetryAfter):
                self.pacer.hold_actions(chat_id, _seconds(exc))
            log.debug("chat action skipped: %s", exc)
            return True
        finally:
            self.pacer.action_done()
