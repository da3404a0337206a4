"""What feedback costs: the feedback store's writes (each fsynced), the unanswered report over
many questions, and a 👍/👎 tap's time to its acknowledgement through the stand-in Bot API.

    NO_PROXY=127.0.0.1,localhost .venv/bin/python bench/bench_feedback.py [--questions 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qabot.feedback.store import FeedbackStore  # noqa: E402
from qabot.feedback.unanswered import group_questions  # noqa: E402
from qabot.testing.botapi.harness import SYBIHA_QUESTION, TOKEN, make_settings, running_bot, seed  # noqa: E402
from qabot.testing.botapi.server import BotApiServer, TelegramUser  # noqa: E402

WORDS = "nato ukraine council winter budget kallas rutte summit command wiesbaden aid energy"


def store_costs(folder: Path, questions: int) -> None:
    store = FeedbackStore(folder / "feedback.sqlite3")
    t = time.perf_counter()
    keys = [
        store.shown(question="q", answer="a", source="s", chat_id=1, user_id=1) for _ in range(200)
    ]
    shown = (time.perf_counter() - t) / len(keys) * 1000
    t = time.perf_counter()
    for i, key in enumerate(keys):
        store.vote(key, user_id=i, chat_id=1, up=False)
    vote = (time.perf_counter() - t) / len(keys) * 1000
    rng = random.Random(0)
    words = WORDS.split()
    t = time.perf_counter()
    for _ in range(questions):
        question = "What about " + " ".join(rng.sample(words, 3)) + "?"
        store.missed(question, chat_id=1, user_id=2, via="bot")
    missed = (time.perf_counter() - t) / questions * 1000
    t = time.perf_counter()
    rows = store.unanswered(since=0)
    groups = group_questions(rows)
    report = (time.perf_counter() - t) * 1000
    print(f"store: shown {shown:.2f} ms, vote {vote:.2f} ms, missed {missed:.2f} ms (each)")
    print(f"report: {len(rows)} rows -> {len(groups)} groups in {report:.0f} ms")


async def tap_latency(folder: Path, taps: int) -> None:
    async with BotApiServer(TOKEN) as server:
        settings = make_settings(folder, server)
        seed(settings)
        async with running_bot(settings, server):
            alice = TelegramUser(1001, "Alice")
            asked = await server.send_text(alice, SYBIHA_QUESTION)
            [answer] = await server.replies(alice.id, after=asked["message_id"])
            times = []
            for i in range(taps):
                t = time.perf_counter()
                query = await server.press(TelegramUser(2000 + i), answer, "👍👎"[i % 2])
                await server.wait_call(
                    "answerCallbackQuery", lambda p, q=query: p["callback_query_id"] == q
                )
                times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(
        f"taps: {taps}, acknowledged after median {statistics.median(times):.1f} ms, "
        f"p95 {times[int(0.95 * taps) - 1]:.1f} ms, max {times[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument("--taps", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store_costs(Path(tmp), args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(tap_latency(Path(tmp), args.taps))


if __name__ == "__main__":
    main()
