"""(An experiment of its time: it reads `Retrieval.gate_row`, which commit dae6e32 removed when
the confidence became the shown answer sentence's score; run it at 7757c0d to reproduce.)

Expected answer type and neighbouring-sentence context in answer-sentence selection.

    .venv/bin/python bench/sweep_answer_type.py dump DATASET OTHER OUT.json [--embedder E]
    .venv/bin/python bench/sweep_answer_type.py sweep FIT.json [VALIDATE.json ...]
    .venv/bin/python bench/sweep_answer_type.py grid DUMP.json ...
    .venv/bin/python bench/sweep_answer_type.py types DUMP.json ... [--rule R --weight W]
    .venv/bin/python bench/sweep_answer_type.py gate FIT.json VALIDATE.json

`dump` asks DATASET's questions (in scope) and OTHER's (out of scope; "-" for none) of DATASET's
corpus with the default retrieval and records, per question, every sentence of the first passage
(the one `qabot eval` shows and the not-found gate scores): its text, the cosine of "title:
sentence" with the question, its idf overlap (`answering.term_overlap`), the overlap of the
previous and this sentence together, which of the question's terms it holds (with their idf),
and whether it holds a gold answer. Every rule is computed from the dump, so a rule can change
without embedding again; weight 0 reproduces `answering.scored_sentence`.

`sweep` prints answer-in-first-sentence (in-scope questions) per rule and weight on each dump and
marks the weight FIT's questions choose; `grid` does it for two weights at once (previous
sentence x answer type); `types` splits the rate by question type. `gate` uses the chosen
sentence's score as the not-found confidence (MiniLM) and prints the false-answer rate at the
threshold keeping in-scope >= 98% on FIT, VALIDATE's in / false at FIT's threshold, VALIDATE's
own false rate, and both at the default threshold 0.56 (bench/RESULTS-quality.md section 4.1).

The expected answer type (after the question-classification rules of TREC QA systems, e.g. Li &
Roth 2002, reduced to what a regular expression can check without a tagger): from the question
word, in English, Ukrainian and Russian -
  who / хто / кто        -> a capitalised word that is neither in the question nor the title
  where / де / где       -> the same (a place is a name too)
  when / what year / коли / когда / в якому році / в каком году -> a year, month or century
  how many / how much / скільки / сколько -> a number (digits or a number word)
and the sentence "matches" when it holds such a token that the question does not.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from qabot import eval as ev
from qabot.answering import OVERLAP_WEIGHT, term_overlap
from qabot.chunking import split_sentences
from qabot.config import get_settings
from qabot.lexical import analyze

# -- the expected answer type ------------------------------------------------------------------
# The first question word decides ("What happened when ...?" asks no date): at one position the
# typed phrases are tried before the bare words ("how many" before "how").
_TYPE_PATTERNS = (
    (
        "number",
        r"how (many|much|long|old|far|large|big|tall|high)|what (percentage|percent|number|"
        r"proportion|amount)|скільки|сколько",
    ),
    (
        "date",
        r"when|what (year|century|decade|date|month|day)|which (year|century|decade|month)|"
        r"коли|когда|(якому|якого|який|котрому|котрого) (році|року|рік|столітті|століття|"
        r"місяці)|(каком|какого|какой|котором) (году|года|год|веке|века|месяце)",
    ),
    ("person", r"who|whom|whose|хто|кого|кому|ким|чий|чия|чиє|чиї|кто|чей|чья|чьё|чье|чьи"),
    ("place", r"where|де|куди|звідки|где|куда|откуда"),
    (
        "other",
        r"what|which|why|how|що|чому|навіщо|як|який|яка|яке|які|якого|что|почему|зачем|как|"
        r"какой|какая|какое|какие|какого",
    ),
)
_QUESTION_WORD = re.compile(
    "|".join(rf"(?P<{name}>\b({pat})\b)" for name, pat in _TYPE_PATTERNS), re.IGNORECASE
)

# English month names are capitalised ("May", not "may"); Ukrainian and Russian ones are not,
# and their stems are spelled out so "червоний" (red) or "трава" (grass) is no month.
_MONTHS = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December)\b|\b(січ(ень|ня|ні)|лют(ий|ого|ому)|берез(ень|ня|ні)|квіт(ень|ня|ні)|"
    r"трав(ень|ня|ні)|черв(ень|ня|ні)|лип(ень|ня|ні)|серп(ень|ня|ні)|верес(ень|ня|ні)|"
    r"жовт(ень|ня|ні)|листопад\w*|груд(ень|ня|ні)|январ\w*|феврал\w*|март\w*|апрел\w*|"
    r"ма[йяю]|июн\w*|июл\w*|август\w*|сентябр\w*|октябр\w*|ноябр\w*|декабр\w*)\b"
)
_DATE_WORDS = re.compile(
    r"\b(1[0-9]{3}|20[0-9]{2})s?\b|\b(century|centuries|decade|століт\w*|сторіч\w*|"
    r"век[ае]?|веков)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|"
    r"forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|dozens?|"
    r"half|один|одна|два|дві|две|три|чотири|четыре|п'ять|пять|шість|шесть|сім|семь|вісім|"
    r"восемь|дев'ять|девять|десять|\w+надцять|\w+надцать|\w+дцять|\w+дцать|сто|сотні|сотни|"
    r"тисяч\w*|тысяч\w*|мільйон\w*|миллион\w*|мільярд\w*|миллиард\w*|десятк\w*|половин\w*"
)
_NUMBER = re.compile(rf"\d+|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
_WORD = re.compile(r"\w+")


def answer_type(question: str) -> str | None:
    """The kind of thing the question asks for, from its first question word
    (`_TYPE_PATTERNS`): "number", "date", "person", "place", or None ("what", "why")."""
    m = _QUESTION_WORD.search(question)
    kind = m.lastgroup if m else None
    return None if kind == "other" else kind


def _tokens(pattern: re.Pattern, text: str) -> set[str]:
    return {m.group(0).lower() for m in pattern.finditer(text)}


def _names(text: str, *, skip_first: bool) -> set[str]:
    """Capitalised words (a name's parts), lower-cased; the first word of a sentence is
    capitalised anyway, so it counts only when `skip_first` is False."""
    words = _WORD.findall(text)
    if skip_first:
        words = words[1:]
    return {w.lower() for w in words if len(w) > 1 and w[0].isupper()}


def type_match(question: str, sentence: str, title: str = "", *, skip_first: bool = True) -> int:
    """1 if the sentence holds a token of the question's expected answer type that the question
    does not (a year the question names is not its answer), else 0; 0 for untyped questions."""
    kind = answer_type(question)
    if kind is None:
        return 0
    if kind in ("person", "place"):
        known = {w.lower() for w in _WORD.findall(f"{question} {title}")}
        return int(bool(_names(sentence, skip_first=skip_first) - known))
    patterns = (_DATE_WORDS, _MONTHS) if kind == "date" else (_NUMBER,)
    found = set().union(*(_tokens(p, sentence) for p in patterns))
    asked = set().union(*(_tokens(p, question) for p in patterns))
    return int(bool(found - asked))


# -- dump ---------------------------------------------------------------------------------------
def dump(dataset: Path, other: str, out: Path, embedder_name: str) -> None:
    settings = get_settings(embedder=embedder_name)
    service = ev.prepare_index(dataset, settings, cache_dir=ev.default_cache_dir()).service
    embedder, lexical = service.query_embedder, service._index().retriever.lexical
    rows = []
    for label, folder in (("in", dataset), ("out", Path(other))):
        if label == "out" and other == "-":
            continue
        for q in ev.load_questions(folder):
            qvec = embedder.embed_query(q.question)
            r = service.retrieve(q.question, qvec, n=40)
            chunk = service.chunk(r.candidates[0].row)
            spans = split_sentences(chunk.text) or [(0, len(chunk.text))]
            texts = [chunk.text[s:e] for s, e in spans]
            titled = [f"{chunk.title}: {t}" if chunk.title else t for t in texts]
            cos = embedder.embed_passages(titled, batch_size=len(texts)) @ qvec
            prev = ["", *texts[:-1]]
            qterms = list(dict.fromkeys(analyze(q.question)))
            rows.append(
                {
                    "label": label,
                    "question": q.question,
                    "title": chunk.title,
                    "gate_is_first": r.gate_row in (None, r.candidates[0].row),
                    "idf": [lexical.term_idf(t) for t in qterms],
                    # per sentence, which of the question's terms it holds (window overlaps)
                    "has": [
                        [i for i, t in enumerate(qterms) if t in set(analyze(x))] for x in texts
                    ],
                    "sentences": [
                        [
                            t,
                            float(c),
                            term_overlap(q.question, t, lexical),
                            term_overlap(q.question, f"{p} {t}", lexical),
                            ev.contains_answer(t, q.answers),
                        ]
                        for t, c, p in zip(texts, cos, prev, strict=True)
                    ],
                }
            )
    out.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    print(f"{out}: {len(rows)} questions")


# -- rules ---------------------------------------------------------------------------------------
PRONOUNS = re.compile(
    r"^(he|she|it|they|his|her|its|their|this|these|those|there|він|вона|воно|вони|його|її|їх|"
    r"це|цей|ця|ці|там|он|она|оно|они|его|ее|её|их|это|этот|эта|эти|там)\b",
    re.IGNORECASE,
)
WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _window(r, prev_w: float, next_w: float) -> np.ndarray:
    """Per sentence, the idf share of the question's terms that the previous (next) sentence
    holds and this one lacks, times prev_w (next_w): a sentence that says "it" or "the
    company" names its subject in the sentence before."""
    idf = np.array(r["idf"])
    total = idf.sum()
    has = [set(h) for h in r["has"]]
    out = []
    for i, h in enumerate(has):
        prev = has[i - 1] - h if i > 0 else set()
        nxt = has[i + 1] - h if i + 1 < len(has) else set()
        extra = prev_w * sum(idf[j] for j in prev) + next_w * sum(idf[j] for j in nxt)
        out.append(extra / total if total > 0 else 0.0)
    return np.array(out)


def _base(r) -> np.ndarray:
    return np.array([c + OVERLAP_WEIGHT * o for _, c, o, _, _ in r["sentences"]])


def _types(r, skip_first: bool = True) -> np.ndarray:
    return np.array(
        [
            type_match(r["question"], t, r["title"], skip_first=skip_first)
            for t, *_ in r["sentences"]
        ]
    )


def _rules() -> dict[str, callable]:
    """name -> f(row, weight) -> per-sentence scores (weight 0: the code's rule)."""

    def pronoun_led(r, w):
        extra = [(op - o) if PRONOUNS.match(t) else 0.0 for t, _, o, op, _ in r["sentences"]]
        return _base(r) + OVERLAP_WEIGHT * w * np.array(extra)

    return {
        "answer type (first word not a name)": lambda r, w: _base(r) + w * _types(r),
        "answer type (first word may be a name)": lambda r, w: _base(r) + w * _types(r, False),
        "previous sentence's terms x w": lambda r, w: _base(r) + OVERLAP_WEIGHT * _window(r, w, 0),
        "previous sentence's terms x w, pronoun-led sentences only": pronoun_led,
        "next sentence's terms x w": lambda r, w: _base(r) + OVERLAP_WEIGHT * _window(r, 0, w),
        "previous and next sentences' terms x w": lambda r, w: (
            _base(r) + OVERLAP_WEIGHT * _window(r, w, w)
        ),
        "previous sentence's terms x 0.5, answer type x w": lambda r, w: (
            _base(r) + OVERLAP_WEIGHT * _window(r, 0.5, 0) + w * _types(r)
        ),
        "previous sentence's terms x 1, answer type x w": lambda r, w: (
            _base(r) + OVERLAP_WEIGHT * _window(r, 1.0, 0) + w * _types(r)
        ),
    }


def _load(path: Path, label: str = "in") -> list[dict]:
    return [r for r in json.loads(path.read_text("utf-8")) if r["label"] == label]


def _rate(rows, rule, w) -> tuple[int, float]:
    hits = sum(r["sentences"][int(np.argmax(rule(r, w)))][4] for r in rows)
    return hits, hits / len(rows)


def sweep(fit: Path, others: list[Path]) -> None:
    sets = {p.name: _load(p) for p in [fit, *others]}
    for name, rows in sets.items():
        kinds = [answer_type(r["question"]) for r in rows]
        counts = {k: kinds.count(k) for k in ("number", "date", "person", "place", None)}
        print(name, len(rows), "questions;", counts)
    for rule_name, rule in _rules().items():
        print(f"\n{rule_name}")
        fit_rows = sets[fit.name]
        best = max(WEIGHTS, key=lambda w: (_rate(fit_rows, rule, w)[0], -w))
        for w in WEIGHTS:
            cells = []
            for rows in sets.values():
                h, v = _rate(rows, rule, w)
                cells.append(f"{h}/{len(rows)} {v:.4f}")
            mark = " <- fit" if w == best else ""
            print(f"  w {w:<5} " + " | ".join(cells) + mark)


def grid(paths: list[Path]) -> None:
    """Answer-in-first-sentence (questions right) for previous-sentence weight x answer-type
    weight, all-sentence and pronoun-led-only context; one matrix per dump."""
    sets = {p.name: _load(p) for p in paths}
    prev_ws, type_ws = (0.0, 0.3, 0.5, 0.7, 0.9, 1.0), (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)

    def pronoun_window(r, w):
        lead = np.array([bool(PRONOUNS.match(t)) for t, *_ in r["sentences"]])
        return _window(r, w, 0) * lead

    for ctx_name, ctx in (
        ("all sentences", lambda r, w: _window(r, w, 0)),
        ("pronoun-led", pronoun_window),
    ):
        for name, rows in sets.items():
            print(f"\n{name}, previous sentence ({ctx_name}) rows x answer type columns {type_ws}")
            for pw in prev_ws:
                cells = []
                for tw in type_ws:
                    hits = sum(
                        r["sentences"][
                            int(np.argmax(_base(r) + OVERLAP_WEIGHT * ctx(r, pw) + tw * _types(r)))
                        ][4]
                        for r in rows
                    )
                    cells.append(f"{hits:4d}")
                print(f"  {pw:<4}" + " ".join(cells))


def per_type(paths: list[Path], rule_name: str, w: float) -> None:
    """Answer-in-first-sentence per question type, the code's rule against `rule_name` at w."""
    rule = _rules()[rule_name]
    for path in paths:
        rows = _load(path)
        for kind in ("number", "date", "person", "place", None):
            sub = [r for r in rows if answer_type(r["question"]) == kind]
            if sub:
                b, v = _rate(sub, rule, 0.0)[0], _rate(sub, rule, w)[0]
                print(f"{path.name} {kind}: {len(sub)} questions, {b} -> {v}")


def _at_in(s, inside, target=0.98):
    """The highest threshold keeping the in-scope rate >= target, and the false rate there."""
    t = np.sort(s[inside])[int(np.floor((1 - target) * inside.sum()))]
    return t, float((s[~inside] >= t).mean())


def gate(fit: Path, validate: Path, threshold: float = 0.56) -> None:
    """The chosen sentence's score as the not-found confidence (MiniLM), per rule and weight."""
    data = []
    for path in (fit, validate):
        rows = json.loads(path.read_text("utf-8"))
        data.append((rows, np.array([r["label"] == "in" for r in rows])))
    rules = _rules()
    typed, prev = (
        rules["answer type (first word not a name)"],
        rules["previous sentence's terms x w"],
    )

    def plain_of_chosen(rule, w):
        """The code's score (cosine + 0.5 x overlap) of the sentence `rule` chooses."""

        def f(r, _):
            base = _base(r)
            return base[int(np.argmax(rule(r, w)))]

        return f

    combos = [("the code", typed, 0.0)]
    for w in (0.3, 0.5, 0.7):
        combos.append((f"previous x {w}: its score", prev, w))
        combos.append(
            (f"previous x {w}: the code's score of its sentence", plain_of_chosen(prev, w), w)
        )
    for w in (0.05, 0.15):
        combos.append((f"answer type x {w}: its score", typed, w))
        combos.append(
            (f"answer type x {w}: the code's score of its sentence", plain_of_chosen(typed, w), w)
        )
    print(
        "| rule | fit: false@98 | validate at fit's threshold: in / false | validate: false@98 | "
        f"at {threshold}: fit in / false, validate in / false |"
    )
    print("|---|---|---|---|---|")
    for name, rule, w in combos:
        conf = []
        for rows, _ in data:
            conf.append(np.array([float(np.max(rule(r, w))) for r in rows]))
        ca, cb = conf
        ya, yb = data[0][1], data[1][1]
        t, fa = _at_in(ca, ya)
        vin, vfalse = float((cb[yb] >= t).mean()), float((cb[~yb] >= t).mean())
        fixed = [
            f"{(c[y] >= threshold).mean():.3f} / {(c[~y] >= threshold).mean():.3f}"
            for c, y in ((ca, ya), (cb, yb))
        ]
        print(
            f"| {name} | {fa:.3f} (t {t:.3f}) | {vin:.3f} / {vfalse:.3f} | {_at_in(cb, yb)[1]:.3f} | "
            + ", ".join(fixed)
            + " |"
        )


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=("dump", "sweep", "types", "gate", "grid"))
    p.add_argument("args", nargs="+")
    p.add_argument("--embedder", default="sentence-transformers")
    p.add_argument("--rule", default="answer type (first word not a name)")
    p.add_argument("--weight", type=float, default=0.1)
    a = p.parse_args()
    if a.command == "dump":
        dump(Path(a.args[0]), a.args[1], Path(a.args[2]), a.embedder)
    elif a.command == "sweep":
        sweep(Path(a.args[0]), [Path(x) for x in a.args[1:]])
    elif a.command == "types":
        per_type([Path(x) for x in a.args], a.rule, a.weight)
    elif a.command == "grid":
        grid([Path(x) for x in a.args])
    elif a.command == "gate":
        gate(Path(a.args[0]), Path(a.args[1]))
