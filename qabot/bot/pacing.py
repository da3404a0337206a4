"""Pacing requests to stay inside Telegram's flood limits by itself, instead of waiting out 429s.

Telegram allows a bot about one message a second in a private chat, 20 a minute in a group and
30 a second overall (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
Each limit is a sliding `Window`: at most `limit` requests in any `seconds`. A request counts
from its start until `seconds` after its response arrived: Telegram counts it when the request
reaches it, somewhere in between, so measuring from the response keeps the limit whatever the
network delay (at the price of one round trip per window).

Chat actions ("typing") are a courtesy, never worth delaying an answer for: `try_action` says
whether one may go now, and it never waits. Plain Python, no Telegram types.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

PRIVATE_LIMIT = (1, 1.0)  # messages, seconds
GROUP_LIMIT = (20, 60.0)
OVERALL_LIMIT = (30, 1.0)
ACTION_EVERY = 4.0  # seconds between chat actions in one chat (Telegram shows one for ~5 s)
_IDLE_POLL = 0.02  # all of a window's requests are in flight: check again this often


class Window:
    """At most `limit` requests in any `seconds` (see the module docstring for what counts)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._ended: deque[float] = deque()  # when answered requests got their response
        self._in_flight = 0
        self.blocked_until = 0.0  # after a 429: nothing before this time

    def _expire(self, now: float) -> None:
        while self._ended and self._ended[0] + self.seconds <= now:
            self._ended.popleft()

    def free(self, now: float) -> int:
        """How many requests may start now."""
        if now < self.blocked_until:
            return 0
        self._expire(now)
        return max(0, self.limit - self._in_flight - len(self._ended))

    def wait(self, now: float) -> float:
        """Seconds until a request may start (0: now)."""
        if now < self.blocked_until:
            return self.blocked_until - now
        if self.free(now):
            return 0.0
        if self._ended:
            return max(_IDLE_POLL, self._ended[0] + self.seconds - now)
        return _IDLE_POLL

    def start(self) -> None:
        self._in_flight += 1

    def end(self, now: float) -> None:
        self._in_flight -= 1
        self._ended.append(now)

    def idle(self, now: float) -> bool:
        self._expire(now)
        return not self._in_flight and not self._ended and now >= self.blocked_until


class _Chat:
    def __init__(self, window: Window) -> None:
        self.window = window
        self.turn = asyncio.Lock()  # messages of one chat go in the order they were asked for
        self.last_action = float("-inf")


class Pacer:
    """The windows of every chat, and the overall one."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.overall = Window(*OVERALL_LIMIT)
        self._chats: dict[int | str, _Chat] = {}

    def _chat(self, chat_id: int | str) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) > 1000:  # forget quiet chats, so memory stays bounded
                now = self._clock()
                self._chats = {
                    k: c
                    for k, c in self._chats.items()
                    if not c.window.idle(now) or c.turn.locked()
                }
            # Groups, supergroups and channels have negative ids (or an @username).
            group = isinstance(chat_id, str) or chat_id < 0
            chat = self._chats[chat_id] = _Chat(Window(*(GROUP_LIMIT if group else PRIVATE_LIMIT)))
        return chat

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: int | str | None) -> AsyncIterator[None]:
        """Wait until a request to `chat_id` (None: no chat) fits every limit; it counts until
        the block ends."""
        chat = self._chat(chat_id) if chat_id is not None else None
        windows = [self.overall] + ([chat.window] if chat else [])
        async with chat.turn if chat else contextlib.nullcontext():
            while (delay := max(w.wait(self._clock()) for w in windows)) > 0:
                await asyncio.sleep(delay)
            for w in windows:
                w.start()
        try:
            yield
        finally:
            now = self._clock()
            for w in windows:
                w.end(now)

    def try_action(self, chat_id: int | str | None) -> bool:
        """Whether a chat action may go to `chat_id` now; if so it is counted overall (the
        caller must call `action_done`). Never when a message is waiting or was just sent to the
        chat, nor when a group has used half its budget: the answer matters more."""
        now = self._clock()
        if chat_id is None or self.overall.free(now) < 1:
            return False
        chat = self._chat(chat_id)
        window = chat.window
        if chat.turn.locked() or now - chat.last_action < ACTION_EVERY:
            return False
        if window.free(now) < max(1, window.limit // 2):
            return False
        chat.last_action = now
        self.overall.start()
        return True

    def action_done(self) -> None:
        self.overall.end(self._clock())

    def hold_actions(self, chat_id: int | str | None, seconds: float) -> None:
        """A chat action got a 429: no more actions to that chat for `seconds` (messages still
        try; if Telegram refuses them too, `block` follows)."""
        if chat_id is not None:
            chat = self._chat(chat_id)
            chat.last_action = max(chat.last_action, self._clock() + seconds - ACTION_EVERY)

    def block(self, chat_id: int | str | None, seconds: float) -> None:
        """Telegram said 429 with retry_after: nothing to this chat (or at all) until then."""
        window = self._chat(chat_id).window if chat_id is not None else self.overall
        window.blocked_until = max(window.blocked_until, self._clock() + seconds)
