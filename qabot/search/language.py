"""Whether a question is unlikely to be English: worth the "ask in English" hint when the model
reads English only (`question.needs_english`).

Not a language identifier: a question is a handful of words, where statistical detectors guess
(and some guess differently on every run). Two plain signals instead, each of which a reader
can check by hand:

- its letters: mostly not Latin (Cyrillic, Greek, Arabic, Hebrew, CJK, Devanagari...);
- its function words, for the Latin-script languages people most often ask in (French, German,
  Spanish, Italian, Portuguese, Dutch, Polish): at least two of one language's, and more of
  them than of English's. The lists leave out words that are English words too ("die", "was",
  "son", "hat", "per") or start names ("von", "los", "de la" count half), so "Who is Jean de
  la Fontaine?" or "Where is Los Angeles?" stay English. A one-word question stays English:
  nothing honest can be said of it.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_LETTER = re.compile(r"[^\W\d_]")
# Latin letters: Basic Latin, Latin-1, Latin Extended-A and -B, and Latin Extended Additional.
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ENGLISH = _words(
    "the are were who what when where why how which whose whom did does do of on at to for "
    "with and or by from about has have had been this that these those it its not can could "
    "will would should there they he she you we my your their any many much what's who's "
    "it's where's how's there's isn't don't doesn't didn't"
)
# Each language's function words; those that also begin names or are rare English words count
# half (`_WEAK`).
_FUNCTION_WORDS = {
    "fr": "où est sont qui quoi quel quelle quels quelles comment pourquoi combien quand une "
    "et dans avec pas ce cette ces au aux du des les il elle ils elles été était leur nous "
    "vous je sur mais ou qu'est c'est",
    "de": "wer wie wo warum welche welcher welches wann ist sind der das und nicht ein eine "
    "einen einem mit von dem den zu auf für wurde wurden haben auch oder ich sie es bei nach "
    "über vom zum zur gibt",
    "es": "qué quién quiénes cómo dónde cuándo cuál cuáles cuánto por porque para es está "
    "están fue una uno y con pero del el la que se su sus muy más los las",
    "it": "chi che cosa dove quando perché quale quali quanto è sono il gli della delle dei "
    "degli nel nella una uno con anche ma di del lo si",
    "pt": "quem quê onde quando porque qual quais quanto é são está foi um uma não com sem da "
    "dos das em para pelo pela seu sua na como",
    "nl": "wie wat waar wanneer waarom welke het een en van niet zijn werd heeft met voor ook "
    "dat deze naar bij te uit de",
    "pl": "kto co gdzie jak kiedy dlaczego czy jest są był była było nie się że ten ta jaki "
    "jaka jakie który która które oraz na w z",
}
_WEAK = _words("de la le el del di da los las von van na um w z en como")
_LANGUAGES = {lang: _words(words) for lang, words in _FUNCTION_WORDS.items()}


def unlikely_english(text: str) -> bool:
    """Whether `text` is most likely in another language than English (see the module's
    docstring for how this is decided, and what is left English)."""
    sample = text[:1000]
    letters = _LETTER.findall(sample)
    if not letters:
        return False
    latin = sum(1 for ch in letters if _LATIN.match(ch))
    if latin < 0.7 * len(letters):
        return True
    words = [w.lower().replace("’", "'") for w in _WORD.findall(sample)]
    english = sum(1 for w in words if w in _ENGLISH)
    best = max(
        sum(0.5 if w in _WEAK else 1.0 for w in words if w in vocabulary)
        for vocabulary in _LANGUAGES.values()
    )
    return best >= 2 and best > english
