"""What can go wrong between a bot and Telegram, for the stand-in server to serve on demand.

`Fault`: one request answered badly: a 500, a 502, the connection dropped before the request is
handled, or a slow answer (the request is handled, the message exists, the answer comes late).

`FloodLimits`: Telegram's flood limits, enforced: about one message a second in a private chat,
20 a minute in a group, 30 a second overall; a request over a limit is refused with 429 and the
``retry_after`` Telegram would send. Stricter than Telegram (which tolerates short bursts), so a
bot that passes here stays inside the real limits. Chat actions count toward the overall limit
only: Telegram's per-chat limits are on messages.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

FAULT_KINDS = ("500", "502", "drop", "slow")
PRIVATE_LIMIT = (1, 1.0)  # requests, seconds
GROUP_LIMIT = (20, 60.0)
OVERALL_LIMIT = (30, 1.0)
_NOT_A_MESSAGE = {"sendChatAction"}


@dataclass(frozen=True)
class Fault:
    """How to answer one request: `kind` is one of `FAULT_KINDS`; `delay` for "slow"."""

    kind: str
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {FAULT_KINDS}")


class _Window:
    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.times: deque[float] = deque()

    def retry_after(self, now: float) -> float:
        """0 when one more request fits, else the seconds until it would."""
        while self.times and self.times[0] + self.seconds <= now:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.seconds - now


class FloodLimits:
    """Counts the requests that name a chat, at their arrival."""

    def __init__(self) -> None:
        self.overall = _Window(*OVERALL_LIMIT)
        self.chats: dict[int, _Window] = {}
        self.refused = 0

    def check(self, method: str, chat_id: object) -> int:
        """0 and the request is counted, or the ``retry_after`` (whole seconds) for a 429."""
        if not isinstance(chat_id, int):
            return 0
        now = time.monotonic()
        windows = [self.overall]
        if method not in _NOT_A_MESSAGE:
            limit = GROUP_LIMIT if chat_id < 0 else PRIVATE_LIMIT
            windows.append(self.chats.setdefault(chat_id, _Window(*limit)))
        wait = max(w.retry_after(now) for w in windows)
        if wait > 0:
            self.refused += 1
            return max(1, math.ceil(wait))
        for w in windows:
            w.times.append(now)
        return 0
