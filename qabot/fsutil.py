"""Durable writes: flushing files and folders to disk before an atomic rename publishes them.

A rename is atomic but not durable on its own: after a crash the new name can point at a file
whose data never reached the disk, or the rename itself can be lost. So files are fsynced before
the rename, and the folder holding the new name after it.
"""

from __future__ import annotations

import contextlib
import os
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
