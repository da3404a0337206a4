"""A stand-in Telegram Bot API server for testing the bot over real HTTP (see `server.py`)."""

from qabot.testing.botapi.server import BotApiServer, TelegramUser

__all__ = ["BotApiServer", "TelegramUser"]
