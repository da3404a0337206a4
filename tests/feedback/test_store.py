"""The feedback store and the unanswered-questions report (core: no Telegram)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qabot.errors import FeedbackStoreError
from qabot.feedback.store import KEEP_UNVOTED_SECONDS, FeedbackStore, feedback_path
from qabot.feedback.unanswered import group_questions, question_key, report


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _shown(store: FeedbackStore, question: str = "Who attended?") -> str:
    return store.shown(
        question=question, answer="Sybiha attended.", source="NATO", chat_id=-5, user_id=1
    )


def test_one_vote_per_user_per_answer_and_a_second_tap_changes_it(tmp_path):
    clock = Clock()
    store = FeedbackStore(tmp_path / "f.sqlite3", clock=clock)
    key = _shown(store)
    assert len(key) == 16
    first = store.vote(key, user_id=7, chat_id=-5, up=True)
    assert (first.vote, first.previous, first.question) == (1, None, "Who attended?")
    clock.now += 10
    changed = store.vote(key, user_id=7, chat_id=-5, up=False)
    assert (changed.vote, changed.previous) == (-1, 1)
    again = store.vote(key, user_id=7, chat_id=-5, up=False)
    assert (again.vote, again.previous) == (-1, -1)
    store.vote(key, user_id=8, chat_id=-5, up=True)
    assert store.votes(key) == {7: -1, 8: 1}
    assert store.vote("0123456789abcdef", user_id=7, chat_id=-5, up=True) is None
    # The 👎 that stands is an unanswered question, with the time of the vote.
    [row] = store.unanswered(since=0)
    assert (row.question, row.kind, row.at) == ("Who attended?", "downvoted", clock.now)


def test_what_is_recorded_survives_kill_9(tmp_path):
    """A vote and a "not found" recorded by a process killed right after are on disk."""
    path = tmp_path / "index" / "bot" / "feedback.sqlite3"
    script = f"""
import os, signal
from pathlib import Path
from qabot.feedback.store import FeedbackStore
store = FeedbackStore(Path({str(path)!r}))
key = store.shown(question="Q?", answer="A.", source="doc", chat_id=1, user_id=2)
store.vote(key, user_id=2, chat_id=1, up=False)
store.missed("Where is it?", chat_id=1, user_id=2, via="bot")
print(key, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    key = done.stdout.strip()
    store = FeedbackStore(path)
    assert store.votes(key) == {2: -1}
    assert sorted(r.question for r in store.unanswered(since=0)) == ["Q?", "Where is it?"]


def test_prune_forgets_old_unvoted_answers_only(tmp_path):
    clock = Clock()
    store = FeedbackStore(tmp_path / "f.sqlite3", clock=clock)
    voted, unvoted = _shown(store), _shown(store)
    store.vote(voted, user_id=1, chat_id=None, up=True)
    clock.now += KEEP_UNVOTED_SECONDS + 1
    assert store.prune() == 1
    assert store.vote(unvoted, user_id=1, chat_id=None, up=True) is None
    assert store.vote(voted, user_id=2, chat_id=None, up=True) is not None


def test_near_duplicates_are_grouped_by_their_index_terms(tmp_path):
    assert question_key("Who attended the Council?") == question_key("who ATTENDED the council")
    store = FeedbackStore(feedback_path(tmp_path), clock=Clock(1000.0))
    for question in (
        "Who attended the NATO-Ukraine Council?",
        "who attended the nato-ukraine council",
        "Who was at the NATO Ukraine council?",  # 3 of its 4 terms shared: same request
        "What is the budget for 2025?",
        "What is the budget for 2025?",
        "What is the budget for 2025?",
        "How tall is the Eiffel tower?",
    ):
        store.missed(question, chat_id=1, user_id=2, via="bot")
    key = _shown(store, "Who attended the NATO-Ukraine Council?")
    store.vote(key, user_id=3, chat_id=1, up=False)
    groups = group_questions(store.unanswered(since=0))
    assert [(g.question, g.count, g.not_found, g.downvoted) for g in groups] == [
        ("Who attended the NATO-Ukraine Council?", 4, 3, 1),
        ("What is the budget for 2025?", 3, 3, 0),
        ("How tall is the Eiffel tower?", 1, 1, 0),
    ]
    assert groups[0].variants == [
        "who attended the nato-ukraine council",
        "Who was at the NATO Ukraine council?",
    ]
    store.close()
    # The report reads the same file; old questions fall out of the window.
    assert [g.count for g in report(tmp_path, days=1, limit=2, now=1000.0)] == [4, 3]
    assert report(tmp_path, days=1, limit=5, now=1000.0 + 2 * 86400) == []
    assert report(tmp_path / "nowhere", days=1, limit=5) == []
    assert not (tmp_path / "nowhere").exists()  # a report creates nothing


def test_the_cli_report_path_does_not_import_telegram():
    code = (
        "import sys, qabot.cli.main, qabot.cli.report, qabot.feedback.unanswered, qabot.feedback.store\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'telegram'], 'telegram'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_damaged_store_is_refused_with_the_fix(tmp_path):
    path = feedback_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all, just some bytes" * 100)
    with pytest.raises(FeedbackStoreError, match="move it away"):
        report(tmp_path, days=1, limit=5)
