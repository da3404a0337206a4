"""Warm question latency on a news collection made N times larger, with the real model.

Issue 10's target is a warm question under 100 ms p50 at 40k passages. Embedding 40k passages
takes about an hour here, so the larger index is made from a dataset's `qabot eval` index (real
MiniLM vectors of real articles): every document is repeated `--copies` times under another id
(same text, title and date), and the build gets each passage's vector from that index instead
of running the model again (a passage it does not know is embedded: a document without a title
is titled by its id, so its copy's passages are new text). Everything else is the
real path: the full build (chunking, BM25, FAISS, manifest), then a fresh `QAService` loading
the index and its embedder as `qabot chat` and the bot do, asking every question of the dataset
on its own date twice (the first round warms up; the second is timed), with the stage breakdown
of `bench_query.py`.

    XDG_CACHE_HOME=CACHE .venv/bin/python bench/bench_news_scale.py NEWS --copies 2
    .venv/bin/python bench/bench_news_scale.py NEWS --copies 1     # the dataset's own size

NEWS: a dataset folder (corpus.jsonl, questions.jsonl), e.g. the news dev set of
../shared/data/realtimeqa_dev with corpus_full.jsonl as its corpus.jsonl (2,007 articles).
The first run builds the dataset's eval index with the real model if the cache lacks it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import benchlib
import numpy as np


class StoredVectors:
    """An embedder that answers `embed_passages` from known vectors (text -> row), and asks the
    real embedder only for texts it does not know. Everything else is the real embedder's."""

    def __init__(self, real, table: dict[str, np.ndarray]) -> None:
        self._real, self._table, self.misses = real, table, 0

    def __getattr__(self, name):
        return getattr(self._real, name)

    def embed_passages(self, texts, batch_size=32, **kwargs):
        unknown = [t for t in texts if t not in self._table]
        if unknown:
            self.misses += len(unknown)
            fresh = self._real.embed_passages(unknown, batch_size=batch_size, **kwargs)
            self._table.update(zip(unknown, fresh, strict=True))
        return np.stack([self._table[t] for t in texts]).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--copies", type=int, default=2, help="times each document is in the index")
    ap.add_argument("--keep", type=Path, help="build here and keep it (default: a temp folder)")
    args = ap.parse_args()

    benchlib.header(f"warm question latency, news x{args.copies}")
    from qabot.config import get_settings
    from qabot.evaluation import default_cache_dir, load_questions, prepare_index
    from qabot.service import QAService
    from qabot.stores.files.assemble import lexical_texts

    settings = get_settings()
    source = prepare_index(args.dataset, settings, cache_dir=default_cache_dir(), progress=True)
    data = source.service.loaded_index().data
    texts = lexical_texts(data.docs, data.chunks)  # what the build hands the model, row by row
    table = dict(zip(texts, np.asarray(data.vectors), strict=True))
    print(f"source index: {len(data.docs)} documents, {len(texts)} passages")

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="qabot-scale-"))
    seeds = workdir / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    docs = benchlib.read_jsonl(args.dataset / "corpus.jsonl")
    with (seeds / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for copy in range(args.copies):
            for doc in docs:
                suffix = f"~{copy}" if copy else ""
                f.write(json.dumps(doc | {"doc_id": f"{doc['doc_id']}{suffix}"}) + "\n")
    options = {"seeds_dir": seeds, "index_dir": workdir / "index", "score_threshold": None}
    local = settings.model_copy(update=options)
    stored = StoredVectors(source.service.embedder, table)
    start = time.perf_counter()
    report = QAService(local, embedder=stored).build(full=True)
    print(
        f"built {report.documents_total} documents, {report.chunks_total} passages in "
        f"{time.perf_counter() - start:.0f} s ({stored.misses} passages embedded, the rest "
        "from the source index)"
    )

    service = QAService(local)  # as `qabot chat` and the bot load it
    questions = [q for q in load_questions(args.dataset) if q.question.strip()]
    for q in questions:  # warm-up round: model, index, caches
        service.ask(q.question, as_of=q.date)
    timer = benchlib.query_stage_timer()
    times = []
    with timer.recording():
        for q in questions:
            t0 = time.perf_counter()
            service.ask(q.question, as_of=q.date)
            times.append(time.perf_counter() - t0)
    ms = [1000 * t for t in times]
    print(
        f"{len(questions)} questions on {report.chunks_total} passages: p50 "
        f"{benchlib.percentile(ms, 50):.1f} ms, p95 {benchlib.percentile(ms, 95):.1f} ms "
        f"({benchlib.load_avg()})"
    )
    benchlib.print_breakdown(timer, sum(times))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
