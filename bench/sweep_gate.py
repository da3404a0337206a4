"""(An experiment of its time: it reads `Retrieval.gate_row`, which commit dae6e32 removed when
the confidence became the shown answer sentence's score; run it at 7757c0d to reproduce.)

What separates in-scope from out-of-scope questions: per-question features, then a sweep.

    .venv/bin/python bench/sweep_gate.py dump CORPUS_SPLIT OTHER_SPLIT OUT.json
    .venv/bin/python bench/sweep_gate.py sweep FIT.json VALIDATE.json
    .venv/bin/python bench/sweep_gate.py sentence DUMP.json...

`dump` asks CORPUS_SPLIT's own questions (in scope) and OTHER_SPLIT's (out of scope) of
CORPUS_SPLIT's corpus (splits from bench/quality_splits.py) with the configured embedder and
records, per question: the top dense cosine, the best scaled BM25 match, the query's BM25
coverage, the answer sentence of the gate passage (the first of the default hybrid ranking) and
of the next two distinct passages (cosine of "title: sentence", idf term overlap, their
`answering.scored_sentence` sum), whether the dense and BM25 rankings agree on the first
document, and each question term's idf and where it occurs (top passage, corpus); and per
sentence of the gate passage its cosine, its idf overlap without and with the title's terms, and
whether it holds a gold answer. OTHER_SPLIT "-": in-scope questions only.

`sweep` prints, for single features and combinations: the false-answer rate at the threshold
that keeps in-scope >= 98% and the in-scope rate at false <= 5% on FIT, the in / false rates on
VALIDATE at FIT's threshold, and VALIDATE's own two figures (bench/RESULTS-quality.md section
5). `sentence` prints the answer-in-first-sentence rate of each dump's in-scope questions when
the answer sentence's overlap counts the title's terms at weight 0 (the code), 0.5 or 1 (5.2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from qabot import eval as ev
from qabot.answering import OVERLAP_WEIGHT, distinct, term_overlap
from qabot.chunking import split_sentences
from qabot.config import get_settings
from qabot.lexical import analyze

RARE_IDF = 2.5  # "rare" question terms: idf >= this (at ~250 chunks, df <= ~20)
OLD_LEXICAL = 0.3  # the cosine-and-BM25 confidence MiniLM used before
TITLE_WEIGHTS = (0.5, 1.0)  # question terms found only in the title count at this weight


def dump(corpus: Path, other: Path, out: Path) -> None:
    service = ev.prepare_index(corpus, get_settings(), cache_dir=ev.default_cache_dir()).service
    embedder, lexical = service.query_embedder, service._index().retriever.lexical
    vocab = {t for i in range(lexical.n_rows) for t in analyze(service.chunk(i).text)}

    def sentences(question, qvec, chunk, answers):
        """Per sentence: cosine of "title: sentence", idf overlap of the sentence, of the title
        and sentence together (each term once), and whether it holds a gold answer."""
        spans = split_sentences(chunk.text) or [(0, len(chunk.text))]
        texts = [chunk.text[s:e] for s, e in spans]
        titled = [f"{chunk.title}: {t}" if chunk.title else t for t in texts]
        cos = embedder.embed_passages(titled, batch_size=len(texts)) @ qvec
        return [
            [
                float(c),
                term_overlap(question, t, lexical),
                term_overlap(question, f"{chunk.title} {t}", lexical),
                ev.contains_answer(t, answers),
            ]
            for c, t in zip(cos, texts, strict=True)
        ]

    def best(per):  # the answer sentence as `answering.scored_sentence` picks it
        i = int(np.argmax([c + OVERLAP_WEIGHT * o for c, o, _, _ in per]))
        return {"cos": per[i][0], "ov": per[i][1]}

    rows = []
    for label, folder in (("in", corpus), ("out", other)):
        if str(folder) == "-":
            continue
        for q in ev.load_questions(folder):
            qvec = embedder.embed_query(q.question)
            r = service.retrieve(q.question, qvec, n=40)
            doc = {c.row: service.chunk(c.row) for c in r.candidates}
            gate = service.chunk(r.gate_row)
            others = [ch for ch, _ in distinct([(doc[c.row], 0) for c in r.candidates], 3)]
            others = [ch for ch in others if ch != gate][:2]
            gate_sentences = sentences(q.question, qvec, gate, q.answers)
            others_sentences = [sentences(q.question, qvec, ch, q.answers) for ch in others]
            by_dense = max(r.candidates, key=lambda c: c.dense)
            by_lexical = max(r.candidates, key=lambda c: c.lexical)
            top_terms = set(analyze(gate.text))
            rows.append(
                {
                    "label": label,
                    "d0": r.dense_top,
                    "l0": r.lexical_top,
                    "cov": r.coverage,
                    "sent": [best(per) for per in [gate_sentences, *others_sentences]],
                    "gate": gate_sentences,
                    "agree": doc[by_dense.row].doc_id == doc[by_lexical.row].doc_id,
                    "terms": [
                        [lexical.term_idf(t), t in top_terms, t in vocab]
                        for t in dict.fromkeys(analyze(q.question))
                    ],
                }
            )
    out.write_text(json.dumps(rows), encoding="utf-8")


def _share(terms, where: int) -> float:
    rare = [t for t in terms if t[0] >= RARE_IDF]
    total = sum(t[0] for t in rare)
    return sum(t[0] for t in rare if t[where]) / total if total else 1.0


def features(rows: list[dict]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    def col(f):
        return np.array([f(r) for r in rows], dtype=float)

    f = {
        "cos + 0.3 x BM25 (before)": col(lambda r: r["d0"] + OLD_LEXICAL * r["l0"]),
        "top cosine": col(lambda r: r["d0"]),
        "best scaled BM25": col(lambda r: r["l0"]),
        "answer sentence cosine": col(lambda r: r["sent"][0]["cos"]),
        "answer sentence overlap": col(lambda r: r["sent"][0]["ov"]),
        "rare terms in top passage": col(lambda r: _share(r["terms"], 1)),
        "rare terms in corpus": col(lambda r: _share(r["terms"], 2)),
        "dense/BM25 agree on doc": col(lambda r: r["agree"]),
    }
    sent = f["answer sentence cosine"] + OVERLAP_WEIGHT * f["answer sentence overlap"]
    f["answer sentence score (after)"] = sent
    f["max over top-3 sentence scores"] = col(
        lambda r: max(s["cos"] + OVERLAP_WEIGHT * s["ov"] for s in r["sent"])
    )
    for lam in TITLE_WEIGHTS:
        f[f"answer sentence score, title terms x {lam}"] = col(
            lambda r, lam=lam: _titled(r, lam)[0]
        )
    old = f["cos + 0.3 x BM25 (before)"]
    f["before + 0.1 x coverage"] = old + 0.1 * col(lambda r: r["cov"])
    f["before + 0.3 x rare terms in top passage"] = old + 0.3 * f["rare terms in top passage"]
    f["before + 0.05 x agree"] = old + 0.05 * f["dense/BM25 agree on doc"]
    f["before + 0.2 x sentence overlap"] = old + 0.2 * f["answer sentence overlap"]
    f["before + sentence score"] = old + sent
    f["sentence score + 0.2 x top cosine"] = sent + 0.2 * f["top cosine"]
    f["sentence score + 0.5 x top cosine"] = sent + 0.5 * f["top cosine"]
    f["sentence score + 0.2 x cos + 0.1 x BM25"] = (
        sent + 0.2 * f["top cosine"] + 0.1 * f["best scaled BM25"]
    )
    return f, np.array([r["label"] == "in" for r in rows])


def _titled(row: dict, lam: float) -> tuple[float, bool]:
    """The gate passage's answer sentence when the overlap also counts the question terms found
    only in the passage's title, at weight `lam` (0: `answering.scored_sentence`): its score and
    whether it holds a gold answer."""
    scores = [c + OVERLAP_WEIGHT * (ov + lam * (ovt - ov)) for c, ov, ovt, _ in row["gate"]]
    best = int(np.argmax(scores))
    return scores[best], row["gate"][best][3]


def in_sentence(dumps: list[Path]) -> None:
    """Answer-in-first-sentence (in-scope questions) per title weight."""
    for path in dumps:
        rows = [r for r in json.loads(path.read_text("utf-8")) if r["label"] == "in"]
        rates = {lam: np.mean([_titled(r, lam)[1] for r in rows]) for lam in (0.0, *TITLE_WEIGHTS)}
        print(path, len(rows), " ".join(f"title x {lam}: {v:.4f}" for lam, v in rates.items()))


def at_in(s, inside, target=0.98):
    """The highest threshold keeping the in-scope rate >= target, and the false rate there."""
    t = np.sort(s[inside])[int(np.floor((1 - target) * inside.sum()))]
    return t, float((s[~inside] >= t).mean())


def at_false(s, inside, target=0.05):
    out = np.sort(s[~inside])[::-1]
    t = out[int(np.floor(target * len(out)))] + 1e-9
    return float((s[inside] >= t).mean())


def sweep(fit: Path, validate: Path) -> None:
    (fa, ya), (fb, yb) = (features(json.loads(p.read_text("utf-8"))) for p in (fit, validate))
    print(
        "| confidence | fit: false at in>=0.98 / in at false<=0.05 | validate at fit's "
        "threshold: in / false | validate: false at in>=0.98 / in at false<=0.05 |"
    )
    print("|---|---|---|---|")
    for name in fa:
        t, false = at_in(fa[name], ya)
        vin, vfalse = (float((fb[name][m] >= t).mean()) for m in (yb, ~yb))
        print(
            f"| {name} | {false:.3f} / {at_false(fa[name], ya):.3f} | {vin:.3f} / {vfalse:.3f} "
            f"| {at_in(fb[name], yb)[1]:.3f} / {at_false(fb[name], yb):.3f} |"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["dump"] and len(sys.argv) == 5:
        dump(*map(Path, sys.argv[2:5]))
    elif sys.argv[1:2] == ["sweep"] and len(sys.argv) == 4:
        sweep(*map(Path, sys.argv[2:4]))
    elif sys.argv[1:2] == ["sentence"] and len(sys.argv) >= 3:
        in_sentence(list(map(Path, sys.argv[2:])))
    else:
        sys.exit(__doc__)
