"""Peak memory (RSS) and index size on disk, per 10k chunks.

For each index (generated from the corpus, cached: `benchlib.CACHE`) it prints:
- the size on disk of the live version folder, file by file, and per 10k chunks;
- a query process (fresh interpreter): RSS with the embedder loaded but no index, then peak RSS
  after loading the index and answering one question; the difference per 10k chunks is what the
  index costs in memory;
- a build process (fresh interpreter, `--build` sizes only): peak RSS of a full build of the same
  seeds into an empty index.

    .venv/bin/python bench/bench_memory.py
    .venv/bin/python bench/bench_memory.py --sizes 10000:hashing,100000:hashing --build 100000:hashing

Peak RSS is `ru_maxrss` of the child process (Linux: KiB), so it includes the model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import benchlib

QUERY_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {bench!r})
import benchlib
from qabot.service import QAService
# Import what loading an index imports (faiss, bm25s, stop words) before the baseline, so the
# difference is the index itself.
import faiss, qabot.search.lexical
qabot.search.lexical._stopwords()

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

s = benchlib.settings_for(benchlib.Path({workdir!r}), embedder={name!r})
svc = QAService(s)
# What asks embed with: the ONNX export when the index has one (not the build model).
qemb = getattr(svc, "query_embedder", None) or svc.embedder
qemb.embed_query("load the model first")
base_rss, base_peak = rss(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
svc.ask("What is the capital of the country?")
ask_s = time.perf_counter() - t
print(json.dumps({{"base_rss": base_rss, "base_peak": base_peak, "rss": rss(),
    "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "first_ask_s": ask_s,
    "embedder": type(qemb).__name__}}))
"""

BUILD_CHILD = r"""
import json, resource, shutil, sys, time
sys.path.insert(0, {bench!r})
import benchlib
from qabot.service import QAService
# Import what loading an index imports (faiss, bm25s, stop words) before the baseline, so the
# difference is the index itself.
import faiss, qabot.search.lexical
qabot.search.lexical._stopwords()

work = benchlib.Path({tmp!r})
shutil.copytree(benchlib.Path({workdir!r}) / "seeds", work / "seeds")
svc = QAService(benchlib.settings_for(work, embedder={name!r}))
svc.embedder.embed_passages(["load the model first"])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
report = svc.build(full=True)
print(json.dumps({{"before": before, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "chunks": report.chunks_total, "seconds": time.perf_counter() - t}}))
"""


def child(code: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QABOT_")}
    env["PYTHONPATH"] = str(benchlib.ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def disk_usage(index_dir: Path) -> tuple[int, dict[str, int]]:
    version = (index_dir / "CURRENT").read_text().strip()
    folder = index_dir / version
    parts: dict[str, int] = {}
    for p in folder.rglob("*"):
        if p.is_file():
            top = p.relative_to(folder).parts[0]
            parts[top] = parts.get(top, 0) + p.stat().st_size
    # Anything beside the versions (an ONNX export kept with the index, say) counts as well.
    for p in index_dir.iterdir():
        if p.name.startswith("v-") or p.name.startswith(".") or p.name == "CURRENT":
            continue
        size = (
            sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            if p.is_dir()
            else p.stat().st_size
        )
        parts[f"(index/) {p.name}"] = size
    return sum(parts.values()), parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=benchlib.DEFAULT_CORPUS)
    ap.add_argument("--sizes", default="10000:minilm,10000:hashing,100000:hashing")
    ap.add_argument("--build", default="1000:minilm,10000:hashing,100000:hashing")
    args = ap.parse_args()

    benchlib.header("peak memory and index size on disk")
    bench_dir = str(Path(__file__).resolve().parent)
    specs = list(dict.fromkeys(args.sizes.split(",") + [s for s in args.build.split(",") if s]))
    rows = []
    for spec in specs:
        size_s, name = spec.split(":")
        workdir = benchlib.cached_index(corpus=args.corpus, chunks=int(size_s), embedder_name=name)
        manifest = json.loads(
            (
                workdir
                / "index"
                / (workdir / "index" / "CURRENT").read_text().strip()
                / "manifest.json"
            ).read_text()
        )
        n = manifest["chunks"]
        per10k = 10_000 / n
        total, parts = disk_usage(workdir / "index")
        print(f"\n{n} chunks ({name}, {manifest['model_id']}):")
        print(
            f"  on disk {total / 2**20:.1f} MiB = {total * per10k / 2**20:.2f} MiB per 10k chunks"
        )
        for part, size in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"    {part:<28} {size / 2**20:8.2f} MiB  {size * per10k / 2**20:7.2f} MiB/10k")
        # Files beside the versions (the ONNX export) are per model, not per chunk.
        fixed = sum(v for k, v in parts.items() if k.startswith("(index/)"))
        per_chunk = total - fixed
        print(
            f"  per chunk: {per_chunk * per10k / 2**20:.2f} MiB per 10k chunks, "
            f"plus {fixed / 2**20:.1f} MiB once per model"
        )
        row = {"n": n, "name": name, "disk_per10k": per_chunk * per10k / 2**20, "fixed": fixed}
        if spec in args.sizes.split(","):
            q = child(QUERY_CHILD.format(bench=bench_dir, workdir=str(workdir), name=name))
            extra = q["peak"] - q["base_peak"]
            print(
                f"  query process ({q['embedder']}): {q['base_rss']:.0f} MiB with the model, "
                f"peak {q['peak']:.0f} MiB after loading the index and one ask "
                f"(+{extra:.0f} MiB = {extra * per10k:.1f} MiB per 10k chunks; now {q['rss']:.0f} MiB)"
            )
            row |= {
                "query_base": q["base_rss"],
                "query_peak": q["peak"],
                "query_per10k": extra * per10k,
            }
        if spec in args.build.split(","):
            with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
                b = child(
                    BUILD_CHILD.format(
                        bench=bench_dir, workdir=str(workdir), name=name, tmp=str(Path(tmp) / "w")
                    )
                )
            extra = b["peak"] - b["before"]
            print(
                f"  build process: {b['before']:.0f} MiB with the model, peak {b['peak']:.0f} MiB "
                f"during a full build of {b['chunks']} chunks in {b['seconds']:.0f} s "
                f"(+{extra:.0f} MiB = {extra * 10_000 / b['chunks']:.1f} MiB per 10k chunks)"
            )
            row |= {"build_peak": b["peak"], "build_per10k": extra * 10_000 / b["chunks"]}
        row["load"] = benchlib.load_avg()
        rows.append(row)
        print(f"  ({row['load']})", flush=True)

    print(
        f"\n{'chunks':>7} {'embedder':<8} {'disk MiB/10k':>12} {'+fixed MiB':>10} {'query base':>10} {'query peak':>10} "
        f"{'+MiB/10k':>8} {'build peak':>10} {'+MiB/10k':>8}"
    )
    for r in rows:

        def f(key: str, fmt: str = "10.0f", r: dict = r) -> str:
            return format(r[key], fmt) if key in r else " " * int(fmt.split(".")[0])

        print(
            f"{r['n']:7d} {r['name']:<8} {r['disk_per10k']:12.2f} {r['fixed'] / 2**20:10.1f} {f('query_base')} "
            f"{f('query_peak')} {f('query_per10k', '8.1f')} {f('build_peak')} {f('build_per10k', '8.1f')}"
        )


if __name__ == "__main__":
    main()
