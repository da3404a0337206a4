"""Query encoding: sentence-transformers against its ONNX export, in one run.

Prints process-level import time (fresh interpreters), model load time, per-query encode latency
p50/p95 over ~100 English questions, the export time and the ONNX file size, and the cold
one-shot cost (new process: import + load + one query) that bounds `qabot ask`.

    .venv/bin/python bench/bench_query_encode.py
    .venv/bin/python bench/bench_query_encode.py --model all-MiniLM-L6-v2 --threads 1 2 --repeats 5

Numbers from a shared machine are noisy: compare the two columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SUBJECTS = [
    "my passport",
    "the office VPN",
    "a refund for an annual plan",
    "the apartment lease",
    "two-factor authentication",
    "the quarterly tax return",
    "a broken laptop under warranty",
    "the team's holiday calendar",
    "the database backup",
    "a parking permit",
]
TEMPLATES = [
    "How do I renew {}?",
    "Who is responsible for {}?",
    "What documents do I need for {}?",
    "When is the deadline for {}?",
    "How much does {} cost?",
    "Where can I find the instructions for {}?",
    "What happens if I forget about {}?",
    "Can someone else handle {} for me?",
    "Is there a faster way to deal with {}?",
    "What changed recently about {}?",
]
QUESTIONS = [t.format(s) for t in TEMPLATES for s in SUBJECTS]  # 100 questions


def fresh_process(code: str, repeats: int) -> float:
    """Median wall seconds of `python -c code` in a new interpreter (startup included)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def latencies(encode, questions: list[str]) -> tuple[float, float]:
    encode(questions[0])  # first call allocates buffers; a warm path is what p50/p95 describe
    ms = []
    for q in questions:
        start = time.perf_counter()
        encode(q)
        ms.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="sentence-transformers model")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="onnxruntime threads"
    )
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per import figure")
    parser.add_argument("--queries", type=int, default=len(QUESTIONS))
    parser.add_argument("--out", type=Path, help="export folder (default: a temporary one)")
    args = parser.parse_args()
    questions = (QUESTIONS * (args.queries // len(QUESTIONS) + 1))[: args.queries]
    tmp = tempfile.TemporaryDirectory(prefix="bench-onnx-")
    out = args.out or Path(tmp.name) / "onnx"
    rows: list[tuple[str, str, str]] = []

    def row(what: str, st: str, onnx: str) -> None:
        rows.append((what, st, onnx))
        print(f"  {what:<34} {st:>18} {onnx:>18}", flush=True)

    print(f"{'':<36} {'sentence-transformers':>18} {'onnx':>18}")
    base = fresh_process("pass", args.repeats)
    row("python startup (s)", f"{base:.2f}", f"{base:.2f}")
    imp_st = fresh_process("import sentence_transformers", args.repeats)
    imp_ox = fresh_process(
        "import qabot.embedders.onnx, onnxruntime, tokenizers, numpy", args.repeats
    )
    row("process import, incl. startup (s)", f"{imp_st:.2f}", f"{imp_ox:.2f}")

    start = time.perf_counter()
    import torch
    from sentence_transformers import SentenceTransformer

    from qabot.embedders.onnx import OnnxQueryEmbedder
    from qabot.embedders.onnx_export import export_onnx
    from qabot.embedders.st import resolve_model

    print(f"  (in-process import of sentence_transformers: {time.perf_counter() - start:.2f} s)")
    start = time.perf_counter()
    export_onnx(args.model, out)
    export_s = time.perf_counter() - start
    size_mb = (out / "model.onnx").stat().st_size / 1e6

    start = time.perf_counter()
    st = SentenceTransformer(resolve_model(args.model)[0], device="cpu")
    st_load = time.perf_counter() - start
    start = time.perf_counter()
    OnnxQueryEmbedder(out, model_id="bench")
    ox_load = time.perf_counter() - start
    row("model load (s)", f"{st_load:.2f}", f"{ox_load:.2f}")

    def st_encode(q: str) -> np.ndarray:
        return st.encode([q], normalize_embeddings=True, convert_to_numpy=True)[0]

    # `qabot ask` also embeds the best chunk's sentences (answering.score_sentences) in one batch.
    sentences = [f"{q} The answer is in the handbook, chapter {i}." for i, q in enumerate(SUBJECTS)]

    def st_batch(_: str) -> np.ndarray:
        return st.encode(sentences, batch_size=len(sentences), normalize_embeddings=True)

    # Both sides on the same thread count (torch's default is all cores, like ours with 2).
    default_threads = torch.get_num_threads()
    for threads in args.threads:
        torch.set_num_threads(threads)
        onnx = OnnxQueryEmbedder(out, model_id="bench", threads=threads)
        st_p50, st_p95 = latencies(st_encode, questions)
        p50, p95 = latencies(onnx.embed_query, questions)
        label = f"query encode p50/p95 (ms), {threads} thr"
        row(label, f"{st_p50:.1f} / {st_p95:.1f}", f"{p50:.1f} / {p95:.1f}")
        st_p50, st_p95 = latencies(st_batch, questions[:30])
        p50, p95 = latencies(
            lambda _, o=onnx: o.embed_passages(sentences, batch_size=len(sentences)),
            questions[:30],
        )
        label = f"10-sentence batch p50/p95 (ms), {threads} thr"
        row(label, f"{st_p50:.1f} / {st_p95:.1f}", f"{p50:.1f} / {p95:.1f}")
    torch.set_num_threads(default_threads)

    onnx = OnnxQueryEmbedder(out, model_id="bench")
    got = np.vstack([onnx.embed_query(q) for q in questions])
    ref = st.encode(questions, normalize_embeddings=True, convert_to_numpy=True)
    diff = float(np.abs(got - ref).max())
    cos = float(np.min(np.sum(got * ref, axis=1)))
    row("max |diff| / min cosine", "-", f"{diff:.1e} / {cos:.7f}")

    # What a one-shot `qabot ask` pays before it can search: new process, import, load, one query.
    load_from = resolve_model(args.model)[0]
    cold_st = fresh_process(
        "from sentence_transformers import SentenceTransformer as S\n"
        f"S({load_from!r}, device='cpu').encode(['how do I renew my passport?'])",
        args.repeats,
    )
    cold_ox = fresh_process(
        "from qabot.embedders.onnx import OnnxQueryEmbedder as O\n"
        f"O({str(out)!r}, model_id='m').embed_query('how do I renew my passport?')",
        args.repeats,
    )
    row("cold one-shot: start+load+1 query (s)", f"{cold_st:.2f}", f"{cold_ox:.2f}")
    row("export time (s) / model.onnx (MB)", "-", f"{export_s:.1f} / {size_mb:.1f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
