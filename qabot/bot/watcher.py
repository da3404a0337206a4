"""The bot keeps the index up to date with the documents folder (QABOT_WATCH_SEEDS).

The same steps as `qabot index watch` (`qabot.watching`), on the bot's event loop: each build
runs in a worker thread under the bot's build lock, the one admins' uploads, links and
/reindex take, so a watched change and an upload never build at once. Questions meanwhile
are answered from the current version; the new one replaces it in one step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from qabot.config import Settings
from qabot.errors import QabotError
from qabot.service import QAService
from qabot.types import BuildReport
from qabot.watching import Debounce, prepare_folder, try_build, watch_options

log = logging.getLogger("qabot.bot")


class SeedsWatcher:
    """A background task that rebuilds the index after changes in the documents folder,
    building under `build_lock` (the bot's, `BotState.build_lock`)."""

    def __init__(self, *, settings: Settings, service: QAService, build_lock: asyncio.Lock) -> None:
        self.settings = settings
        self.service = service
        self.build_lock = build_lock
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="qabot-watch-seeds")

    async def stop(self) -> None:
        """End the watch; a build under way finishes first (a killed one would too: the
        index on disk only ever changes by a whole version)."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        from watchfiles import awatch

        settings = self.settings
        try:
            prepare_folder(settings.seeds_dir)
        except (QabotError, OSError) as exc:
            log.warning("not watching the documents folder: %s", exc)
            return
        log.info("watching %s/ for changes", settings.seeds_dir)
        debounce = Debounce()  # pending: catch up with what changed while the bot was down
        try:
            async for changes in awatch(
                settings.seeds_dir, stop_event=self._stop, **watch_options(settings)
            ):
                if debounce.ready(changes):
                    debounce.pending = not await self._build()
        except Exception:  # the bot goes on answering; only the watching stops
            log.exception("watching %s/ stopped", settings.seeds_dir)

    async def _build(self) -> bool:
        """One build under the bot's build lock; False when another process's build held the
        index, to be tried again."""
        async with self.build_lock:
            done, outcome = await asyncio.to_thread(try_build, self.service)
        if isinstance(outcome, BuildReport):
            _log_report(outcome)
        elif done:
            log.warning("watching the documents folder: the index was not updated: %s", outcome)
        return done


def _log_report(report: BuildReport) -> None:
    if report.changed_anything:
        log.info(
            "documents folder changed: %d added, %d changed, %d deleted; now %d documents",
            len(report.added),
            len(report.changed),
            len(report.deleted),
            report.documents_total,
        )
    for name, original in report.duplicates:
        log.info("not indexed: %s has the same content as %s", name, original)
