"""What a question asks for, read from its wording (qabot.answer.wording)."""

from __future__ import annotations

import pytest

from qabot.answer.wording import asked_for, numbers_in


@pytest.mark.parametrize(
    "question",
    [
        "How many minutes did the violence last?",
        "Approximately how much does a gallon of regular gas cost?",
        "How old is he?",
        "What percentage of voters turned out?",
        "In what year did the bridge open?",
    ],
)
def test_questions_asking_for_a_number(question):
    assert asked_for(question).quantity
    assert asked_for(question).noun is None


@pytest.mark.parametrize(
    ("question", "noun"),
    [
        ("Which wildly popular show was recently green lit for a new season?", "show"),
        ("What country announced a crackdown on rainbow-colored toys?", "countri"),
        ("Which airline announced a deal this week to buy Spirit Airlines?", "airlin"),
        ("Which professional basketball player became the highest paid?", "player"),
        ("Supermarkets are struggling to stock which condiment, sparking outrage?", "condiment"),
        ("Which NFL team represented the AFC at Super Bowl 50?", "team"),
    ],
)
def test_which_noun_questions_name_the_noun(question, noun):
    asked = asked_for(question)
    assert asked.noun == noun and not asked.quantity


@pytest.mark.parametrize(
    "question",
    ["What did Rutte say about the coming winter?", "What is the capital?", "Who won?", "Що?"],
)
def test_other_questions_ask_for_nothing_in_particular(question):
    asked = asked_for(question)
    assert not asked.quantity and asked.noun is None
    assert not asked.lacks_quantity("No number here.")
    assert not asked.refers_back("The show was green lit.")


def test_a_sentence_lacks_the_quantity_unless_it_holds_a_number_the_question_lacks():
    asked = asked_for("How many minutes did Trump let violence play out on January 6, 2021?")
    assert asked.lacks_quantity("The committee met on January 6, 2021, in primetime.")
    assert not asked.lacks_quantity("Trump refused to act for 187 minutes.")
    assert not asked.lacks_quantity("It went on for three hours.")  # a number word


def test_numbers_are_read_as_written():
    assert numbers_in("Gas hit $4.96, up 1,200 cents, in 2022; twelve states") == {
        "4.96",
        "1200",
        "2022",
        "twelve",
    }


def test_a_sentence_calling_the_thing_the_noun_refers_back():
    asked = asked_for("Which wildly popular show was recently green lit for a new season?")
    assert asked.refers_back("Netflix said the wildly popular South Korean show is green lit.")
    assert asked.refers_back("The shows earned several nominations.")  # stemmed
    assert not asked.refers_back("Squid Game is officially coming back.")
    assert not asked.refers_back("A show about games.")  # no determiner: not a reference
