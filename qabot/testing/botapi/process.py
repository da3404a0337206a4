"""The real `qabot bot` as a separate process, against the stand-in server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from qabot.testing.botapi.harness import TOKEN
from qabot.testing.botapi.server import BotApiServer

ROOT = Path(__file__).resolve().parents[3]


def bot_env(tmp_path: Path, server: BotApiServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QABOT_")}
    env.update(
        QABOT_TELEGRAM_TOKEN=TOKEN,
        QABOT_TELEGRAM_BASE_URL=server.base_url,
        QABOT_TELEGRAM_BASE_FILE_URL=server.base_file_url,
        QABOT_SEEDS_DIR=str(tmp_path / "seeds"),
        QABOT_INDEX_DIR=str(tmp_path / "index"),
        QABOT_EMBEDDER="hashing",
        QABOT_SCORE_THRESHOLD="0.1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


async def start_bot(
    tmp_path: Path, env: dict[str, str], *, log_name: str = "bot.log"
) -> tuple[asyncio.subprocess.Process, Path]:
    """`qabot -v bot` as a separate process, its output in a file."""
    log = tmp_path / log_name
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "qabot", "-v", "bot",
        env=env, cwd=tmp_path, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    return proc, log


async def stop_bot(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(proc.wait(), 20)
    except TimeoutError:
        proc.kill()
        raise


async def ready_or_fail(server: BotApiServer, proc, log: Path) -> None:
    waiter = asyncio.create_task(server.ready.wait())
    exited = asyncio.create_task(proc.wait())
    done, _ = await asyncio.wait({waiter, exited}, timeout=45, return_when="FIRST_COMPLETED")
    exited.cancel()
    if waiter not in done:
        waiter.cancel()
        raise AssertionError("the bot did not start:\n" + log.read_text())
