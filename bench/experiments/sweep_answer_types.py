"""The answer sentence and the question's wording: a number asked for, a thing called "the
<noun>", a sentence leaning on its predecessor (issue 10; bench/RESULTS-quality.md 7.9).

Usage: .venv/bin/python bench/experiments/sweep_answer_types.py DATASET [DATASET ...]
(XDG_CACHE_HOME as for `qabot eval`.) For each variant of `AnswerParams.quantity_penalty`,
`extend_on_context` and `extend_on_reference` (qabot/answer/params.py) prints document hit@1, the answer in the first
passage and in the shown sentence(s), how many answers show two sentences and the shown words
(mean), and the questions won and lost against the first variant (all rules off).

Ran on the code of ee90347 (news and xquad_en, --few); backs bench/RESULTS-quality.md 7.9.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from qabot.answer.params import DEFAULT_ANSWER
from qabot.config import get_settings
from qabot.evaluation import (
    ask_one,
    contains_answer,
    default_cache_dir,
    load_questions,
    prepare_index,
)
from qabot.ingest.chunking import split_sentences

# (quantity penalty, extend on context, extend on "the <noun>")
VARIANTS = (
    (0.0, False, False),
    (0.05, False, False),
    (0.1, False, False),
    (0.2, False, False),
    (0.0, True, False),
    (0.0, False, True),
    (0.0, True, True),
    (0.1, True, True),
)


def run(index, questions, params) -> list[tuple[bool, bool, bool, int, bool]]:
    rows = []
    for q in questions:
        o = ask_one(index.service, q.question, k=3, as_of=q.date, answer_params=params)
        # The sentence or sentences shown.
        two = len(split_sentences(o.sentence)) > 1
        rows.append(
            (
                bool(o.docs) and o.docs[0] in set(q.doc_ids),
                contains_answer(o.passage, q.answers),
                contains_answer(o.sentence, q.answers),
                len(o.sentence.split()),
                two,
            )
        )
    return rows


def main() -> None:
    global VARIANTS
    if "--few" in sys.argv:  # the rules one by one and together (xquad_en's 1190 questions)
        sys.argv.remove("--few")
        VARIANTS = tuple(VARIANTS[i] for i in (0, 2, 4, 5, 7))
    settings = get_settings()
    for dataset in map(Path, sys.argv[1:]):
        index = prepare_index(dataset, settings, cache_dir=default_cache_dir())
        questions = load_questions(dataset)
        base = None
        for penalty, on_context, on_reference in VARIANTS:
            params = replace(
                DEFAULT_ANSWER,
                quantity_penalty=penalty,
                extend_on_context=on_context,
                extend_on_reference=on_reference,
            )
            rows = run(index, questions, params)
            base = base or rows
            n = len(rows)
            won = sum(r[2] and not b[2] for r, b in zip(rows, base, strict=True))
            lost = sum(b[2] and not r[2] for r, b in zip(rows, base, strict=True))
            print(
                f"{dataset.name:12s} quantity {penalty:.2f} context {on_context:d} "
                f"reference {on_reference:d}: hit@1 {sum(r[0] for r in rows) / n:.3f} "
                f"passage {sum(r[1] for r in rows) / n:.3f} "
                f"sentence {sum(r[2] for r in rows) / n:.3f} (+{won} -{lost}) "
                f"two sentences {sum(r[4] for r in rows) / n:.3f} "
                f"words {sum(r[3] for r in rows) / n:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
