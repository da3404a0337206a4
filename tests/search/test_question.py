"""What of a question is searched: greetings and mentions cut, the question itself kept."""

from __future__ import annotations

import pytest

from qabot.search.question import search_text


@pytest.mark.parametrize(
    ("asked", "searched"),
    [
        ("hey @qabot_bot, who is Kaja Kallas?", "who is Kaja Kallas?"),
        ("Hi! Hello, please tell me who attended?", "who attended?"),
        ("@docs_bot who attended", "who attended"),
        ("Good morning bot: what did Rutte say?", "what did Rutte say?"),
        ("Can you tell me what Rutte said?", "what Rutte said?"),
        ("Привіт, бот! Хто взяв участь?", "Хто взяв участь?"),
        ("Добрий день, підкажіть, де штаб?", "де штаб?"),
        ("Добрый день, подскажите, кто такой Рютте?", "кто такой Рютте?"),
    ],
)
def test_greetings_and_mentions_are_not_searched(asked, searched):
    assert search_text(asked) == searched


@pytest.mark.parametrize(
    "question",
    [
        "History of NATO?",  # "hi" is only cut as a word
        "Who said hello to the ministers?",  # only at the start
        "Yokohama port reopened when?",
        "Write to me@example.org about what?",  # an e-mail address is no mention
    ],
)
def test_questions_without_openers_are_unchanged(question):
    assert search_text(question) == question


def test_a_greeting_alone_stays_the_question():
    assert search_text("  Hey!  ") == "Hey!"
    assert search_text("@qabot_bot") == "@qabot_bot"
