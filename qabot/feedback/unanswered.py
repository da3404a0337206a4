"""What the documents lack: the recent questions they could not answer, near-duplicates grouped.

The input is `FeedbackStore.unanswered`: questions answered "not found" and answers voted 👎.
Two questions are the same request when they ask with the same words: each is reduced to its
set of index terms by the lexical analyser the BM25 index uses (`qabot.search.lexical.analyze`: case,
stop words and English endings dropped, Cyrillic words cut to a prefix), so "Who attended the
council?" and "who ATTENDED the Council" are one key. Keys that share most of their terms
(Jaccard similarity of the sets >= `SIMILAR`) are merged too, into the more frequent group:
"who was at the nato ukraine council" joins "Who attended the NATO-Ukraine Council?" (3 of 4
terms). Cheap (no model: a report over thousands of questions takes milliseconds) and
explainable; paraphrases with other words stay apart, which errs on the side of showing both.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qabot.feedback.store import FeedbackStore, Unanswered
from qabot.search.lexical import analyze

# Share of terms two questions must have in common to be grouped (|A & B| / |A | B|).
SIMILAR = 0.6
# Distinct keys compared pairwise at most: the oldest beyond are left out of the grouping.
MAX_KEYS = 2000


@dataclass
class Group:
    """Questions asking the same thing: `question` is the most frequent wording (the latest on a
    tie), `count` how often they came, split into `not_found` and `downvoted`; `last` is a
    time.time() value; `variants` are the other wordings, most frequent first."""

    question: str
    count: int = 0
    not_found: int = 0
    downvoted: int = 0
    last: float = 0.0
    variants: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        row = asdict(self)
        row["last"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last))
        return row


def question_key(question: str) -> frozenset[str]:
    """The question's index terms; its lower-cased words when all of them are stop words."""
    terms = analyze(question)
    return frozenset(terms or question.lower().split())


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    return len(a & b) >= SIMILAR * len(a | b)


def group_questions(rows: list[Unanswered]) -> list[Group]:
    """Group near-duplicates; most frequent first, then most recent."""
    by_key: dict[frozenset[str], list[Unanswered]] = {}
    for row in rows:
        by_key.setdefault(question_key(row.question), []).append(row)
    keys = sorted(by_key, key=lambda k: (-len(by_key[k]), -max(r.at for r in by_key[k])))
    clusters: list[tuple[frozenset[str], list[Unanswered]]] = []
    for key in keys[:MAX_KEYS]:
        # Into the most frequent similar group seen so far (they come in that order).
        home = next((c for c in clusters if _similar(c[0], key)), None)
        if home is None:
            clusters.append((key, list(by_key[key])))
        else:
            home[1].extend(by_key[key])
    groups = [_group(members) for _key, members in clusters]
    groups.sort(key=lambda g: (-g.count, -g.last))
    return groups


def _group(members: list[Unanswered]) -> Group:
    wordings = Counter(" ".join(m.question.split()) for m in members)
    latest = {w: max(m.at for m in members if " ".join(m.question.split()) == w) for w in wordings}
    ranked = sorted(wordings, key=lambda w: (-wordings[w], -latest[w]))
    return Group(
        question=ranked[0],
        count=len(members),
        not_found=sum(m.kind == "not_found" for m in members),
        downvoted=sum(m.kind == "downvoted" for m in members),
        last=max(m.at for m in members),
        variants=ranked[1:],
    )


def report_from(
    store: FeedbackStore, *, days: float, limit: int, now: float | None = None
) -> list[Group]:
    """The `limit` most frequent unanswered questions of the last `days` days."""
    since = (time.time() if now is None else now) - days * 24 * 3600
    return group_questions(store.unanswered(since=since))[:limit]


def report(index_dir: Path, *, days: float, limit: int, now: float | None = None) -> list[Group]:
    """`report_from` the index's feedback store (none when nothing was ever recorded)."""
    store = FeedbackStore.open_existing(index_dir)
    if store is None:
        return []
    try:
        return report_from(store, days=days, limit=limit, now=now)
    finally:
        store.close()
