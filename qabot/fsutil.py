"""Durable writes: flushing files and folders to disk before an atomic rename publishes them.

A rename is atomic but not durable on its own: after a crash the new name can point at a file
whose data never reached the disk, or the rename itself can be lost. So files are fsynced before
the rename, and the folder holding the new name after it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Flush one file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path, *, best_effort: bool = False) -> None:
    """Flush a folder's entries (the names renamed into it) to disk. Some systems cannot open
    or fsync a folder; with `best_effort` that is not an error."""
    with contextlib.suppress(OSError) if best_effort else contextlib.nullcontext():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_error(folder: Path, exc: OSError, *, setting: str = "QABOT_INDEX_DIR"):
    """The one-line IndexWriteError for a failed write below `folder`, with the fix for the
    usual causes (a full disk, no permission, a folder where a file should be)."""
    from qabot.errors import IndexWriteError

    reason = exc.strerror or exc.__class__.__name__
    inside = exc.filename and Path(folder) in Path(exc.filename).parents
    where = f" ({exc.filename})" if inside else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = f"free some space on that disk (or point {setting} at another one), then try again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"make it writable for this user, or point {setting} at a folder you can write"
    elif exc.errno == errno.EISDIR:
        fix = "a folder stands where qabot writes a file: remove it, then try again"
    else:
        fix = "fix the folder, then try again"
    return IndexWriteError(f"cannot write to {folder}/: {reason}{where}: {fix}")


def durable_sqlite(path: Path, schema: str) -> sqlite3.Connection:
    """An SQLite file that loses no committed row to kill -9 or power loss: WAL, every commit
    fsynced, a writer from another process waited for up to 5 s; `schema` applied. One
    connection for several threads (callers hold their own lock). Raises sqlite3.DatabaseError
    when the file is not an SQLite database (closed first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout=5000")  # the CLI and the bot may write at once
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # each commit is fsynced: survives power loss
        db.executescript(schema)
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db
