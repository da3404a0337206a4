"""The Telegram bot under faults (issue 11), measured through the stand-in Bot API server.

The stand-in (qabot/testing/botapi) runs on 127.0.0.1 with Telegram's flood limits enforced: a request
over about 1 message/s in a private chat, 20/min in a group or 30/s overall is refused with 429.
The hashing embedder answers (no model), so what is measured is the bot, not the search.

1. kill -9: the real `qabot bot` process gets 200 questions from 20 users (10 each), is killed
   with SIGKILL once 40 answers have arrived, and is started again: how many questions were
   answered, how many twice, whether each chat's answers came in order.
2. burst: 200 questions from 20 users at once (bot in this process): 429s received, all
   delivered, time of the last answer.
3. group: 30 /ask questions from 10 users in one group: time to the first answer, the 20th, the
   last (Telegram allows 20 messages a minute in a group), chat actions sent meanwhile.
4. one fault on sendMessage (500, 502, dropped connection, answer after the 5 s read timeout):
   answers and apologies the user got.

    NO_PROXY=127.0.0.1,localhost .venv/bin/python bench/bench_bot_faults.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import header, load_avg  # noqa: E402

from qabot.testing.botapi.harness import (  # noqa: E402
    ANSWERED_QUESTIONS,
    SYBIHA_QUESTION,
    TOKEN,
    make_settings,
    running_bot,
    seed,
    tally_chat,
)
from qabot.testing.botapi.process import bot_env, ready_or_fail, start_bot, stop_bot  # noqa: E402
from qabot.testing.botapi.server import BotApiServer, TelegramUser  # noqa: E402

QUESTIONS = ANSWERED_QUESTIONS
APOLOGY = "something went wrong"


def answers(server: BotApiServer, users: list[TelegramUser]) -> int:
    return sum(len(server.bot_messages(u.id)) for u in users)


def tally(server: BotApiServer, users: list[TelegramUser], per_user: int) -> tuple[int, int, int]:
    """(questions answered, answers repeated, chats whose answers are out of order)."""
    answered = repeated = disorder = 0
    for user in users:
        n, again, in_order = tally_chat(server, user.id, per_user)
        answered, repeated, disorder = answered + n, repeated + again, disorder + (not in_order)
    return answered, repeated, disorder


async def ask(server, users, per_user: int, *, chat: dict | None = None, prefix: str = "") -> None:
    questions = list(QUESTIONS)
    for i in range(per_user):  # round after round, each user in order
        await asyncio.gather(
            *(server.send_text(u, prefix + questions[i % len(questions)], chat=chat) for u in users)
        )


async def bench_kill(tmp: Path, *, users_n: int, per_user: int, kill_at: int) -> None:
    async with BotApiServer(TOKEN, flood_limits=True) as server:
        settings = make_settings(tmp, server)
        seed(settings)
        users = [TelegramUser(10_000 + i, f"User{i}") for i in range(users_n)]
        total = users_n * per_user
        env = bot_env(tmp, server, QABOT_QUESTIONS_PER_MINUTE="1000")
        proc, log = await start_bot(tmp, env)
        try:
            await ready_or_fail(server, proc, log)
            started = time.monotonic()
            await ask(server, users, per_user)
            await server.wait_until(lambda: answers(server, users) >= kill_at, timeout=120)
            proc.send_signal(signal.SIGKILL)
            code = await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
        killed_at = time.monotonic() - started
        before = answers(server, users)
        await asyncio.sleep(0.2)
        unconfirmed = server.pending_updates
        server.ready.clear()
        restarted = time.monotonic()
        proc, log = await start_bot(tmp, env, log_name="bot2.log")
        try:
            await ready_or_fail(server, proc, log)
            with contextlib.suppress(AssertionError):  # reported below as unanswered
                await server.wait_until(
                    lambda: tally(server, users, per_user)[0] >= total, timeout=180
                )
            done = time.monotonic() - restarted
            await asyncio.sleep(3)  # room for duplicates to show up
        finally:
            await stop_bot(proc)
        answered, extra, disorder = tally(server, users, per_user)
        cut = [line for line in log.read_text().splitlines() if "journal:" in line]
        print(
            f"kill -9: {total} questions from {users_n} users; SIGKILL (exit {code}) after "
            f"{before} answers at {killed_at:.1f}s, {unconfirmed} updates left unconfirmed at "
            f"the stand-in; after restart: {answered}/{total} answered, {extra} answered twice, "
            f"{disorder} chats out of order, all in {done:.1f}s after the restart; "
            f"429s: {server.flood.refused}"
        )
        for line in cut:
            print("  bot log:", line.split("qabot.bot", 1)[-1].strip(" :-"))
        for c in server.calls:
            if c.status == 429:
                when = c.at - started
                print(f"  429: {c.method} to {c.params.get('chat_id')} at {when:.2f}s")


async def bench_burst(tmp: Path, *, users_n: int, per_user: int) -> None:
    async with BotApiServer(TOKEN, flood_limits=True) as server:
        settings = make_settings(tmp, server, questions_per_minute=1000)
        seed(settings)
        users = [TelegramUser(20_000 + i, f"User{i}") for i in range(users_n)]
        total = users_n * per_user
        async with running_bot(settings, server):
            started = time.monotonic()
            await ask(server, users, per_user)
            await server.wait_until(lambda: answers(server, users) >= total, timeout=180)
            last = time.monotonic() - started
        answered, extra, disorder = tally(server, users, per_user)
        actions = len(server.calls_of("sendChatAction"))
        print(
            f"burst: {total} questions from {users_n} users, flood limits enforced: "
            f"{server.flood.refused} 429s, {answered}/{total} delivered ({extra} twice, "
            f"{disorder} chats out of order), last answer after {last:.1f}s; "
            f"{actions} chat actions sent"
        )


async def bench_group(tmp: Path, *, users_n: int, per_user: int) -> None:
    async with BotApiServer(TOKEN, flood_limits=True) as server:
        settings = make_settings(tmp, server, questions_per_minute=1000)
        seed(settings)
        group = server.group_chat(-100_555)
        users = [TelegramUser(30_000 + i, f"Member{i}") for i in range(users_n)]
        total = users_n * per_user
        async with running_bot(settings, server):
            started = time.monotonic()
            await ask(server, users, per_user, chat=group, prefix="/ask ")
            await server.replies(group["id"], count=total, timeout=180)
        sent = [c.at - started for c in server.calls_of("sendMessage") if c.status == 200]
        actions = [c for c in server.calls_of("sendChatAction") if c.status == 200]
        print(
            f"group: {total} questions from {users_n} users in one group: first answer after "
            f"{sent[0]:.2f}s, 20th after {sent[min(19, len(sent) - 1)]:.2f}s, median "
            f"{statistics.median(sent):.1f}s, last after {sent[-1]:.1f}s; "
            f"{server.flood.refused} 429s; {len(actions)} chat actions sent"
        )


async def bench_faults(tmp: Path) -> None:
    for fault in ("500", "502", "drop", "slow"):
        async with BotApiServer(TOKEN) as server:
            settings = make_settings(tmp / fault, server)
            seed(settings)
            user = TelegramUser(40_000)
            async with running_bot(settings, server):
                server.fault_next("sendMessage", fault, delay=6.5)
                started = time.monotonic()
                asked = await server.send_text(user, SYBIHA_QUESTION)
                await server.replies(user.id, after=asked["message_id"], timeout=20)
                took = time.monotonic() - started
                await asyncio.sleep(8 if fault == "slow" else 2)  # room for a resend or apology
            got = [m["text"] for m in server.bot_messages(user.id)]
            print(
                f"fault {fault:>4} on sendMessage: {sum('Sybiha' in t for t in got)} answer(s), "
                f"{sum(APOLOGY in t for t in got)} apologies, first answer after {took:.2f}s, "
                f"{len(server.calls_of('sendMessage'))} sendMessage requests"
            )


async def bench(args: argparse.Namespace) -> None:
    header("the Telegram bot under faults, stand-in Bot API with flood limits enforced")
    with tempfile.TemporaryDirectory(prefix="qabot-bench-faults-") as tmp:
        root = Path(tmp)
        for name in ("kill", "burst", "group", "faults"):
            (root / name).mkdir()
        if "kill" in args.only:
            await bench_kill(root / "kill", users_n=20, per_user=10, kill_at=args.kill_at)
        if "burst" in args.only:
            await bench_burst(root / "burst", users_n=20, per_user=10)
        if "group" in args.only:
            await bench_group(root / "group", users_n=10, per_user=3)
        if "faults" in args.only:
            await bench_faults(root / "faults")
    print(f"# done, {load_avg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kill-at", type=int, default=40, help="answers before the SIGKILL")
    parser.add_argument(
        "--only", nargs="+", default=["kill", "burst", "group", "faults"], help="parts to run"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
