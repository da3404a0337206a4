"""Spans: recorded only inside `recording()`, inclusive, a nested span of the same name once."""

from __future__ import annotations

import asyncio

from qabot.timing import Spans, recording, span


def test_nothing_is_recorded_outside_a_recording():
    with span("stage"):
        pass
    with recording() as spans:
        pass
    assert spans.seconds == {} and spans.calls == {}


def test_spans_add_up_per_name_in_the_order_first_entered():
    with recording() as spans:
        for _ in range(3):
            with span("outer"), span("inner"):
                pass
    assert list(spans.seconds) == ["inner", "outer"]  # in the order they first ended
    assert spans.calls == {"outer": 3, "inner": 3}
    assert spans.seconds["outer"] >= spans.seconds["inner"] > 0


def test_a_span_inside_one_of_the_same_name_counts_once():
    with recording() as spans, span("stage"), span("stage"):
        pass
    assert spans.calls == {"stage": 1}


def test_recordings_nest_and_a_collector_can_be_reused():
    kept = Spans()
    with recording(kept):
        with recording() as inner, span("a"):
            pass
        with span("b"):
            pass
    with recording(kept), span("b"):
        pass
    assert inner.calls == {"a": 1}
    assert kept.calls == {"b": 2}
    kept.clear()
    assert kept.seconds == {}


def test_a_worker_thread_records_into_its_callers_spans():
    def work():
        with span("in thread"):
            pass

    async def main():
        with recording() as spans:
            await asyncio.to_thread(work)
        return spans

    assert asyncio.run(main()).calls == {"in thread": 1}
