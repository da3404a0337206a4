# ruff: noqa: B023  (an experiment: each lambda runs inside its own loop turn)
"""Answer-sentence choice among the sentences of the first passages (issue 10 part 2).

Usage: .venv/bin/python bench/experiments/sweep_answer_news.py DATASET [DATASET ...]

For each question: the product's ranking (`QAService.retrieve`), its first M distinct passages,
and for each of their sentences the score qabot/answer/compose.py gives (cosine of "title:
sentence" + `overlap_weight` x idf overlap, + the previous sentence's terms at `context_weight`).
Variants pick the sentence among the first M passages with a prior on the passage's rank;
reported: answer in the chosen sentence, in its passage, and the chosen passage's document being
gold.

Ran at afd18b8; backs bench/RESULTS-quality.md section 7.3 (The answer sentence among the first
passages) and the comments on `answer_passages` / `other_sentences` in qabot/answer/params.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

from qabot.answer.compose import term_overlap
from qabot.answer.params import DEFAULT_ANSWER
from qabot.config import get_settings
from qabot.evaluation import contains_answer, default_cache_dir, load_questions, prepare_index
from qabot.ingest.chunking import sentence_for_embedding, sentence_spans
from qabot.search.retrieval import distinct


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def main() -> None:
    settings = get_settings()
    for dataset in map(Path, [a for a in sys.argv[1:] if not a.startswith("--")]):
        index = prepare_index(dataset, settings, cache_dir=default_cache_dir())
        svc = index.service
        lex = svc.loaded_index().retriever.lexical
        emb = svc.query_embedder
        rows = []
        for q in load_questions(dataset):
            qvec = emb.embed_query(q.question)
            retrieval = svc.retrieve(q.question, qvec, n=40)
            ranked = [(svc.chunk(c.row), c.score) for c in retrieval.candidates]
            passages = distinct(ranked, 3 if "--cascade-only" in sys.argv else 5)
            top = passages[0][1]
            sents = []  # (passage rank, fused score, text, sim, own, inherited, is_title, words)
            for rank, (chunk, fused) in enumerate(passages):
                spans = sentence_spans(chunk)
                texts = [chunk.text[s:e] for s, e in spans]
                titled = [sentence_for_embedding(chunk, sp) for sp in spans]
                sims = emb.embed_passages(titled, batch_size=len(titled)) @ qvec
                own = [term_overlap(q.question, t, lex) for t in texts]
                inh = [0.0] + [
                    term_overlap(q.question, f"{p} {t}", lex) - o
                    for p, t, o in zip(texts[:-1], texts[1:], own[1:], strict=True)
                ]
                for t, sim, o, i in zip(texts, sims, own, inh, strict=True):
                    sents.append(
                        (
                            rank,
                            fused,
                            top,
                            t,
                            float(sim),
                            o,
                            i,
                            _norm(t) == _norm(chunk.title),
                            len(t.split()),
                            chunk,
                        )
                    )
            gold = set(q.doc_ids)
            rows.append((q, sents, gold))
        print(f"{dataset.name}: {len(rows)} questions", flush=True)

        def run(name, score, m, *, skip_title=False, min_words=0):
            s_hit = p_hit = d_hit = 0
            for q, sents, gold in rows:
                pool = [s for s in sents if s[0] < m]
                keep = [s for s in pool if not (skip_title and s[7]) and s[8] >= min_words]
                pool = keep or pool
                best = max(pool, key=score)
                s_hit += contains_answer(best[3], q.answers)
                p_hit += contains_answer(best[9].text, q.answers)
                d_hit += best[9].doc_id.split("#", 1)[-1] in gold
            n = len(rows)
            print(
                f"  {name:55s} sentence {s_hit / n:.3f} passage {p_hit / n:.3f} "
                f"doc@1 {d_hit / n:.3f}",
                flush=True,
            )

        def pick(s):
            w = DEFAULT_ANSWER
            return s[4] + w.overlap_weight * s[5] + w.overlap_weight * w.context_weight * s[6]

        def cascade(n_other):
            """Passages after the first: only their n_other sentences of highest overlap."""

            def allowed(s, sents):
                if s[0] == 0:
                    return True
                others = sorted((x for x in sents if 0 < x[0] < 3), key=lambda x: -x[5])
                return any(s is x for x in others[:n_other])

            return allowed

        def run_cascade(name, n_other, g):
            s_hit = p_hit = d_hit = 0
            for q, sents, gold in rows:
                allowed = cascade(n_other)
                pool = [
                    s for s in sents if s[0] < 3 and not s[7] and s[8] >= 4 and allowed(s, sents)
                ] or [s for s in sents if s[0] == 0]
                best = max(pool, key=lambda s: pick(s) - g * s[0])
                s_hit += contains_answer(best[3], q.answers)
                p_hit += contains_answer(best[9].text, q.answers)
                d_hit += best[9].doc_id.split("#", 1)[-1] in gold
            n = len(rows)
            print(
                f"  {name:55s} sentence {s_hit / n:.3f} passage {p_hit / n:.3f} "
                f"doc@1 {d_hit / n:.3f}",
                flush=True,
            )

        for n_other in (2, 3, 4, 6, 100):
            for g in (0.02, 0.03, 0.05):
                run_cascade(f"top 3 penalty {g}, others' {n_other} best by overlap", n_other, g)
        if "--cascade-only" in sys.argv:
            continue
        run("first passage (current)", pick, 1)
        run("first passage, no title line", pick, 1, skip_title=True)
        run("first passage, no title, >=4 words", pick, 1, skip_title=True, min_words=4)
        for m in (2, 3, 5):
            run(f"top {m}, no prior", pick, m, skip_title=True, min_words=4)
            for g in (0.02, 0.05, 0.1):
                run(
                    f"top {m}, rank penalty {g}",
                    lambda s, g=g: pick(s) - g * s[0],
                    m,
                    skip_title=True,
                    min_words=4,
                )
            for b in (0.1, 0.2, 0.3, 0.5):
                run(
                    f"top {m}, + {b} x (fused - top fused)",
                    lambda s, b=b: pick(s) + b * (s[1] - s[2]),
                    m,
                    skip_title=True,
                    min_words=4,
                )


if __name__ == "__main__":
    main()
