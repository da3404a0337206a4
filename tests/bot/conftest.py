"""The bot's tests' fixtures: a stand-in Bot API server per test, on 127.0.0.1."""

import pytest

from qabot.testing.botapi.harness import TOKEN
from qabot.testing.botapi.server import BotApiServer


@pytest.fixture
async def server():
    async with BotApiServer(TOKEN) as srv:
        yield srv
