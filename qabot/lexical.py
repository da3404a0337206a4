"""Lexical retrieval: BM25 (bm25s) over the same chunks as the vectors, row i = chunk i.

Words are lower-cased and stop words dropped. Latin-script words are stemmed with Snowball
English (PyStemmer). Cyrillic words are cut to their first CYRILLIC_PREFIX letters: PyStemmer has
no Ukrainian stemmer, and a prefix treats Russian and Ukrainian the same way. Measured with
whole-paragraph BM25 hit@1 (bench/RESULTS-quality.md): xquad_ru 0.803 unstemmed, 0.908 Snowball
Russian, 0.918 prefix-5; squad_uk_mini 0.580 / 0.636 / 0.660.

Besides scores, a search reports how much of the question the corpus knows at all (`coverage`,
idf-weighted): a Russian question over an English corpus shares almost no words with it, and
fusion uses that to keep BM25's arbitrary ranking out of the result.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

log = logging.getLogger("qabot")

# Recorded in the manifest; an index analysed differently is re-analysed on load.
ANALYZER = "qabot-bm25/1:en-snowball,cyr-prefix5,stop-enplus-ru-uk"
CYRILLIC_PREFIX = 5
FOLDER = "bm25"

_WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")

# bm25s ships English and Russian lists; Ukrainian function words are listed here.
_UK_STOP = """
і й та що це як на у в з із зі до по за від для не ні але або чи його її їх він вона вони воно
ми ви я ти був була були було бути є який яка яке які якого яких якій яким котрий цей ця ці той
те ті так також при про під над між через після перед коли де хто чому скільки ще вже лише
"""


def _bm25s():
    import bm25s

    # bm25s sets its logger to DEBUG on import and logs every build to stderr.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@cache
def _stopwords() -> frozenset[str]:
    _bm25s()
    # The longer English list (question words, auxiliaries): whole-paragraph BM25 hit@1 on
    # xquad_en 0.931 with the short Lucene list, 0.935 with this one.
    from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_RUSSIAN

    return frozenset(STOPWORDS_EN_PLUS) | frozenset(STOPWORDS_RUSSIAN) | frozenset(_UK_STOP.split())


@cache
def _english_stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def analyze(text: str) -> list[str]:
    """The terms of `text` as the index stores them (same function for passages and questions)."""
    terms = []
    for word in _WORD.findall(text.lower()):
        term = _TERMS.get(word)
        if term is None:
            term = _term(word)
            if len(_TERMS) < 1_000_000:  # words repeat: memoising halves analysis time
                _TERMS[word] = term
        if term:
            terms.append(term)
    return terms


_TERMS: dict[str, str] = {}


def _term(word: str) -> str:
    """The index term of one lower-case word ("" for a stop word)."""
    if word in _stopwords() or word == "_":
        return ""
    if _CYRILLIC.search(word):
        return word[:CYRILLIC_PREFIX]
    return _english_stemmer().stemWord(word)


@dataclass
class LexicalResult:
    """BM25 candidates for one question: rows (chunk numbers) and scores, best first, plus
    `coverage`, the idf-weighted share of the question's terms that occur in the corpus at all
    (0 = nothing in common, 1 = every term occurs somewhere) and `max_score`, the score a chunk
    containing every query term once would roughly get (for scaling scores to 0..1)."""

    rows: np.ndarray
    scores: np.ndarray
    coverage: float
    max_score: float


class LexicalIndex:
    """A BM25 index over chunk texts; saved as a folder of arrays next to the vectors."""

    def __init__(self, retriever, n_rows: int) -> None:
        self._bm25 = retriever
        self.n_rows = n_rows

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        retriever = _bm25s().BM25()
        tokens = [analyze(t) for t in texts]
        # bm25s needs one non-empty document to build a vocabulary.
        retriever.index(tokens if any(tokens) else [[""]], show_progress=False)
        return cls(retriever, len(texts))

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        self._bm25.save(str(folder), show_progress=False)
        (folder / "qabot.json").write_text(
            json.dumps({"analyzer": ANALYZER, "rows": self.n_rows}), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        """The saved index, or None when it is missing or from another analyzer (the caller
        rebuilds it from the chunk texts)."""
        bm25s = _bm25s()
        folder = Path(folder)
        try:
            meta = json.loads((folder / "qabot.json").read_text(encoding="utf-8"))
            if meta.get("analyzer") != ANALYZER:
                return None
            retriever = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("BM25 index in %s unusable (%s); rebuilding it", folder, exc)
            return None
        return cls(retriever, int(meta["rows"]))

    def _idf(self, term_id: int) -> float:
        # The lucene idf bm25s uses, from the term's document frequency (its CSC column length).
        indptr = self._bm25.scores["indptr"]
        df = int(indptr[term_id + 1] - indptr[term_id])
        n = self._bm25.scores["num_docs"]
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def term_idf(self, term: str) -> float:
        """The idf of an analysed term; a term the corpus lacks gets the highest possible."""
        term_id = self._bm25.vocab_dict.get(term)
        if term_id is None:
            n = max(self.n_rows, 1)
            return math.log(1 + (n - 1 + 0.5) / 1.5)
        return self._idf(term_id)

    def search(self, question: str, k: int) -> LexicalResult:
        terms = list(dict.fromkeys(analyze(question)))
        vocab = self._bm25.vocab_dict
        n = max(self.n_rows, 1)
        # A term the corpus lacks counts as a term seen once: the rarest, so it weighs most.
        unseen_idf = math.log(1 + (n - 1 + 0.5) / 1.5)
        known = [vocab[t] for t in terms if t in vocab]
        idf_known = sum(self._idf(i) for i in known)
        idf_all = idf_known + unseen_idf * (len(terms) - len(known))
        coverage = idf_known / idf_all if idf_all > 0 else 0.0
        # bm25s (lucene) scores a term idf * tf / (tf + k1 * length norm): at tf=1 in a chunk of
        # average length that is idf / (1 + k1).
        max_score = idf_all / (1 + float(self._bm25.k1))
        empty = np.zeros(0, dtype=np.int64)
        if not known or self.n_rows == 0:
            return LexicalResult(empty, np.zeros(0, np.float32), coverage, max_score)
        scores = self._bm25.get_scores(known)[: self.n_rows]
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return LexicalResult(top.astype(np.int64), scores[top], coverage, max_score)
