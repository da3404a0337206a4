"""Passage embedding in fp32 against bf16 (QABOT_EMBED_PRECISION), on the same texts.

Usage (from the repository root)::

    .venv/bin/python bench/bench_precision.py ../shared/data/xquad_en --repeats 3

Embeds every paragraph of ``corpus.jsonl`` (title + text, longest first, as a build does) with
the packaged all-MiniLM-L6-v2 in three ways, alternated run by run so a shared machine's load
falls on all alike: fp32 and bf16 as QABOT_EMBED_PRECISION gives them (bf16: a copy of the model
cast to bf16) and the alternative, the fp32 model under torch.autocast to bf16. Prints passages/s per run and the median per mode, batch size and
OMP_NUM_THREADS (unset and 2; each in its own process, since OpenMP reads it once), then the
cosine of each bf16 passage vector to its fp32 one (min and mean). Model load excluded. Passages
per CPU second of the process are printed beside passages per wall second: on a shared machine
the wall figures swing with the load, the CPU figures much less.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MODES = ("fp32", "bf16", "bf16-autocast")


def read_texts(corpus: Path) -> list[str]:
    texts = []
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                doc = json.loads(line)
                texts.append(f"{doc['title']}\n{doc['text']}")
    return sorted(texts, key=len, reverse=True)  # as qabot/indexing/pipeline.py embed_texts


def make(mode: str):
    import contextlib

    import torch

    from qabot.embedders.st import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder(
        "all-MiniLM-L6-v2", precision="bf16" if mode == "bf16" else "fp32"
    )
    autocast = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if mode == "bf16-autocast"
        else contextlib.nullcontext()
    )
    return emb, autocast


def child(texts: list[str], *, batches: list[int], repeats: int) -> dict:
    """One process, one OMP_NUM_THREADS: every mode and batch size, alternated."""
    embedders = {mode: make(mode) for mode in MODES}
    for emb, autocast in embedders.values():
        with autocast:
            emb.embed_passages(texts[:64], batch_size=32)  # load, warm up (oneDNN kernels)
    speed: dict[str, list[float]] = {}  # passages per wall second
    per_cpu: dict[str, list[float]] = {}  # per CPU second of this process: steadier when shared
    vectors: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        for batch in batches:
            for mode, (emb, autocast) in embedders.items():
                cpu0, t0 = time.process_time(), time.perf_counter()
                with autocast:
                    out = emb.embed_passages(texts, batch_size=batch)
                wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                speed.setdefault(f"{mode} b{batch}", []).append(len(texts) / wall)
                per_cpu.setdefault(f"{mode} b{batch}", []).append(len(texts) / cpu)
                vectors.setdefault(mode, out)
    cosines = {}
    for mode in MODES[1:]:
        # Both are L2-normalised float32: the row-wise dot product is the cosine.
        c = np.sum(vectors[mode].astype(np.float64) * vectors["fp32"], axis=1)
        cosines[mode] = {
            "min": float(c.min()),
            "mean": float(c.mean()),
            "dtype": str(vectors[mode].dtype),
        }
    return {"speed": speed, "per_cpu": per_cpu, "cosines": cosines, "load_avg": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dataset", type=Path, help="folder with corpus.jsonl")
    ap.add_argument("--repeats", type=int, default=3, help="runs per mode and batch (default 3)")
    ap.add_argument(
        "--batches", default="32,128", help="batch sizes (QABOT_BATCH_SIZE default: 32)"
    )
    ap.add_argument("--threads", default="unset,2", help="OMP_NUM_THREADS values, 'unset' = none")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    texts = read_texts(args.dataset / "corpus.jsonl")
    batches = [int(b) for b in args.batches.split(",")]
    if args.child:
        print(json.dumps(child(texts, batches=batches, repeats=args.repeats)))
        return

    from qabot.embedders.precision import cpu_flags, native_bf16

    flags = sorted((cpu_flags() or frozenset()) & {"avx512_bf16", "amx_bf16", "amx_int8"})
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')} load avg {os.getloadavg()[0]:.1f}; "
        f"{args.dataset.name}: {len(texts)} passages; {os.cpu_count()} CPUs; native bf16: "
        f"{native_bf16()} ({' '.join(flags) or 'no flags'}); {args.repeats} runs each"
    )
    print(
        f"{'OMP threads':<12} {'batch':>5} {'mode':<13} {'median p/s':>10} {'x fp32':>6} "
        f"{'p/cpu-s':>8} {'x fp32':>6}  runs (p/s)"
    )
    for threads in args.threads.split(","):
        env = dict(os.environ)
        env.pop("OMP_NUM_THREADS", None)
        if threads != "unset":
            env["OMP_NUM_THREADS"] = threads
        cmd = [sys.executable, __file__, str(args.dataset), "--child"]
        cmd += ["--repeats", str(args.repeats), "--batches", args.batches]
        got = json.loads(
            subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        )
        for batch in batches:
            base = statistics.median(got["speed"][f"fp32 b{batch}"])
            base_cpu = statistics.median(got["per_cpu"][f"fp32 b{batch}"])
            for mode in MODES:
                runs = got["speed"][f"{mode} b{batch}"]
                med = statistics.median(runs)
                cpu = statistics.median(got["per_cpu"][f"{mode} b{batch}"])
                print(
                    f"{threads:<12} {batch:>5} {mode:<13} {med:10.1f} {med / base:6.2f} "
                    f"{cpu:8.1f} {cpu / base_cpu:6.2f}  " + " ".join(f"{r:.1f}" for r in runs),
                    flush=True,
                )
        for mode, c in got["cosines"].items():
            print(
                f"{threads:<12} cosine {mode} vs fp32: min {c['min']:.6f} mean {c['mean']:.6f} "
                f"({c['dtype']}); load avg {got['load_avg']:.1f}"
            )


if __name__ == "__main__":
    main()
