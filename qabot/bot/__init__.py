"""The Telegram bot (`qabot bot`): python-telegram-bot handlers over the `QAService` facade.

`app.run(settings)` starts it; `app.build_application` builds it for tests. Only this package
imports `telegram`.
"""
