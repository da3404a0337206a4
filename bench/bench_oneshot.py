"""One-shot `qabot ask` wall time on a built index: process start to answer printed.

Copies a built index (10k generated chunks by default, cached: `benchlib.CACHE`), runs
`qabot index build` on the copy as a user would (so whatever the CLI build adds - an ONNX export
of the query model - is there), then times `qabot ask "<question>"` in fresh processes: until the
answer's first line reaches stdout, and until the process exits. Median of `--runs` runs, each a
different question. Then the same with every ONNX export (a folder holding qabot_onnx.json)
removed from the copy, which is the sentence-transformers query path. Issue 6 target: <= 2 s.

    .venv/bin/python bench/bench_oneshot.py
    .venv/bin/python bench/bench_oneshot.py --chunks 0 --runs 7        # the corpus as it is
    .venv/bin/python bench/bench_oneshot.py --index-dir ~/qa/index --seeds-dir ~/qa/seeds

Processes run in an empty temporary folder with no QABOT_ variables, so no .env is read.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

QABOT = [sys.executable, "-m", "qabot"]
EXTRA_ENV: dict[str, str] = {}  # QABOT_EMBEDDER for an index not built with the default model


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QABOT_")}
    env["PYTHONPATH"] = str(benchlib.ROOT)
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env | EXTRA_ENV


def timed(cmd: list[str], *, cwd: Path) -> tuple[float, float, str, str]:
    """(seconds to the first stdout line, seconds to exit, stdout, stderr)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    first_line = proc.stdout.readline()
    first = time.perf_counter() - start
    rest, err = proc.communicate()
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return first, total, first_line + rest, err


def exports(folder: Path) -> list[Path]:
    return sorted({p.parent for p in folder.rglob("qabot_onnx.json")})


def run_asks(label: str, workdir: Path, questions: list[str], cwd: Path) -> tuple:
    firsts, totals = [], []
    for i, q in enumerate(questions):
        first, total, out, _ = timed(
            [
                *QABOT,
                "--seeds",
                str(workdir / "seeds"),
                "--index",
                str(workdir / "index"),
                "ask",
                q,
            ],
            cwd=cwd,
        )
        firsts.append(first)
        totals.append(total)
        print(
            f"  {label} run {i + 1}: answer printed {first:.2f} s, exit {total:.2f} s "
            f"({benchlib.load_avg()})  {out.splitlines()[0][:60]!r}",
            flush=True,
        )
    return statistics.median(firsts), statistics.median(totals), min(totals), max(totals)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=benchlib.DEFAULT_CORPUS)
    ap.add_argument("--chunks", type=int, default=10_000, help="generated index size; 0 = as is")
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seeds-dir", type=Path, help="use this seeds folder and ...")
    ap.add_argument("--index-dir", type=Path, help="... this built index (copied, not changed)")
    ap.add_argument("--no-build", action="store_true", help="skip `qabot index build` on the copy")
    args = ap.parse_args()

    benchlib.header("one-shot `qabot ask`: process start to answer printed")
    if args.embedder not in ("minilm", "st"):
        EXTRA_ENV["QABOT_EMBEDDER"] = args.embedder
    tmp = tempfile.TemporaryDirectory(prefix="bench-oneshot-")
    root = Path(tmp.name)
    cwd = root / "cwd"
    cwd.mkdir()
    workdir = root / "w"
    if args.index_dir:
        workdir.mkdir()
        shutil.copytree(args.seeds_dir, workdir / "seeds")
        shutil.copytree(args.index_dir, workdir / "index")
    else:
        base = benchlib.cached_index(
            corpus=args.corpus, chunks=args.chunks or None, embedder_name=args.embedder
        )
        benchlib.copy_workdir(base, workdir)
    questions = benchlib.read_questions(args.corpus, limit=200)[100 : 100 + args.runs]

    startup = statistics.median(
        timed([sys.executable, "-c", "print(1)"], cwd=cwd)[1] for _ in range(3)
    )
    helps = statistics.median(timed([*QABOT, "--help"], cwd=cwd)[1] for _ in range(3))
    print(f"# python startup {startup:.2f} s; `qabot --help` {helps:.2f} s")
    if not args.no_build:
        _, total, _, err = timed(
            [
                *QABOT,
                "--seeds",
                str(workdir / "seeds"),
                "--index",
                str(workdir / "index"),
                "index",
                "build",
            ],
            cwd=cwd,
        )
        print(f"# `qabot index build` on the copy: {total:.1f} s: {err.strip().splitlines()[-1:]}")
    found = exports(workdir)
    print(f"# ONNX exports in the copy: {[str(p.relative_to(workdir)) for p in found] or 'none'}")

    results = []
    label = "with ONNX export" if found else "as built (no export)"
    results.append((label, run_asks(label, workdir, questions, cwd), benchlib.load_avg()))
    if found:
        for p in found:
            shutil.rmtree(p)
        label = "without ONNX export"
        results.append((label, run_asks(label, workdir, questions, cwd), benchlib.load_avg()))

    print(
        f"\n{'variant':<22} {'answer p50 s':>12} {'exit p50 s':>10} {'min':>6} {'max':>6}  load avg"
    )
    for label, (first, total, lo, hi), load in results:
        print(f"{label:<22} {first:12.2f} {total:10.2f} {lo:6.2f} {hi:6.2f}  {load[5:]}")
    print("# target: <= 2 s from process start to answer printed")
    tmp.cleanup()


if __name__ == "__main__":
    main()
