"""Where a question's time goes: named spans, measured only while someone records them.

``with span("retrieve"):`` around a stage adds its wall seconds to the `Spans` that
`recording()` made current, and costs one context-variable lookup when nothing records (the
bot and the CLI never do; bench/benchlib.py does). Spans are inclusive: a stage's seconds
hold those of the stages inside it. A span opened again while one of the same name is open
is counted once, with the outer one.

The current `Spans` is a context variable: a thread started with `asyncio.to_thread` records
into its caller's, a bare thread into none.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar


class Spans:
    """Seconds and entries per span name (a name appears when its first span ends)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._open: set[str] = set()

    def span(self, name: str) -> AbstractContextManager[None]:
        return _NOTHING if name in self._open else self._timed(name)

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        self._open.add(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.calls[name] = self.calls.get(name, 0) + 1
            self._open.discard(name)

    def clear(self) -> None:
        self.seconds.clear()
        self.calls.clear()


_current: ContextVar[Spans | None] = ContextVar("qabot_spans", default=None)
_NOTHING = nullcontext()


def span(name: str) -> AbstractContextManager[None]:
    """Time the block as stage `name` into the current `Spans`; nothing when none records."""
    spans = _current.get()
    return _NOTHING if spans is None else spans.span(name)


@contextmanager
def recording(spans: Spans | None = None) -> Iterator[Spans]:
    """Record the spans entered inside the block into `spans` (a new `Spans` when None)."""
    spans = Spans() if spans is None else spans
    token = _current.set(spans)
    try:
        yield spans
    finally:
        _current.reset(token)
