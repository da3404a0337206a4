"""qabot: question answering over your own documents (CLI and Telegram bot)."""

__version__ = "0.1.0"
