#!/usr/bin/env bash
# The speed suite of issue 6 at a modest size (~30-40 min on 2 busy cores, most of it building
# the cached 1k/10k-chunk indexes with the real model the first time; later runs reuse them from
# the bench cache). One benchmark at a time: they would otherwise time each other.
#
#   bench/run_all.sh                 # from the repository root
#   bench/run_all.sh > bench.log 2>&1
#   QUICK=1 bench/run_all.sh         # hashing embedder and small sizes only (~2 min, smoke test)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
CORPUS=${CORPUS:-../shared/data/xquad_en}

echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(uptime)"
echo "== git $(git log -1 --format='%h %s')"
if [[ -n "${QUICK:-}" ]]; then
  $PY bench/bench_index.py "$CORPUS" --embedder hashing --chunks 3000
  $PY bench/bench_query.py "$CORPUS" --embedder hashing --chunks 3000 --questions 50
  $PY bench/bench_incremental.py "$CORPUS" --sizes 1000:hashing,10000:hashing --adds 2
  $PY bench/bench_memory.py "$CORPUS" --sizes 10000:hashing --build 10000:hashing
  exit 0
fi
$PY bench/bench_index.py "$CORPUS"                                   # xquad_en as it is, MiniLM
$PY bench/bench_query.py "$CORPUS" --chunks 10000 --questions 100    # MiniLM, 10k chunks
$PY bench/bench_incremental.py "$CORPUS" --sizes 1000:minilm,10000:minilm,100000:hashing
$PY bench/bench_oneshot.py "$CORPUS" --chunks 10000 --runs 5
$PY bench/bench_memory.py "$CORPUS"
# Built by others, part of the same suite (see bench/README.md):
$PY bench/bench_query_encode.py --repeats 3
$PY bench/bench_ann.py --sizes 100000
echo "== done $(date -u '+%H:%M:%S UTC')  $(uptime)"
