"""Counted nouns ("1 document", "2 documents"; "1 документ", "2 документи", "5 документів").

The plural categories are CLDR's, through Babel: English has one/other, Ukrainian one/few/many
(21 is "one", 22-24 "few", 25-30 "many"), rules nobody should rewrite by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache


@cache
def _rule(lang: str):
    from babel import Locale  # imported on first use: a one-shot `qabot ask` may not need it

    return Locale.parse(lang).plural_form


def plural_form(n: int, lang: str = "en") -> str:
    """CLDR's category for the whole number `n` in `lang`: "one", "few", "many" or "other"."""
    return _rule(lang)(abs(n))


def counted(n: int, forms: Mapping[str, str], lang: str = "en") -> str:
    """ "{n} <noun>" with the noun in the form `lang` uses for `n`; `forms` maps CLDR categories
    to nouns and must hold "other", the fallback."""
    noun = forms.get(plural_form(n, lang)) or forms["other"]
    return f"{n} {noun}"


def english(n: int, one: str, other: str | None = None) -> str:
    """`counted` for English: "1 file", "3 files" (`other` defaults to `one` + "s")."""
    return counted(n, {"one": one, "other": other or f"{one}s"})
