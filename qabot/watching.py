"""Watching the documents folder: rebuild the index when files are added, changed or removed.

`watchfiles` (inotify on Linux, FSEvents on macOS, polling where neither works) reports the
changes, debounced: the build starts once the folder has been quiet for
QABOT_WATCH_QUIET_SECONDS, so a file still being copied is not read half-way (and if a pause
in the copy is that long, its next write starts another build). Each batch runs one incremental build, which
re-embeds only what changed and makes the new version current atomically. `qabot index watch`
runs `watch_seeds`; the bot runs the same steps on its event loop (`qabot.bot.watcher`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from qabot.config import Settings
from qabot.errors import IndexLockedError, NoDocumentsError, QabotError
from qabot.service import QAService
from qabot.types import BuildReport

log = logging.getLogger("qabot")


class SeedsFilter:
    """Changes that concern the index: not hidden files or folders (which scans ignore, and
    where qabot writes its temporary copies), not the editors' swap and backup files, and not
    the index folder when it lies inside the documents folder (a build would start the next)."""

    def __init__(self, seeds_dir: Path, *, index_dir: Path | None = None) -> None:
        self.root = Path(seeds_dir).resolve()
        self.index = Path(index_dir).resolve() if index_dir is not None else None

    def __call__(self, _change, path: str) -> bool:
        resolved = Path(path).resolve()
        if self.index is not None and resolved.is_relative_to(self.index):
            return False
        try:
            parts = resolved.relative_to(self.root).parts
        except ValueError:
            return False
        if not parts or any(p.startswith(".") for p in parts):
            return False
        name = parts[-1]
        return not (name.endswith(("~", ".swp", ".swx", ".tmp", ".part", ".crdownload")))


def watch_options(settings: Settings) -> dict:
    """The `watchfiles.watch`/`awatch` arguments both watchers share."""
    return {
        "watch_filter": SeedsFilter(settings.seeds_dir, index_dir=settings.index_dir),
        # Not watchfiles' own debounce: it hands a batch over as soon as no *new* path has
        # changed for `step`, so a file still being written (the same path again and again)
        # would be read half-way. Every change is handed over at once instead, and an empty
        # batch after QABOT_WATCH_QUIET_SECONDS without any (`Debounce`) starts the build.
        "step": 50,
        "rust_timeout": max(1, int(settings.watch_quiet_seconds * 1000)),
        "yield_on_timeout": True,
        "recursive": True,
    }


class Debounce:
    """Decides when to build: once the folder has been quiet (an empty batch: the watch timed
    out) after changes. Pending at first, to catch up with changes made while nothing
    watched."""

    def __init__(self) -> None:
        self.pending = True

    def ready(self, changes: set) -> bool:
        if changes:
            self.pending = True
            return False  # still busy: wait for a quiet period
        return self.pending


def prepare_folder(seeds_dir: Path) -> None:
    """Create the documents folder to watch; a file in its place is a setting to fix."""
    if seeds_dir.exists() and not seeds_dir.is_dir():
        raise NoDocumentsError(f"{seeds_dir} is not a folder: point QABOT_SEEDS_DIR at a folder")
    seeds_dir.mkdir(parents=True, exist_ok=True)


def try_build(service: QAService) -> tuple[bool, BuildReport | QabotError]:
    """One build for a batch of changes: (done, its report or the error). Not done when another
    build holds the index lock: the caller tries again after a quiet period."""
    try:
        return True, service.build()
    except IndexLockedError as exc:
        log.info("watching %s/: %s", service.settings.seeds_dir, exc)
        return False, exc
    except QabotError as exc:  # an empty folder, a full disk: said, and the watch goes on
        return True, exc


def watch_seeds(
    service: QAService, *, stop_event: threading.Event | None = None
) -> Iterator[BuildReport | QabotError]:
    """Keep the index up to date with the documents folder until `stop_event` is set (or
    Ctrl-C): one build at the start (changes made while nothing watched), then one per batch
    of changes. Yields each build's report, or the error that stopped it."""
    from watchfiles import watch

    seeds = service.settings.seeds_dir
    prepare_folder(seeds)
    debounce = Debounce()
    for changes in watch(seeds, stop_event=stop_event, **watch_options(service.settings)):
        if not debounce.ready(changes):
            continue
        done, outcome = try_build(service)
        debounce.pending = not done
        if done:
            yield outcome
