"""`qabot bot`: the Telegram bot (qabot/bot/)."""

from __future__ import annotations

from qabot.cli.common import load_settings, run


def bot_command() -> None:
    """Run the Telegram bot (long polling, or a webhook when QABOT_WEBHOOK_URL is set).

    Example: QABOT_TELEGRAM_TOKEN=123:abc qabot bot
    """

    def go():
        from qabot.bot.app import run as run_bot  # imports telegram: only this command does

        settings = load_settings()
        settings.telegram_token_value()
        run_bot(settings)

    run(go)
