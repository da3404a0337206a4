"""Watching seeds/: changes are indexed by themselves, debounced, and never collide with a build."""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import NoDocumentsError
from qabot.service import QAService
from qabot.watching import SeedsFilter, prepare_folder, watch_seeds
from tests.helpers import write

pytestmark = pytest.mark.timeout(60)
BREAD = "Baking notes\nSourdough bread needs a starter of flour and water.\n"
CATS = "Pets\nCats sleep for most of the day in warm places.\n"


class Watching:
    """`watch_seeds` in a thread; its outcomes in a queue."""

    def __init__(self, service: QAService) -> None:
        self.stop = threading.Event()
        self.outcomes: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(service,), daemon=True)

    def _run(self, service: QAService) -> None:
        for outcome in watch_seeds(service, stop_event=self.stop):
            self.outcomes.put(outcome)

    def next(self, timeout: float = 15.0):
        return self.outcomes.get(timeout=timeout)

    def __enter__(self) -> Watching:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.fixture
def quiet(settings):
    return settings.model_copy(update={"watch_quiet_seconds": 0.3})


def test_added_changed_and_removed_files_are_indexed(quiet, seeds):
    write(seeds / "bread.txt", BREAD)
    svc = QAService(quiet, embedder=HashingEmbedder())
    with Watching(svc) as watching:
        first = watching.next()  # the catch-up build: seeds/ was never indexed
        assert first.added == ["bread.txt"]
        write(seeds / "cats.txt", CATS)
        assert watching.next().added == ["cats.txt"]
        write(seeds / "cats.txt", CATS.replace("warm", "sunny"))
        assert watching.next().changed == ["cats.txt"]
        (seeds / "cats.txt").unlink()
        assert watching.next().deleted == ["cats.txt"]
        write(seeds / "copy.txt", BREAD)
        assert watching.next().duplicates == [("copy.txt", "bread.txt")]
    assert [d for d, _, _ in svc.documents()] == ["bread.txt"]


def test_a_burst_of_writes_is_one_build(quiet, seeds):
    write(seeds / "bread.txt", BREAD)
    svc = QAService(quiet, embedder=HashingEmbedder())
    svc.build()
    with Watching(svc) as watching:
        assert not watching.next().changed_anything  # catch-up: nothing to do
        with (seeds / "slow.txt").open("w") as fh:  # written in pieces, 0.1 s apart
            for i in range(8):
                fh.write(f"Line {i} about a slowly copied document.\n")
                fh.flush()
                time.sleep(0.1)
        report = watching.next()
        assert report.added == ["slow.txt"]
        extra = []
        with contextlib.suppress(queue.Empty):
            extra.append(watching.next(timeout=1.5))
        assert extra == []  # no second build for the same burst
    assert "Line 7" in svc.context("slow.txt", 0, 10, chars=1000)


def test_a_build_held_elsewhere_is_waited_for_then_done(quiet, seeds):
    write(seeds / "bread.txt", BREAD)
    svc = QAService(quiet, embedder=HashingEmbedder())
    svc.build()
    other = QAService(quiet, embedder=HashingEmbedder())
    with Watching(svc) as watching:
        watching.next()
        held = threading.Event()
        release = threading.Event()

        def hold_the_lock():
            with other.store.lock():
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        held.wait(5)
        write(seeds / "cats.txt", CATS)
        with pytest.raises(queue.Empty):
            watching.next(timeout=1.5)  # refused by the lock: tried again, not reported
        release.set()
        holder.join()
        assert watching.next().added == ["cats.txt"]


def test_hidden_and_temporary_files_are_not_changes(tmp_path):
    seeds = tmp_path / "seeds"
    keep = SeedsFilter(seeds)
    assert keep(None, str(seeds / "notes.txt"))
    assert keep(None, str(seeds / "sub" / "notes.md"))
    assert not keep(None, str(seeds / ".notes.txt.qabot-tmp"))
    assert not keep(None, str(seeds / "links" / ".page.qabot-tmp.html"))
    assert not keep(None, str(seeds / ".git" / "index"))
    assert not keep(None, str(seeds / "notes.txt~"))
    assert not keep(None, str(tmp_path / "elsewhere.txt"))
    inside = SeedsFilter(seeds, index_dir=seeds / "index")
    assert not inside(None, str(seeds / "index" / "CURRENT"))
    assert inside(None, str(seeds / "notes.txt"))


def test_a_file_where_the_folder_should_be(tmp_path):
    (tmp_path / "seeds").write_text("not a folder")
    with pytest.raises(NoDocumentsError, match="QABOT_SEEDS_DIR"):
        prepare_folder(tmp_path / "seeds")


def test_the_watch_command_indexes_a_dropped_file_and_stops_on_ctrl_c(tmp_path, seeds):
    write(seeds / "bread.txt", BREAD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QABOT_")}
    env.update(
        QABOT_EMBEDDER="hashing",
        QABOT_SEEDS_DIR=str(seeds),
        QABOT_INDEX_DIR=str(tmp_path / "index"),
        QABOT_WATCH_QUIET_SECONDS="0.3",
    )
    log = tmp_path / "watch.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qabot", "index", "watch"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(log, "1 added")  # the catch-up build
        write(seeds / "cats.txt", CATS)
        write(seeds / "more cats.txt", CATS)
        _wait_for(log, "skipped more cats.txt: a duplicate of cats.txt")
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
    text = log.read_text()
    assert "Watching" in text and text.count("1 added") == 2
    assert code == 130 and "Interrupted." in text


def test_a_watch_killed_at_any_moment_loses_nothing(tmp_path, seeds):
    """kill -9 while files arrive and builds run; the next watch catches up with all of them,
    from an index that was never half-written."""
    write(seeds / "bread.txt", BREAD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QABOT_")}
    env.update(
        QABOT_EMBEDDER="hashing",
        QABOT_SEEDS_DIR=str(seeds),
        QABOT_INDEX_DIR=str(tmp_path / "index"),
        QABOT_WATCH_QUIET_SECONDS="0.1",
    )
    log = tmp_path / "watch.log"

    def start():
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "qabot", "index", "watch"],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    pause = random.Random(12).uniform
    proc = start()
    _wait_for(log, "1 added")
    for i in range(40):  # files keep coming while builds run; killed at uneven moments
        write(seeds / f"note{i:02}.txt", f"Note {i}\nNote number {i} mentions item {i * 7}.\n")
        time.sleep(pause(0, 0.25))
        if i % 10 == 9:
            proc.kill()
            proc.wait(timeout=10)
            proc = start()
            time.sleep(pause(0.5, 1.5))  # at start-up, or in its catch-up build
    try:
        deadline = time.monotonic() + 30
        while True:
            status = QAService(quiet_settings(tmp_path, seeds)).status()
            if status.built and not (status.new or status.changed or status.deleted):
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    svc = QAService(quiet_settings(tmp_path, seeds), embedder=HashingEmbedder())
    assert svc.verify().problems == []
    assert len(svc.documents()) == 41


def quiet_settings(tmp_path, seeds):
    from qabot.config import Settings

    return Settings(seeds_dir=seeds, index_dir=tmp_path / "index", embedder="hashing")


def _wait_for(log, needle: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
