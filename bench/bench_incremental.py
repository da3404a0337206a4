"""Incremental update: adding one document to an index of 1k, 10k and 100k chunks.

For each size a built index (generated from the corpus, cached: `benchlib.CACHE`) is copied
to a temporary folder and loaded by a `QAService`, as in a running bot; then one new document
(a .txt file of ~2-3 chunks) is written into seeds/ and `service.build()` is timed, stage by
stage, `--adds` times with a different document each time. Prints the median total, the part
spent encoding the new chunks, and the rest, which is what grows with the index (issue 6
target: <= 1 s plus the document's own encoding at 100k chunks).

The real model at 1k and 10k; the hashing embedder (no model) at 100k, where only the cost that
is not encoding matters and building a 100k-chunk base with the real model would take an hour.

    .venv/bin/python bench/bench_incremental.py
    .venv/bin/python bench/bench_incremental.py --sizes 1000:minilm,10000:hashing --adds 5
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import benchlib


def new_document(pool: list[tuple[str, str]], i: int) -> str:
    doc = benchlib._make_doc(random.Random(10_000 + i), pool, 90_000 + i)
    return f"{doc['title']}\n\n{doc['text']}\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=benchlib.DEFAULT_CORPUS)
    ap.add_argument(
        "--sizes",
        default="1000:minilm,10000:minilm,100000:hashing",
        help="comma-separated chunks:embedder",
    )
    ap.add_argument("--adds", type=int, default=3, help="documents added one by one per size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--vector-index", help="QABOT_VECTOR_INDEX for the adds (auto, flat, ivf, hnsw)"
    )
    args = ap.parse_args()

    benchlib.header("incremental update: one document added to an index of N chunks")
    from qabot.service import QAService

    pool = benchlib._sentence_pool(benchlib.read_corpus(args.corpus))
    embedders: dict[str, object] = {}
    rows = []
    for spec in args.sizes.split(","):
        size_s, name = spec.split(":")
        if name not in embedders:
            embedders[name] = benchlib.make_embedder(name)
        emb = embedders[name]
        base = benchlib.cached_index(
            corpus=args.corpus, chunks=int(size_s), embedder_name=name, embedder=emb, seed=args.seed
        )
        with tempfile.TemporaryDirectory(prefix="bench-incr-") as tmp:
            workdir = benchlib.copy_workdir(base, Path(tmp) / "w")
            extra = {"vector_index": args.vector_index} if args.vector_index else {}
            settings = benchlib.settings_for(workdir, embedder=name, **extra)
            service = QAService(settings, embedder=emb)
            service.ask("warm up: load the index like a running bot")
            n_before = int(service.status().chunks)
            runs = []
            for i in range(args.adds):
                (workdir / "seeds" / f"added-{i}.txt").write_text(
                    new_document(pool, i), encoding="utf-8"
                )
                timer = benchlib.build_stage_timer()
                with timer.recording():
                    cpu0, start = time.process_time(), time.perf_counter()
                    report = service.build()
                    total = time.perf_counter() - start
                    cpu = time.process_time() - cpu0
                assert report.added == [f"added-{i}.txt"], report
                enc = timer.seconds.get("embedding (encode)", 0.0)
                runs.append((total, enc, report.chunks_embedded, timer, cpu))
                # CPU seconds of this process too: on a shared machine they vary less than wall.
                print(
                    f"  {name} {n_before} chunks, add #{i + 1}: {total:.3f} s total, "
                    f"{enc:.3f} s encoding {report.chunks_embedded} chunks, "
                    f"{total - enc:.3f} s the rest, {cpu:.3f} cpu s ({benchlib.load_avg()})",
                    flush=True,
                )
        runs.sort(key=lambda r: r[0] - r[1])
        median = runs[len(runs) // 2]
        rows.append(
            (
                n_before,
                name,
                statistics.median(r[2] for r in runs),
                statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs),
                statistics.median(r[0] - r[1] for r in runs),
                statistics.median(r[4] for r in runs),
                median,
                benchlib.load_avg(),
            )
        )

    print(
        f"\n{'index chunks':>12} {'embedder':<9} {'doc chunks':>10} {'total s':>8} "
        f"{'encode s':>8} {'rest s':>7} {'cpu s':>6}  load avg   (medians of {args.adds} adds)"
    )
    for n, name, dchunks, total, enc, rest, cpu, _, load in rows:
        print(
            f"{n:12d} {name:<9} {dchunks:10.0f} {total:8.3f} {enc:8.3f} {rest:7.3f} {cpu:6.3f}"
            f"  {load[5:]}"
        )
    print("# target: rest <= 1 s at 100k chunks (and not growing with the index)")
    print("\nwhere the rest goes (the add with the median rest):")
    for n, name, *_, (total, _enc, _c, timer, _cpu), _load in rows:
        print(f"{n} chunks, {name}: {total:.3f} s")
        benchlib.print_breakdown(timer, total, indent="    ")


if __name__ == "__main__":
    main()
