"""The update journal on its own: a real SQLite file in the test's folder, a settable clock."""

from __future__ import annotations

import sqlite3

from qabot.bot.journal import KEEP_DONE_SECONDS, MAX_ATTEMPTS, Journal


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_an_update_is_recorded_once_and_kept_across_a_reopen(tmp_path):
    path = tmp_path / "bot" / "journal.sqlite3"
    journal = Journal(path)
    assert journal.record(7, 42, '{"update_id": 7}')
    assert not journal.record(7, 42, '{"update_id": 7}')  # delivered again: not new
    journal.record(5, 43, '{"update_id": 5}')
    journal.close()  # as if the process had ended
    reopened = Journal(path)
    assert [(p.update_id, p.chat_id, p.payload) for p in reopened.pending()] == [
        (5, 43, '{"update_id": 5}'),
        (7, 42, '{"update_id": 7}'),
    ]
    assert not reopened.record(5, 43, "{}")


def test_done_and_confirmed_updates_are_not_pending_and_in_flight_ones_are(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    for update_id in (1, 2, 3, 4):
        journal.record(update_id, 10, "{}")
    journal.done(1)
    journal.sending(2)
    journal.sent(2)  # answered; the bot died before marking it done
    journal.sending(3)  # its reply was in flight when the bot died
    assert journal.settle_interrupted() == (1, 1)
    assert [p.update_id for p in journal.pending()] == [3, 4]
    assert journal.counts() == (2, 2)
    assert not journal.record(1, 10, "{}")  # a done update is still recognised
    with sqlite3.connect(journal.path) as db:  # and keeps only its id
        assert db.execute("SELECT payload FROM updates WHERE update_id = 1").fetchone() == ("",)


def test_an_update_interrupted_again_and_again_is_given_up(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record(1, 10, "{}")
    for attempt in range(1, MAX_ATTEMPTS + 1):  # each start replays it, and it crashes the bot
        [pending] = journal.pending()
        assert pending.attempts == attempt
    assert journal.pending() == []
    assert journal.counts() == (0, 1)


def test_old_done_rows_are_pruned_and_pending_ones_kept(tmp_path):
    clock = Clock()
    journal = Journal(tmp_path / "j.sqlite3", clock=clock)
    journal.record(1, 10, "{}")
    journal.record(2, 10, "{}")
    journal.done(1)
    clock.now += KEEP_DONE_SECONDS - 1
    assert journal.prune() == 0  # still recognised if Telegram delivers it again
    clock.now += 2
    assert journal.prune() == 1
    assert [p.update_id for p in journal.pending()] == [2]


def test_the_answer_to_each_question_is_remembered_for_edits_and_pruned_late(tmp_path):
    clock = Clock()
    path = tmp_path / "j.sqlite3"
    journal = Journal(path, clock=clock)
    assert journal.reply_to(10, 5) is None
    journal.replied(10, 5, question="Who?", message_ids=[6])
    journal.replied(10, 5, question="Who came?", message_ids=[8, 9])  # answered again
    journal.close()
    journal = Journal(path, clock=clock)
    reply = journal.reply_to(10, 5)
    assert (reply.question, reply.message_ids) == ("Who came?", (8, 9))
    assert journal.reply_to(11, 5) is None  # per chat
    clock.now += KEEP_DONE_SECONDS + 1
    journal.prune()
    assert journal.reply_to(10, 5) is None
