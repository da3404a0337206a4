"""The answer sentence among the first M passages, at several rank penalties, through
`qabot eval`'s own evaluation (issue 10; bench/RESULTS-quality.md 7.8, run at 15b6ae8).

Usage: .venv/bin/python bench/experiments/sweep_answer_passages.py DATASET [DATASET ...]
(XDG_CACHE_HOME as for `qabot eval`.) Prints document hit@1/10 and the answer in the first
passage and sentence per (M, penalty), the questions asked on their own dates when they have one.

Ran at 15b6ae8 (committed in 80103a4); backs bench/RESULTS-quality.md section 7.8 (the
answer-passage penalties re-measured with recency).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from qabot.answer.params import DEFAULT_ANSWER
from qabot.config import get_settings
from qabot.evaluation import default_cache_dir, evaluate, load_questions, prepare_index

VARIANTS = ((1, 0.0), (2, 0.03), (3, 0.03), (3, 0.06), (3, 0.1), (2, 0.06))


def main() -> None:
    settings = get_settings()
    for dataset in map(Path, sys.argv[1:]):
        index = prepare_index(dataset, settings, cache_dir=default_cache_dir())
        questions = load_questions(dataset)
        for passages, penalty in VARIANTS:
            params = replace(DEFAULT_ANSWER, answer_passages=passages, rank_penalty=penalty)
            r = evaluate(index, questions, k=3, threshold=0.0, answer_params=params)
            print(
                f"{dataset.name:10s} M{passages} penalty {penalty:.2f} hit@1 {r['hit@1']:.3f} "
                f"@10 {r['hit@10']:.3f} passage {r['answer_in_first_passage']:.3f} "
                f"sentence {r['answer_in_first_sentence']:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
