"""One bot per index: `qabot bot` holds ``<index>/bot/bot.lock`` for its whole life.

Two bots on one index would both replay the journal (`inbox`) and answer every question twice,
and fight over Telegram's getUpdates. The lock is an OS lock (filelock: flock on Unix), which
the kernel releases when the process ends however it ends, so a bot killed with SIGKILL never
blocks the next start; the file itself stays and means nothing when no one holds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from qabot.errors import BotRunningError
from qabot.fsutil import write_error

LOCK_NAME = "bot.lock"


def lock_path(index_dir: Path) -> Path:
    """Beside the journal (`inbox.journal_path`), in the bot's own folder of the index."""
    return Path(index_dir) / "bot" / LOCK_NAME


@contextlib.contextmanager
def only_bot(index_dir: Path) -> Iterator[None]:
    """Held while the bot runs; BotRunningError at once when another bot holds it."""
    from filelock import FileLock, Timeout

    path = lock_path(index_dir)
    lock = FileLock(str(path), timeout=0)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise BotRunningError(
            f"another qabot bot is running on {index_dir}/ (it holds {path}): stop it first; "
            "two bots on one index would answer every question twice"
        ) from None
    except OSError as exc:
        raise write_error(Path(index_dir), exc) from exc
    try:
        yield
    finally:
        lock.release()
