"""Which sentence of the first passage to highlight: a sweep over scoring rules.

    .venv/bin/python bench/experiments/sweep_sentence.py DATASET [--embedder E] [--questions N]

For each question, the first passage of the default retrieval; each sentence of it is scored
by embedding similarity to the question plus `alpha` x word overlap (two overlap measures: the
old raw-word share, and the idf-weighted share of the question's BM25 terms). Prints the rate at
which the chosen sentence contains a gold answer (answer-in-first-sentence), per rule, and the
ceiling (any sentence of the passage contains it).

Ran at 909683c (runs again since 5c98948: the old word-overlap rule lives here); backs
bench/RESULTS-quality.md section 4 (Answer sentence).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from qabot import evaluation as ev
from qabot.answer import compose as answering
from qabot.config import get_settings
from qabot.ingest.chunking import split_sentences

ALPHAS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0, 100.0)


def _words(text: str) -> set[str]:
    """The old rule's words: lower-cased, longer than 2 letters (answering.py before 909683c)."""
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("dataset", type=Path)
    p.add_argument("--embedder", default="sentence-transformers")
    p.add_argument("--questions", type=int)
    p.add_argument("--passages", type=int, default=1, help="sentences of the top N passages")
    p.add_argument("--beta", type=float, default=1.0, help="weight of the passage's fused score")
    p.add_argument("--lexical-weight", type=float, default=0.5)
    a = p.parse_args()
    settings = get_settings(embedder=a.embedder, lexical_weight=a.lexical_weight)
    service = ev.prepare_index(a.dataset, settings, cache_dir=ev.default_cache_dir()).service
    lexical = service.loaded_index().retriever.lexical
    questions = ev.load_questions(a.dataset, limit=a.questions)
    sent_cache: dict[int, tuple[list[str], np.ndarray]] = {}
    results = {(m, al): 0 for m in ("words", "idf") for al in ALPHAS}
    ceiling = first_pos = 0
    for q in questions:
        qvec = service.embedder.embed_query(q.question)
        cands = service.retrieve(q.question, qvec, n=5).candidates[: a.passages]
        texts, vecs, bonus = [], [], []
        for cand in cands:
            row = cand.row
            if row not in sent_cache:
                text = service.chunk(row).text
                t = [text[s:e] for s, e in split_sentences(text)] or [text]
                sent_cache[row] = (t, service.embedder.embed_passages(t))
            texts += sent_cache[row][0]
            vecs.append(sent_cache[row][1])
            bonus += [cand.score - cands[0].score] * len(sent_cache[row][0])
        vecs = np.vstack(vecs)
        sims = vecs @ qvec + a.beta * np.array(bonus)
        ok = [ev.contains_answer(t, q.answers) for t in texts]
        ceiling += any(ok)
        first_pos += ok[0]
        qwords = _words(q.question)
        words = np.array([len(qwords & _words(t)) / len(qwords) if qwords else 0 for t in texts])
        idf = np.array([answering.term_overlap(q.question, t, lexical) for t in texts])
        for m, al in results:
            score = sims + al * (words if m == "words" else idf)
            results[(m, al)] += ok[int(np.argmax(score))]
    n = len(questions)
    print(f"{a.dataset} {service.embedder.model_id} n={n} passages={a.passages} beta={a.beta}")
    print(f"  ceiling (answer in some sentence of the first passage) {ceiling / n:.3f}")
    print(f"  first sentence of the passage {first_pos / n:.3f}")
    for (m, al), v in results.items():
        print(f"  overlap={m:5s} alpha={al:<5}  answer-in-first-sentence {v / n:.3f}")


if __name__ == "__main__":
    main()
