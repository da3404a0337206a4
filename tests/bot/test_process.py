"""The real `qabot bot` process, end to end: long polling, webhook mode, and a bad token."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import aiohttp
import pytest

from qabot.testing.botapi.harness import SYBIHA_QUESTION, TOKEN, make_settings, seed
from qabot.testing.botapi.process import ROOT, bot_env, ready_or_fail, start_bot, stop_bot
from qabot.testing.botapi.server import TelegramUser

pytestmark = pytest.mark.timeout(90)

ALICE = TelegramUser(1001, "Alice")


async def test_polling_process_answers_and_stops_cleanly(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    proc, log = await start_bot(tmp_path, bot_env(tmp_path, server))
    try:
        await ready_or_fail(server, proc, log)
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [answer] = await server.replies(ALICE.id, after=asked["message_id"], timeout=20)
    finally:
        code = await stop_bot(proc)
    output = log.read_text()
    assert "Sybiha" in answer["text"]
    assert code == 0, output
    assert "polling mode" in output and "bot @qabot_test_bot is running" in output
    # On shutdown the bot confirms what it fetched with a last, non-blocking getUpdates.
    last = server.calls_of("getUpdates")[-1].params
    assert int(last["timeout"]) == 0 and last["offset"] == 2
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


async def test_a_second_bot_on_the_same_index_is_refused_and_a_killed_one_blocks_nothing(
    tmp_path, server
):
    """Two bots would both replay the journal and answer twice: the second stops at start with
    one line. The first one's lock goes with its process, even killed with SIGKILL."""
    settings = make_settings(tmp_path, server)
    seed(settings)
    env = bot_env(tmp_path, server)
    first, log = await start_bot(tmp_path, env)
    try:
        await ready_or_fail(server, first, log)
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "qabot", "bot",
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            _stdout, stderr = await asyncio.wait_for(second.communicate(), 30)
        except TimeoutError:
            second.kill()
            await second.wait()
            raise AssertionError("a second bot started on the same index") from None
    finally:
        first.kill()  # SIGKILL: no cleanup of its own
        await first.wait()
    lines = stderr.decode().strip().splitlines()
    assert second.returncode == 1
    assert len(lines) == 1, stderr.decode()
    lock = tmp_path / "index" / "bot" / "bot.lock"
    assert f"another qabot bot is running on {tmp_path / 'index'}/ (it holds {lock})" in lines[0]
    assert "stop it first" in lines[0]
    server.ready.clear()
    third, log = await start_bot(tmp_path, env, log_name="third.log")
    try:
        await ready_or_fail(server, third, log)
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)
        [answer] = await server.replies(ALICE.id, after=asked["message_id"], timeout=20)
    finally:
        code = await stop_bot(third)
    assert "Sybiha" in answer["text"]
    assert code == 0, log.read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_process_answers_with_its_secret(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    env = bot_env(
        tmp_path,
        server,
        QABOT_WEBHOOK_URL=url,
        QABOT_WEBHOOK_LISTEN="127.0.0.1",
        QABOT_WEBHOOK_PORT=str(port),
        QABOT_WEBHOOK_SECRET="s3cret-Token_1",
    )
    proc, log = await start_bot(tmp_path, env)
    try:
        await ready_or_fail(server, proc, log)
        assert server.webhook == {"url": url, "secret_token": "s3cret-Token_1"}
        asked = await server.send_text(ALICE, SYBIHA_QUESTION)  # POSTed to the bot
        [answer] = await server.replies(ALICE.id, after=asked["message_id"], timeout=20)
        async with aiohttp.ClientSession() as client:  # a forged update without the secret
            forged = {"update_id": 999, "message": {**asked, "message_id": 99}}
            async with client.post(url, json=forged) as resp:
                assert resp.status == 403
            async with client.post(
                url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            ) as resp:
                assert resp.status == 403
    finally:
        code = await stop_bot(proc)
    output = log.read_text()
    assert "Sybiha" in answer["text"]
    assert code == 0, output
    assert "webhook mode" in output
    assert server.calls_of("getUpdates") == []
    assert len(server.bot_messages(ALICE.id)) == 1  # the forged update was not answered
    assert TOKEN not in output and "s3cret-Token_1" not in output


@pytest.mark.parametrize("token", ["", "changeme"])
def test_a_missing_or_placeholder_token_stops_with_one_line(tmp_path, token):
    env = {k: v for k, v in os.environ.items() if not k.startswith("QABOT_")}
    env.update(QABOT_TELEGRAM_TOKEN=token, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "qabot", "bot"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "QABOT_TELEGRAM_TOKEN" in lines[0], done.stderr


async def test_a_rejected_token_or_unreachable_server_stops_with_one_line(tmp_path, server):
    wrong = "987654321:AAWrong_token_but_well_formed_0123456"
    for env in (
        bot_env(tmp_path, server, QABOT_TELEGRAM_TOKEN=wrong),  # the server answers 401
        bot_env(tmp_path, server, QABOT_TELEGRAM_BASE_URL=f"http://127.0.0.1:{free_port()}/bot"),
    ):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "qabot", "bot",
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        _stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
        lines = stderr.decode().strip().splitlines()
        assert proc.returncode == 1
        assert len(lines) == 1, stderr.decode()
        assert "QABOT_TELEGRAM" in lines[0]
        assert wrong not in lines[0] and TOKEN not in lines[0]
