"""Pacing on its own, with a settable clock: the windows and when a chat action may go."""

from __future__ import annotations

from qabot.bot.pacing import ACTION_EVERY, Pacer, Window


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_window_counts_a_request_until_its_answer_plus_the_window():
    window = Window(2, 1.0)
    window.start()
    window.start()
    assert window.free(0.0) == 0 and window.wait(5.0) > 0  # in flight: no matter how long
    window.end(10.0)
    assert window.free(10.5) == 0
    assert window.wait(10.5) == 0.5
    assert window.free(11.0) == 1  # one second after its answer arrived


def test_a_group_may_have_20_messages_a_minute():
    clock = Clock()
    pacer = Pacer(clock=clock)
    window = pacer._chat(-100).window
    for _ in range(20):
        window.start()
        window.end(clock.now)
    assert window.wait(clock.now) == 60.0
    clock.now += 60
    assert window.wait(clock.now) == 0


def test_a_chat_action_never_takes_an_answer_s_place():
    clock = Clock()
    pacer = Pacer(clock=clock)
    assert pacer.try_action(1)
    pacer.action_done()
    assert not pacer.try_action(1)  # one is still showing
    clock.now += ACTION_EVERY
    window = pacer._chat(1).window
    window.start()
    window.end(clock.now)  # an answer just went: the next message has to wait, so does typing
    assert not pacer.try_action(1)
    clock.now += 1
    assert pacer.try_action(1)
    pacer.action_done()


def test_in_a_group_chat_actions_stop_when_half_the_budget_is_used():
    clock = Clock()
    pacer = Pacer(clock=clock)
    window = pacer._chat(-100).window
    for _ in range(10):
        window.start()
        window.end(clock.now)
    assert pacer.try_action(-100)  # 10 of 20 left
    pacer.action_done()
    clock.now += ACTION_EVERY
    window.start()
    window.end(clock.now)
    assert not pacer.try_action(-100)  # 9 left: keep them for answers


def test_a_429_blocks_the_chat_and_a_chat_action_429_only_the_actions():
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.hold_actions(1, 30)
    assert not pacer.try_action(1)
    assert pacer._chat(1).window.wait(clock.now) == 0  # messages still go
    pacer.block(1, 5)
    assert pacer._chat(1).window.wait(clock.now) == 5
    assert pacer.overall.wait(clock.now) == 0  # other chats are not held back
