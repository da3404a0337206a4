"""Reply latency of the Telegram bot, measured through the stand-in Bot API server.

The real bot (python-telegram-bot, long polling, qabot's pacing) runs in this process against
the stand-in server on 127.0.0.1. Each question is pushed as a user's message; its latency is
the time until the bot's answer reaches the server (long-poll delivery, "typing", search in a
worker thread, formatting, sendMessage). Questions are paced (`--interval`) and come from 20
users in turn, to stay under Telegram's flood limits (30 messages/s overall, about 1/s in one
private chat), which the bot's pacing would otherwise impose. A burst (`--burst` questions from
10 users at once) is measured after that.

    .venv/bin/python bench/bench_bot_latency.py                 # hashing embedder (no model)
    .venv/bin/python bench/bench_bot_latency.py --embedder sentence-transformers
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qabot.service import QAService  # noqa: E402
from qabot.testing.botapi.harness import TOKEN, make_settings, running_bot, seed  # noqa: E402
from qabot.testing.botapi.server import BotApiServer, TelegramUser  # noqa: E402

QUESTIONS = [
    "Who attended the NATO-Ukraine Council?",
    "What could be the most difficult winter for Ukraine?",
    "Who is the new EU High Representative?",
    "How much security assistance was promised at the Washington summit?",
    "Where is the new NATO command?",
    "What is Russia using to expand the war?",
    "Where did the NATO foreign ministers meet?",
    "What did Rutte say about air defenses?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="qabot-bench-") as tmp:
        async with BotApiServer(TOKEN) as server:
            threshold = 0.1 if args.embedder == "hashing" else 0.3
            settings = make_settings(
                Path(tmp),
                server,
                embedder=args.embedder,
                score_threshold=threshold,
                questions_per_minute=10_000,
            )
            started = time.perf_counter()
            seed(settings)
            print(f"index built in {time.perf_counter() - started:.1f}s ({args.embedder})")
            service = QAService(settings)
            async with running_bot(settings, server, service=service):
                user = TelegramUser(1, "Bench")
                # Warm-up: the first question pays one-off costs (thread pool, tokenizer caches).
                m = await server.send_text(user, QUESTIONS[0])
                await server.replies(user.id, after=m["message_id"], timeout=120)
                latencies, answered = [], 0
                askers = [TelegramUser(1000 + i, f"Asker{i}") for i in range(20)]
                for i in range(args.questions):
                    begin = time.perf_counter()
                    asker = askers[i % len(askers)]
                    m = await server.send_text(asker, QUESTIONS[i % len(QUESTIONS)])
                    [reply] = await server.replies(asker.id, after=m["message_id"], timeout=60)
                    latencies.append((time.perf_counter() - begin) * 1000)
                    answered += "nothing about that" not in reply["text"]
                    await asyncio.sleep(max(0.0, args.interval - (time.perf_counter() - begin)))
                print(
                    f"{args.questions} paced questions: median {statistics.median(latencies):.1f} ms,"
                    f" p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms;"
                    f" {answered} answered from the documents"
                )
                search = []
                for i in range(args.questions):  # the same searches without Telegram around them
                    begin = time.perf_counter()
                    service.ask(QUESTIONS[i % len(QUESTIONS)], k=2)
                    search.append((time.perf_counter() - begin) * 1000)
                print(
                    f"  of which search alone (service.ask, k=2): median "
                    f"{statistics.median(search):.1f} ms, p95 {percentile(search, 0.95):.1f} ms"
                )
                users = [TelegramUser(100 + i) for i in range(10)]
                begin = time.perf_counter()
                await asyncio.gather(
                    *(
                        server.send_text(users[i % 10], QUESTIONS[i % len(QUESTIONS)])
                        for i in range(args.burst)
                    )
                )
                for u in users:
                    await server.replies(u.id, count=args.burst // 10, timeout=120)
                took = time.perf_counter() - begin
                print(
                    f"burst: {args.burst} questions from 10 users all answered in {took:.2f}s "
                    f"({args.burst / took:.1f} answers/s; Telegram allows ~30 messages/s)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--embedder", default="hashing", help="hashing or sentence-transformers")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between questions")
    parser.add_argument("--burst", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
