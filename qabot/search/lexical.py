"""Lexical retrieval: BM25 over the same chunks as the vectors, row i = chunk i.

Words are lower-cased and stop words dropped. Latin-script words are stemmed with Snowball
English (PyStemmer), irregular verb forms first taken to their base ("said" is "say") and a
nationality then to its country ("Ukrainian" is "Ukraine"). Cyrillic words are cut to their
first CYRILLIC_PREFIX letters: PyStemmer has no Ukrainian stemmer, and a prefix treats Russian
and Ukrainian the same way. Measured with
whole-paragraph BM25 hit@1 (bench/RESULTS-quality.md): xquad_ru 0.803 unstemmed, 0.908 Snowball
Russian, 0.918 prefix-5; squad_uk_mini 0.580 / 0.636 / 0.660.

Besides scores, a search reports how much of the question the corpus knows at all (`coverage`,
idf-weighted): a Russian question over an English corpus shares almost no words with it, and
fusion uses that to keep BM25's arbitrary ranking out of the result.

Why the scoring is written here and not left to bm25s (which it was until format tf-csc/1):
bm25s stores, per term and chunk, the finished score idf x tf-part, and both parts depend on the
whole corpus (idf on the number of chunks and the term's document frequency, the tf part on the
average chunk length). Adding one chunk therefore changes every stored score, and bm25s has no
update: every build re-analysed and re-indexed all chunks (14.5 s of the 18.7 s it took to add
one document to a 100k-chunk index, bench/RESULTS-speed.md section 3). This index stores what
does not change when other chunks come and go - each chunk's raw term counts (a sparse chunks x
terms matrix, CSC so a term's postings are one slice), the vocabulary and the chunk lengths -
and applies bm25s's default formula (method "lucene", k1=1.5, b=0.75) at query time. An
incremental build keeps the reused chunks' rows of the previous version's matrix and analyses
only the new chunks. tests/search/test_lexical.py checks the scores against bm25s itself, which stays a
dependency for that and for its stop word lists.

The matrix is three numpy arrays (scipy's CSC layout) handled with numpy alone: the operations
needed are a term-ordered count (np.unique), a row selection and a row append, and
scipy.sparse would cost 0.4-0.6 s of import in the first build of a process and stacks CSC
matrices row-wise through COO (~1 s at 100k chunks, against ~0.05 s here).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

log = logging.getLogger("qabot")

# Recorded in the manifest; an index analysed differently is re-analysed on load.
ANALYZER = "qabot-bm25/2:en-irregular-snowball-demonym,cyr-prefix5,stop-enplus-ru-uk"
# How bm25/ is laid out; a folder in another format (e.g. a bm25s folder) is rebuilt on load.
FORMAT = "tf-csc/1"
CYRILLIC_PREFIX = 5
FOLDER = "bm25"
# bm25s's defaults (BM25(method="lucene", k1=1.5, b=0.75)).
K1 = 1.5
B = 0.75

_WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")

# bm25s ships English and Russian lists; Ukrainian function words are listed here.
_UK_STOP = """
і й та що це як на у в з із зі до по за від для не ні але або чи його її їх він вона вони воно
ми ви я ти був була були було бути є який яка яке які якого яких якій яким котрий цей ця ці той
те ті так також при про під над між через після перед коли де хто чому скільки ще вже лише
"""


# Snowball stems regular endings only, so "What did Rutte say?" shared no word with "Rutte
# said": English irregular verb forms go to their base form before stemming (what
# Elasticsearch's stemmer_override does). Each line: the base, then its irregular forms. Left
# out: forms that are also common names or other words ("rose", "lay", "bore", "lie"), and
# "won", a stop word in bm25s's English list.
# bench/RESULTS-quality.md 7.9: xquad_en hit@1 0.975 -> 0.976, news unchanged within a question.
_IRREGULAR_VERBS = """
say said says | tell told | go went gone | take took taken | make made | give gave given
come came | become became | begin began begun | lose lost | hold held | meet met
pay paid | sell sold | buy bought | bring brought | think thought | keep kept | run ran
write wrote written | speak spoke spoken | choose chose chosen | grow grew grown
know knew known | shoot shot | strike struck stricken | steal stole stolen | break broke broken
drive drove driven | fly flew flown | throw threw thrown | ride rode ridden | eat ate eaten
fight fought | catch caught | teach taught | seek sought | build built | send sent
spend spent | lend lent | lead led | flee fled | feed fed | sit sat | stand stood
understand understood | withdraw withdrew withdrawn | hide hid hidden | sink sank sunk
swear swore sworn | wear wore worn | tear tore torn | freeze froze frozen | wake woke woken
shake shook shaken | forget forgot forgotten | forgive forgave forgiven | get got gotten
see saw seen | feel felt | deal dealt | mean meant | hear heard | fall fell fallen
hang hung | sleep slept | leave left | find found | rise risen | draw drew drawn
"""
BASE_FORM = {
    form: forms.split()[0]
    for forms in _IRREGULAR_VERBS.replace("\n", "|").split("|")
    for form in forms.split()[1:]
}
# Likewise a nationality and its country ("the Ukrainian foreign minister" is the "Minister for
# Foreign Affairs of Ukraine"), which Snowball stems apart; mapped stem to stem, so plurals
# ("Ukrainians") follow. Each pair: the adjective, the country. bench/RESULTS-quality.md 7.9.
_DEMONYMS = """
afghan afghanistan | albanian albania | algerian algeria | american america | argentine argentina
argentinian argentina | armenian armenia | australian australia | austrian austria
azerbaijani azerbaijan | belarusian belarus | belgian belgium | bosnian bosnia | brazilian brazil
british britain | bulgarian bulgaria | canadian canada | chilean chile | chinese china
colombian colombia | croatian croatia | cuban cuba | danish denmark | egyptian egypt
estonian estonia | ethiopian ethiopia | european europe | finnish finland | french france
georgian georgia | german germany | greek greece | hungarian hungary | indian india
indonesian indonesia | iranian iran | iraqi iraq | irish ireland | israeli israel | italian italy
japanese japan | jordanian jordan | kazakh kazakhstan | kenyan kenya | korean korea
latvian latvia | lebanese lebanon | libyan libya | lithuanian lithuania | mexican mexico
moldovan moldova | mongolian mongolia | moroccan morocco | nigerian nigeria | norwegian norway
pakistani pakistan | palestinian palestine | portuguese portugal | romanian romania
russian russia | serbian serbia | slovak slovakia | slovenian slovenia | spanish spain
swedish sweden | swiss switzerland | syrian syria | taiwanese taiwan | thai thailand
turkish turkey | ukrainian ukraine | venezuelan venezuela | vietnamese vietnam | yemeni yemen
"""


@cache
def _stopwords() -> frozenset[str]:
    # bm25s's lists, read from its stopwords.py (plain lists, no imports) without running the
    # package's __init__, which imports scipy.sparse: 0.4-0.9 s of every one-shot `qabot ask`
    # for nothing else.
    spec = importlib.util.find_spec("bm25s")
    path = Path(spec.submodule_search_locations[0]) / "stopwords.py"
    module_spec = importlib.util.spec_from_file_location("qabot._bm25s_stopwords", path)
    lists = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(lists)
    # The longer English list (question words, auxiliaries): whole-paragraph BM25 hit@1 on
    # xquad_en 0.931 with the short Lucene list, 0.935 with this one.
    english, russian = lists.STOPWORDS_EN_PLUS, lists.STOPWORDS_RUSSIAN
    return frozenset(english) | frozenset(russian) | frozenset(_UK_STOP.split())


@cache
def _english_stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@cache
def _country_stem() -> dict[str, str]:
    stem = _english_stemmer().stemWord
    pairs = (p.split() for p in _DEMONYMS.replace("\n", "|").split("|") if p.split())
    return {stem(adjective): stem(country) for adjective, country in pairs}


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
    stem = _english_stemmer().stemWord(BASE_FORM.get(word, word))
    return _country_stem().get(stem, stem)


def _idf(df: np.ndarray | int, n: int):
    # bm25s's lucene idf; never negative, unlike Robertson's.
    return np.log1p((n - df + 0.5) / (df + 0.5))


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
    """A BM25 index over chunk texts; saved as a folder of arrays next to the vectors.

    Term counts are a CSC matrix (rows = chunks, columns = terms): `data[indptr[t]:indptr[t+1]]`
    are term t's counts in chunks `rows[indptr[t]:indptr[t+1]]`. Every term occurs somewhere
    (a term whose chunks are all gone is dropped), so a term's document frequency is its column
    length and the vocabulary is exactly bm25s's."""

    def __init__(
        self,
        *,
        vocab: list[str],
        data: np.ndarray,
        rows: np.ndarray,
        indptr: np.ndarray,
        doc_len: np.ndarray,
        term_id: dict[str, int] | None = None,
    ) -> None:
        self.vocab = vocab
        self._term_id = term_id if term_id is not None else {t: i for i, t in enumerate(vocab)}
        self._data = data.astype(np.float32, copy=False)
        self._rows = rows.astype(np.int32, copy=False)
        self._indptr = indptr.astype(np.int64, copy=False)
        self.doc_len = doc_len.astype(np.int32, copy=False)
        self.n_rows = len(doc_len)
        self._df = np.diff(self._indptr)
        self._idf_of = _idf(self._df.astype(np.float64), self.n_rows)
        avgdl = float(self.doc_len.mean()) if self.n_rows and self.doc_len.any() else 1.0
        # The length part of the tf denominator, per chunk: tf / (tf + k1 (1 - b + b dl/avgdl)).
        self._norm = (K1 * (1 - B + B * self.doc_len / avgdl)).astype(np.float32)
        self._tf_part: np.ndarray | None = None

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        return cls.empty().extend(np.zeros(0, dtype=np.int64), texts)

    @classmethod
    def empty(cls) -> LexicalIndex:
        z = np.zeros(0, dtype=np.int32)
        return cls(vocab=[], data=z, rows=z, indptr=np.zeros(1, np.int64), doc_len=z)

    def extend(self, keep: np.ndarray, texts: list[str]) -> LexicalIndex:
        """A new index whose rows are this one's rows `keep` (in that order), then `texts`.
        Only `texts` are analysed; the kept rows' counts are copied (O(postings), no Python
        loop over chunks)."""
        keep = np.asarray(keep, dtype=np.int64)
        if len(keep) == self.n_rows and np.array_equal(keep, np.arange(self.n_rows)):
            kept, vocab, term_id = self, self.vocab, dict(self._term_id)
        else:
            kept = self._select_rows(keep)
            vocab, term_id = kept.vocab, dict(kept._term_id)

        # Count the new chunks' terms; new terms get the next column numbers.
        doc_rows: list[int] = []
        cols: list[int] = []
        lens = np.zeros(len(texts), dtype=np.int32)
        vocab = list(vocab)
        for i, text in enumerate(texts):
            terms = analyze(text)
            lens[i] = len(terms)
            for term in terms:
                col = term_id.get(term)
                if col is None:
                    col = term_id[term] = len(vocab)
                    vocab.append(term)
                cols.append(col)
            doc_rows.extend([i] * len(terms))
        # Term counts of the new chunks as CSC: the distinct (term, chunk) pairs sorted by term,
        # then chunk, and how often each occurs.
        keys, counts = np.unique(
            np.array(cols, dtype=np.int64) * max(len(texts), 1) + np.array(doc_rows, np.int64),
            return_counts=True,
        )
        block_cols, block_rows = np.divmod(keys, max(len(texts), 1))
        block_indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(block_cols, minlength=len(vocab)), out=block_indptr[1:])
        data, rows, indptr = _append_rows(
            kept._data,
            kept._rows,
            kept._indptr,
            n_old=kept.n_rows,
            new_data=counts,
            new_rows=block_rows,
            new_indptr=block_indptr,
        )
        return LexicalIndex(
            vocab=vocab,
            data=data,
            rows=rows,
            indptr=indptr,
            doc_len=np.concatenate([kept.doc_len, lens]),
            term_id=term_id,
        )

    def _select_rows(self, keep: np.ndarray) -> LexicalIndex:
        """This index restricted to rows `keep`, renumbered 0.. in that order; terms left in no
        row are dropped (bm25s's vocabulary holds only terms that occur)."""
        new_row = np.full(self.n_rows, -1, dtype=np.int32)
        new_row[keep] = np.arange(len(keep), dtype=np.int32)
        mapped = new_row[self._rows]
        alive = mapped >= 0
        col = np.repeat(np.arange(len(self.vocab)), self._df)
        df = np.bincount(col[alive], minlength=len(self.vocab))
        used = df > 0
        indptr = np.zeros(int(used.sum()) + 1, dtype=np.int64)
        np.cumsum(df[used], out=indptr[1:])
        vocab = [t for t, u in zip(self.vocab, used.tolist(), strict=True) if u]
        return LexicalIndex(
            vocab=vocab,
            data=self._data[alive],
            rows=mapped[alive],
            indptr=indptr,
            doc_len=self.doc_len[keep],
        )

    # -- persistence -------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in self._arrays().items():
            with (folder / f"{name}.npy").open("wb") as fh:
                np.save(fh, array, allow_pickle=False)
        # Terms are \w+ runs, so they contain no newline.
        (folder / "vocab.txt").write_text("\n".join(self.vocab), encoding="utf-8")
        meta = {
            "analyzer": ANALYZER,
            "format": FORMAT,
            "rows": self.n_rows,
            "terms": len(self.vocab),
        }
        (folder / "qabot.json").write_text(json.dumps(meta), encoding="utf-8")

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "tf_data": self._data,
            "tf_rows": self._rows,
            "tf_indptr": self._indptr,
            "doc_len": self.doc_len,
        }

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        """The saved index, or None when it is missing, damaged, or from another analyzer or
        format (the caller rebuilds it from the chunk texts)."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "qabot.json").read_text(encoding="utf-8"))
            if meta.get("analyzer") != ANALYZER or meta.get("format") != FORMAT:
                return None
            arrays = {
                name: np.load(folder / f"{name}.npy", allow_pickle=False)
                for name in ("tf_data", "tf_rows", "tf_indptr", "doc_len")
            }
            text = (folder / "vocab.txt").read_text(encoding="utf-8")
            vocab = text.split("\n") if text else []
            n, indptr = int(meta["rows"]), arrays["tf_indptr"]
            rows, data = arrays["tf_rows"], arrays["tf_data"]
            if (
                len(vocab) != meta["terms"]
                or len(arrays["doc_len"]) != n
                or (n and arrays["doc_len"].min() < 0)
                or len(indptr) != len(vocab) + 1
                or indptr[0] != 0
                or indptr[-1] != len(data)
                or (np.diff(indptr) < 0).any()
                or len(rows) != len(data)
                or (len(rows) and (rows.min() < 0 or rows.max() >= n))
                or not np.isfinite(data).all()
            ):
                raise ValueError("arrays do not match qabot.json")
        # EOFError: an empty .npy; AttributeError: qabot.json not an object; IndexError: an
        # empty indptr.
        except (
            OSError,
            EOFError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            IndexError,
        ) as exc:
            log.warning("BM25 index in %s unusable (%s); rebuilding it", folder, exc)
            return None
        return cls(
            vocab=vocab,
            data=arrays["tf_data"],
            rows=arrays["tf_rows"],
            indptr=indptr,
            doc_len=arrays["doc_len"],
        )

    # -- searching ---------------------------------------------------------------------------
    def _unseen_idf(self) -> float:
        # A term the corpus lacks counts as a term seen once: the rarest, so it weighs most.
        return float(_idf(1, max(self.n_rows, 1)))

    def term_idf(self, term: str) -> float:
        """The idf of an analysed term; a term the corpus lacks gets the highest possible."""
        term_id = self._term_id.get(term)
        return self._unseen_idf() if term_id is None else float(self._idf_of[term_id])

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk for these (analysed, distinct) terms: bm25s's lucene
        formula, sum over terms of idf x tf / (tf + k1 (1 - b + b dl/avgdl))."""
        if self._tf_part is None:
            # The tf part of every posting is fixed for this version; computed on the first
            # search (~0.05 s at 100k chunks), not in builds, which never search. Keeps a
            # search as cheap as bm25s's: one multiply and one add per posting.
            self._tf_part = self._data / (self._data + self._norm[self._rows])
        out = np.zeros(self.n_rows, dtype=np.float32)
        for term in terms:
            t = self._term_id.get(term)
            if t is None:
                continue
            lo, hi = self._indptr[t], self._indptr[t + 1]
            # Rows are distinct within a term; add.at is ~6x faster than out[rows] += here.
            idf = np.float32(self._idf_of[t])  # as bm25s stores it
            np.add.at(out, self._rows[lo:hi], idf * self._tf_part[lo:hi])
        return out

    def search(self, question: str, k: int) -> LexicalResult:
        terms = list(dict.fromkeys(analyze(question)))
        known = [t for t in terms if t in self._term_id]
        idf_known = sum(self.term_idf(t) for t in known)
        idf_all = idf_known + self._unseen_idf() * (len(terms) - len(known))
        coverage = idf_known / idf_all if idf_all > 0 else 0.0
        # At tf=1 in a chunk of average length a term scores idf / (1 + k1).
        max_score = idf_all / (1 + K1)
        empty = np.zeros(0, dtype=np.int64)
        if not known or self.n_rows == 0:
            return LexicalResult(empty, np.zeros(0, np.float32), coverage, max_score)
        scores = self.scores(known)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return LexicalResult(top.astype(np.int64), scores[top], coverage, max_score)


def _append_rows(
    data: np.ndarray,
    rows: np.ndarray,
    indptr: np.ndarray,
    *,
    n_old: int,
    new_data: np.ndarray,
    new_rows: np.ndarray,
    new_indptr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack two CSC matrices vertically (the second's rows numbered after the first's n_old;
    it may have more columns): each new posting is inserted after the old postings of its
    column, one pass over the old arrays (np.insert keeps equal positions in the given order)."""
    n_cols = len(new_indptr) - 1
    old_counts = np.zeros(n_cols, dtype=np.int64)
    old_counts[: len(indptr) - 1] = np.diff(indptr)
    new_counts = np.diff(new_indptr)
    out_indptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(old_counts + new_counts, out=out_indptr[1:])
    at = np.repeat(np.cumsum(old_counts), new_counts)  # the end of the column's old postings
    out_data = np.insert(data.astype(np.float32, copy=False), at, new_data.astype(np.float32))
    out_rows = np.insert(rows.astype(np.int32, copy=False), at, new_rows.astype(np.int32) + n_old)
    return out_data, out_rows, out_indptr
