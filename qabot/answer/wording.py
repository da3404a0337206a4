"""What an English question asks for, read from its wording, and whether a sentence can hold it.

Two signals, both about the sentence a user reads first (issue 10, bench/RESULTS-quality.md 7.9):
- A question asking "how many", "how much", "how old", "what percentage", "what year" ... is
  answered by a number, so a sentence holding no number the question lacks ("A Belgian British
  teenage pilot was on track to become the youngest ..." for "How old is he?") restates the
  premise; the answer ("who turned 17") is elsewhere.
- "Which show ...?" is answered by a name, and news names a thing once and then calls it "the
  show", "the company", "the wildly popular South Korean show". A sentence referring to the
  question's noun that way says the answer's facts without its name; the name is one sentence
  earlier ("Squid Game" is officially coming back. / Netflix announced ... the wildly popular
  South Korean show is green lit ...), so that sentence is shown with its predecessor.

Plain word patterns, not a parser: English only (a question in another language asks for
nothing here, and every sentence passes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from qabot.search.lexical import BASE_FORM, analyze

_QUANTITY = re.compile(
    r"\bhow\s+(?:many|much|old|long|far|tall|high|big|large|heavy|fast|often)\b"
    r"|\b(?:what|which)\s+(?:percentage|percent|share|proportion|number|amount|year|age)\b"
    r"|\bin\s+what\s+year\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = """
one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand
million billion trillion dozen half
"""
# "Which show was ...", "What country announced ...": the noun phrase after the wh-word, up to
# the verb. These words end it: auxiliaries, prepositions, articles, verbs whose past is the
# same or left out of the BM25 table, and the irregular forms of that table ("which player
# became ...", `lexical.BASE_FORM`).
_WH = re.compile(r"\b(?:which|what)\s+([^.?!,;:]*)", re.IGNORECASE)
_PHRASE_END = """
is are was were be been being do does did has have had will would can could should may might must
shall of in on at for to from by with that who which a an the hit put set rose won
"""
# A definite reference: the determiner, at most four modifiers, then the noun.
_DETERMINERS = r"(?:the|this|that|these|those)"
_WORD = re.compile(r"[\w'’-]+")
_NUMBERS = frozenset(_NUMBER_WORDS.split())
_ENDS = frozenset(_PHRASE_END.split()) | frozenset(BASE_FORM)
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")  # "4.96", "1,200"


@dataclass(frozen=True)
class AskedFor:
    """What the question asks for: a number (`quantity`) and/or a thing the question calls by
    the noun `noun` (its index term, stemmed)."""

    quantity: bool = False
    noun: str | None = None
    numbers: frozenset[str] = frozenset()  # the numbers the question itself holds

    def lacks_quantity(self, sentence: str) -> bool:
        """Whether a number is asked for and the sentence holds none the question lacks."""
        return self.quantity and not (numbers_in(sentence) - self.numbers)

    def refers_back(self, sentence: str) -> bool:
        """Whether the sentence calls the asked-for thing "the <noun>" ("the company", "the
        wildly popular South Korean show"): it tells of the answer without naming it."""
        if self.noun is None:
            return False
        return any(self.noun in analyze(m) for m in _definite_phrases(sentence))


@cache
def asked_for(question: str) -> AskedFor:
    """Read `question` (cached: one question is read once per answer, sentences many times)."""
    quantity = bool(_QUANTITY.search(question))
    noun = None
    match = _WH.search(question)
    if match and not quantity:
        words = []
        for word in _WORD.findall(match.group(1))[:5]:
            lower = word.lower()
            if lower in _ENDS or (words and lower.endswith("ed")):  # "announced"
                break
            words.append(word)
        terms = analyze(words[-1]) if words else []
        noun = terms[0] if terms else None
    return AskedFor(quantity=quantity, noun=noun, numbers=numbers_in(question))


def numbers_in(text: str) -> frozenset[str]:
    """The numbers in `text`, as written ("4.96", "2021", "17") or as number words."""
    found = {m.replace(",", "") for m in _DIGITS.findall(text)}
    found.update(w for w in _WORD.findall(text.lower()) if w in _NUMBERS)
    return frozenset(found)


def _definite_phrases(sentence: str) -> list[str]:
    """The words after each determiner, up to five: where "the <modifiers> <noun>" ends."""
    words = _WORD.findall(sentence)
    out = []
    for i, word in enumerate(words):
        if re.fullmatch(_DETERMINERS, word, re.IGNORECASE):
            out.append(" ".join(words[i + 1 : i + 6]))
    return out
