"""Which number should decide "not found" (MiniLM): candidates measured on in-scope questions
against questions the corpus cannot answer, on Wikipedia and on news (issue 10 part 3).

Ran at commit ca8511e (it reads `Retrieval.gate_row`, removed after it in dae6e32 when its
`shown_pick` became the confidence); backs bench/RESULTS-quality.md section 7.

Usage: .venv/bin/python bench/sweep_confidence.py XQUAD_A XQUAD_B NEWS
  XQUAD_A, XQUAD_B: xquad_en split by article (bench/quality_splits.py); NEWS: the news dev set.
In-scope: A's questions on A, NEWS's on NEWS. Out of scope: B's questions on A's corpus, and
XQUAD_B's questions on the news corpus. Each candidate's threshold is set where 5% of A's
out-of-scope questions are answered (the rule behind the committed thresholds); reported: the
in-scope answer rates and the other out-of-scope rate at that threshold.

Candidates, all from the sentences `make_answer` scores (divided by the MiniLM ceiling 1.5):
- gate_own: the best own score in the gate passage (the committed confidence);
- shown_own: the shown answer sentence's own score;
- shown_pick: the shown sentence's score with its previous sentence's terms (its context);
- max_pick: the best of those over every scored sentence.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from qabot.answering import ANSWER_PASSAGES, RANK_PENALTY, distinct, score_sentences
from qabot.config import get_settings
from qabot.eval import default_cache_dir, load_questions, prepare_index
from qabot.question import search_text

CEILING = 1.5


def confidences(service, questions) -> dict[str, np.ndarray]:
    lex = service._index().retriever.lexical
    emb = service.query_embedder
    out: dict[str, list[float]] = {
        "gate_own": [],
        "shown_own": [],
        "shown_pick": [],
        "max_pick": [],
    }
    for q in questions:
        text = search_text(q.question)
        qvec = emb.embed_query(text)
        r = service.retrieve(text, qvec, n=14)
        ranked = [(service.chunk(c.row), c.dense) for c in r.candidates]
        passages = distinct(ranked, ANSWER_PASSAGES)
        gate = service.chunk(r.gate_row)
        chunks = [passages[0][0]] + ([gate] if gate != passages[0][0] else [])
        rest = [c for c, _ in passages[1:] if c not in chunks]
        scored = dict(
            zip(
                chunks + rest,
                score_sentences(text, qvec, chunks + rest, emb, lex, full=len(chunks)),
                strict=True,
            )
        )
        shown = [scored[c] for c, _ in passages]
        first = max(
            range(len(shown)), key=lambda i: shown[i].pick[shown[i].best()] - RANK_PENALTY * i
        )
        best = shown[first].best()
        out["gate_own"].append(scored[gate].best_own)
        out["shown_own"].append(shown[first].own[best])
        out["shown_pick"].append(shown[first].pick[best])
        out["max_pick"].append(max(max(s.pick) for s in scored.values()))
    return {k: np.clip(np.array(v) / CEILING, 0, 1) for k, v in out.items()}


def main() -> None:
    a, b, news = map(Path, sys.argv[1:4])
    settings = get_settings()
    cache = default_cache_dir()
    on_a = prepare_index(a, settings, cache_dir=cache).service
    on_news = prepare_index(news, settings, cache_dir=cache).service
    b_questions = load_questions(b)
    sets = {
        "xquad A in": confidences(on_a, load_questions(a)),
        "xquad B on A (out)": confidences(on_a, b_questions),
        "news in": confidences(on_news, load_questions(news)),
        "xquad B on news (out)": confidences(on_news, b_questions[:300]),
    }
    for out_set in ("xquad B on A (out)", "xquad B on news (out)"):
        print(f"thresholds where 5% of {out_set} are answered:")
        for name in sets["xquad A in"]:
            t = float(np.quantile(sets[out_set][name], 0.95))
            rates = {k: float((v[name] >= t).mean()) for k, v in sets.items()}
            print(
                f"  {name:11s} threshold {t:.3f}  "
                + "  ".join(f"{k} {r:.3f}" for k, r in rates.items())
            )


if __name__ == "__main__":
    main()
