"""A per-user limit on questions per minute (sliding window), so one user cannot hog the bot."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class QuestionLimiter:
    """At most `per_minute` questions from one user in any 60 seconds."""

    WINDOW = 60.0

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}

    def wait_seconds(self, user_id: int) -> int:
        """0 and the question is counted, or how many seconds until the user may ask again."""
        now = self._clock()
        times = self._asked.setdefault(user_id, deque())
        while times and now - times[0] >= self.WINDOW:
            times.popleft()
        if len(times) >= self.per_minute:
            return max(1, math.ceil(self.WINDOW - (now - times[0])))
        times.append(now)
        if len(self._asked) > 10_000:  # forget users who went quiet, so memory stays bounded
            self._asked = {u: t for u, t in self._asked.items() if t and now - t[-1] < self.WINDOW}
        return 0
