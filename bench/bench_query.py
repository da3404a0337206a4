"""Warm query latency per retrieval mode through `QAService.ask`, next to one raw query encode.

Answers questions through the real answering path (encode, retrieve, answer sentence) on an
index of about 10k chunks generated from the corpus with the real model (built once, cached in the
bench cache). For each mode (dense, lexical, hybrid) a fresh `QAService` loads the index and
its embedder as `qabot chat` and the bot do; then every question is timed twice, alternately: one
raw `embed_query` with the service's own embedder, and one `ask`. Prints p50/p95 of both, the
ratio of the p50s (issue 6 target: ask p50 <= 1.5x one raw query encode) and the mean time per
ask of each stage (`benchlib.query_stage_timer`: encode, dense search, BM25, fusion, the answer
sentence's scoring), so whatever dominates shows.

    .venv/bin/python bench/bench_query.py                      # xquad_en questions, 10k chunks
    .venv/bin/python bench/bench_query.py --chunks 2000 --questions 50
    .venv/bin/python bench/bench_query.py --profile ask.html   # pyinstrument, hybrid mode
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import benchlib


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=benchlib.DEFAULT_CORPUS)
    ap.add_argument("--chunks", type=int, default=10_000, help="index size (generated); 0 = as is")
    ap.add_argument("--embedder", default="minilm", help="what builds the index (minilm, hashing)")
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--modes", default="dense,lexical,hybrid")
    ap.add_argument(
        "--query-paths",
        default="auto,st",
        help="auto: the service's choice (its ONNX export when present); st: onnx_query=False",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--sentence-vectors",
        action="store_true",
        help="QABOT_SENTENCE_VECTORS=true: the answer sentence from vectors stored at build time",
    )
    ap.add_argument("--profile", type=Path, help="pyinstrument HTML profile of the hybrid asks")
    args = ap.parse_args()

    benchlib.header("warm query latency: QAService.ask per retrieval mode vs one raw query encode")
    overrides = {"sentence_vectors": True} if args.sentence_vectors else {}
    workdir = benchlib.cached_index(
        corpus=args.corpus,
        chunks=args.chunks or None,
        embedder_name=args.embedder,
        seed=args.seed,
        **overrides,
    )
    from qabot.config import Settings
    from qabot.service import QAService
    from qabot.stores.files.folders import VersionFolders

    manifest = VersionFolders(workdir / "index").read_manifest()
    questions = benchlib.read_questions(args.corpus, limit=args.questions + 5)
    warmup, questions = questions[:5], questions[5:]
    print(
        f"# index {workdir}: {manifest.chunks} chunks, {manifest.documents} documents, "
        f"{manifest.model_id}, ann {manifest.ann_kind}"
    )
    print(f"# {len(questions)} questions from {args.corpus}, each timed once per mode")
    print(
        f"\n{'mode/path':<12} {'encode p50':>10} {'p95':>6} {'ask p50':>8} {'p95':>7} {'ratio':>6} "
        f"{'found':>6}  {'load avg':<16} embedder"
    )
    details = []
    runs = [(m, p) for p in args.query_paths.split(",") for m in args.modes.split(",")]
    for mode, path in runs:
        extra = {"onnx_query": False} if path == "st" else {}
        if path == "st" and (
            "onnx_query" not in Settings.model_fields or args.embedder not in ("minilm", "st")
        ):
            continue  # one query path only: before the ONNX wiring, or without a model
        settings = benchlib.settings_for(
            workdir, embedder=args.embedder, retrieval_mode=mode, **extra, **overrides
        )
        service = QAService(settings)  # its own embedders, as `qabot chat` and the bot load them
        qemb = service.query_embedder
        for q in warmup:
            service.ask(q)
            qemb.embed_query(q)
        timer = benchlib.query_stage_timer()
        profiler = None
        if args.profile and mode == "hybrid" and path == runs[0][1]:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
        enc_ms, ask_ms, found = [], [], 0
        for q in questions:
            start = time.perf_counter()
            qemb.embed_query(q)
            enc_ms.append(1000 * (time.perf_counter() - start))
            if profiler:
                profiler.start()
            with timer.recording():
                start = time.perf_counter()
                answer = service.ask(q)
                ask_ms.append(1000 * (time.perf_counter() - start))
            if profiler:
                profiler.stop()
            found += answer.found
        if profiler:
            args.profile.write_text(profiler.output_html(), encoding="utf-8")
            print(f"# profile of the hybrid asks written to {args.profile}")
        e50, e95 = benchlib.percentile(enc_ms, 50), benchlib.percentile(enc_ms, 95)
        a50, a95 = benchlib.percentile(ask_ms, 50), benchlib.percentile(ask_ms, 95)
        print(
            f"{mode + '/' + path:<12} {e50:10.1f} {e95:6.1f} {a50:8.1f} {a95:7.1f} {a50 / e50:6.2f} "
            f"{found:>3}/{len(questions):<3} {benchlib.load_avg()[5:]:<16} "
            f"{type(qemb).__name__}",
            flush=True,
        )
        details.append((f"{mode} ({type(qemb).__name__})", timer, sum(ask_ms) / 1000))
    print(
        "\nms per ask, by stage (mean over the questions; nested lines are parts of the line above)"
    )
    for mode, timer, total in details:
        n = len(questions)
        print(f"{mode}: mean ask {1000 * total / n:.1f} ms")
        for stage in timer.order:
            if stage in timer.seconds:
                sec = timer.seconds[stage]
                print(
                    f"  {stage:<30} {1000 * sec / n:7.2f} ms {100 * sec / total:5.1f} %"
                    f"  ({timer.calls[stage] / n:.2f} calls/ask)"
                )
    print("# target: ask p50 <= 1.5x encode p50 at 10k chunks")


if __name__ == "__main__":
    main()
