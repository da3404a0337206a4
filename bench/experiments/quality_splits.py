"""Split a dataset by article into halves A and B, for calibrating "not found".

Questions of half B are about articles the corpus of half A does not hold: same language, same
style, same kind of text, yet unanswerable from A. Written outside the repository (the data's
license forbids copying it in): `python bench/experiments/quality_splits.py ../shared/data/xquad_en OUT`
makes OUT/xquad_en_A and OUT/xquad_en_B.

Written at 5858f14; its halves are the out-of-scope sets (SPLITS) of bench/RESULTS-quality.md
sections 5 to 7 ("Out-of-scope sets" at the top of the file). Only for those measurements:
`qabot eval --out-of-scope` takes any folder of questions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def article(doc_id: str) -> str:
    return doc_id.rsplit("__p", 1)[0]


def main(src: Path, out: Path) -> None:
    docs = [json.loads(x) for x in (src / "corpus.jsonl").read_text("utf-8").splitlines() if x]
    qs = [json.loads(x) for x in (src / "questions.jsonl").read_text("utf-8").splitlines() if x]
    names = sorted({article(d["doc_id"]) for d in docs})
    half = {name: "AB"[i % 2] for i, name in enumerate(names)}
    for part in "AB":
        folder = out / f"{src.name}_{part}"
        folder.mkdir(parents=True, exist_ok=True)
        keep = [d for d in docs if half[article(d["doc_id"])] == part]
        ids = {d["doc_id"] for d in keep}
        mine = [q for q in qs if set(q["doc_ids"]) & ids]
        (folder / "corpus.jsonl").write_text(
            "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in keep), "utf-8"
        )
        (folder / "questions.jsonl").write_text(
            "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in mine), "utf-8"
        )
        print(f"{folder}: {len(keep)} documents, {len(mine)} questions")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
