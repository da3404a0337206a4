"""The build lock: one builder at a time on an index folder (index/.lock)."""

from __future__ import annotations

from pathlib import Path

from qabot.errors import ConfigError, IndexLockedError, IndexWriteError
from qabot.fsutil import write_error


class BuildLock:
    """A context manager held for a whole build. Fails at once if another build (another
    process, or another thread here) holds it; re-entrant within one thread, so a caller can
    hold it around a build that takes it again (`qabot index add` copies under it)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._filelock = None

    def __enter__(self) -> BuildLock:
        from filelock import FileLock, Timeout

        if self._filelock is None:
            # One object per folder: filelock counts re-entries per object and per thread.
            self._filelock = FileLock(str(self.root / ".lock"), timeout=0)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._filelock.acquire()
        except Timeout:
            raise IndexLockedError(
                f"another build is running on {self.root}/ (lock {self.root}/.lock): "
                "wait for it to finish, then try again"
            ) from None
        except IsADirectoryError as exc:
            lock = self.root / ".lock"
            if not lock.is_dir():
                raise write_error(self.root, exc) from exc
            raise IndexWriteError(
                f"cannot write to {self.root}/: {lock} is a folder, where qabot keeps its build "
                "lock file: remove that folder (nothing of the index is in it), then try again"
            ) from None
        except (FileExistsError, NotADirectoryError):
            if self.root.exists() and not self.root.is_dir():
                raise not_a_folder(self.root) from None
            raise
        except OSError as exc:
            raise write_error(self.root, exc) from exc
        return self

    def __exit__(self, *exc) -> None:
        self._filelock.release()


def not_a_folder(root: Path) -> ConfigError:
    return ConfigError(
        f"the index folder {root} is a file, not a folder: point QABOT_INDEX_DIR "
        "(or --index) at a folder"
    )
