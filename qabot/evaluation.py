"""`qabot eval`: score retrieval and answers on a dataset of questions with known answers.

A dataset is a folder with ``corpus.jsonl`` ({"doc_id", "title", "text"} a line) and
``questions.jsonl`` ({"qid", "question", "answers", "doc_ids"} a line). The corpus is indexed
once per (corpus, embedder, chunking) into a cache folder, so runs that differ only in retrieval
mode, k or threshold re-embed nothing.

Metrics (each question asked exactly the way `QAService.ask` asks it):
- hit@1/5/10, MRR@10: a gold document among the first k *distinct documents* as shown: the
  first answer's document, then the ranking's;
- answer-in-first-passage / -sentence: a gold answer (normalised) inside the passage / the
  highlighted sentence shown first, counted on the ranking whether or not the threshold passes;
- not-found rate (in-scope questions the threshold turns away) and, with out-of-scope questions
  (another dataset's questions against this corpus), the false-answer rate;
- query latency p50/p95 (embedding, retrieval and sentence choice) and indexing throughput.

A configured reranker and reader (QABOT_RERANKER_MODEL, QABOT_READER_MODEL) act inside the
service, so every metric includes them; the report names them, and with a reader adds
answer-span exact match (the reader's span equals a gold answer, normalised). They change no
vector, so the cached index is shared with runs without them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qabot.answer.params import DEFAULT_ANSWER, AnswerParams
from qabot.config import Settings
from qabot.embedders.registry import builds_sentence_vectors, chunk_tokens
from qabot.errors import QabotError
from qabot.ingest.dates import parse_date
from qabot.plurals import english
from qabot.search.question import search_text
from qabot.stores.files.manifest import FORMAT_VERSION

HIT_AT = (1, 5, 10)
CORPUS = "corpus.jsonl"
QUESTIONS = "questions.jsonl"
# Thresholds listed in the calibration table (report["calibration"]).
SWEEP = tuple(round(x, 2) for x in np.arange(0.0, 1.0001, 0.02))


class DatasetError(QabotError):
    """A dataset folder lacks corpus.jsonl / questions.jsonl or they are unreadable. Seen by
    whoever runs `qabot eval`."""


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    answers: tuple[str, ...]
    doc_ids: tuple[str, ...]
    # When it was asked (a "date" field, e.g. RealTime QA's): news questions are about their
    # week, and the answer ranks dated documents by nearness to it (retrieval.Recency).
    date: dt.date | None = None


def load_questions(folder: Path, *, limit: int | None = None, seed: int = 0) -> list[Question]:
    """The questions of a dataset; with `limit`, a sample that is the same on every run."""
    path = Path(folder) / QUESTIONS
    if not path.is_file():
        raise DatasetError(
            f"no {QUESTIONS} in {folder}/: a dataset folder holds {CORPUS} and {QUESTIONS} "
            "(README, Measuring answer quality)"
        )
    questions = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                questions.append(
                    Question(
                        str(row["qid"]),
                        str(row["question"]),
                        tuple(map(str, row.get("answers", []))),
                        tuple(map(str, row.get("doc_ids", []))),
                        _date(row.get("date")),
                    )
                )
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path} is not in the dataset format ({exc})") from exc
    if limit is not None and limit < len(questions):
        picked = sorted(random.Random(seed).sample(range(len(questions)), limit))
        questions = [questions[i] for i in picked]
    return questions


def _date(value: object) -> dt.date | None:
    iso = parse_date(value)
    return dt.date.fromisoformat(iso) if iso else None


_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation, Unicode-aware: lower case, no punctuation, no English articles,
    single spaces."""
    text = text.lower()
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def contains_answer(text: str, answers: tuple[str, ...]) -> bool:
    hay = f" {normalize_answer(text)} "
    return any(f" {normalize_answer(a)} " in hay for a in answers if normalize_answer(a))


# -- the cached index ----------------------------------------------------------------------
@dataclass
class EvalIndex:
    """The service over a dataset's cached index, and how fast that index was built."""

    service: object  # QAService
    folder: Path
    build: dict  # documents, chunks, seconds, docs_per_s, chunks_per_s, cached


def cache_key(corpus: Path, settings: Settings) -> str:
    """Same corpus bytes + embedder + chunking + index format = same vectors. (A BM25 index from
    another analyzer is rebuilt on load, so the analyzer is not part of the key.)"""
    h = hashlib.sha256(Path(corpus).read_bytes())
    for part in (
        settings.embedder,
        settings.model,
        str(
            chunk_tokens(
                embedder=settings.embedder, model=settings.model, setting=settings.chunk_tokens
            )
        ),
        str(settings.chunk_overlap),
        str(FORMAT_VERSION),
    ):
        h.update(b"\0" + part.encode())
    # An index with sentence vectors differs from one without (keys without them unchanged).
    if builds_sentence_vectors(
        embedder=settings.embedder, model=settings.model, setting=settings.sentence_vectors
    ):
        h.update(b"\0sentences/title: sentence")
    if settings.vector_store != "faiss":  # (FAISS keys unchanged)
        h.update(f"\0store/{settings.vector_store}/{settings.qdrant_url}".encode())
    return h.hexdigest()[:16]


def default_cache_dir() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qabot" / "eval"


def prepare_index(
    dataset: Path, settings: Settings, *, cache_dir: Path, progress: bool = False
) -> EvalIndex:
    """A service over the dataset's corpus, building its index into the cache on first use."""
    from qabot.service import QAService

    corpus = Path(dataset) / CORPUS
    if not corpus.is_file():
        raise DatasetError(
            f"no {CORPUS} in {dataset}/: a dataset folder holds {CORPUS} and {QUESTIONS} "
            "(README, Measuring answer quality)"
        )
    # Keyed by content, not folder name: another dataset over the same corpus (Russian
    # questions against the English corpus) shares the index.
    folder = Path(cache_dir) / cache_key(corpus, settings)
    seeds = folder / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    link = seeds / CORPUS
    if not link.exists():  # also when it dangles: the first dataset that used it is gone
        link.unlink(missing_ok=True)
        link.symlink_to(corpus.resolve())  # the index reads the corpus; no copy needed
    # The corpus is the link's target, outside the cache's seeds/ by design.
    update = {"seeds_dir": seeds, "index_dir": folder / "index", "follow_external_links": True}
    if settings.vector_store == "qdrant":  # its own collection: never the bot's
        update["qdrant_collection"] = f"qabot-eval-{folder.name}"
        update["qdrant_path"] = folder / "index" / "qdrant"
    service = QAService(settings.model_copy(update=update))
    info_path = folder / "build.json"
    if service.has_index() and info_path.is_file():
        build = json.loads(info_path.read_text(encoding="utf-8")) | {"cached": True}
        # From the version the questions will be asked of: the files store reads nothing more.
        previous = service.store.previous(held=service.loaded_index())
        if previous is not None and previous.reread:
            service.build(progress=progress)  # an index from before dates: reads them, no embedding
    else:
        report = service.build(full=True, progress=progress)
        seconds = max(report.seconds, 1e-9)
        build = {
            "documents": report.documents_total,
            "chunks": report.chunks_total,
            "seconds": round(report.seconds, 2),
            "docs_per_s": round(report.documents_total / seconds, 2),
            "chunks_per_s": round(report.chunks_total / seconds, 2),
        }
        info_path.write_text(json.dumps(build), encoding="utf-8")
        build = build | {"cached": False}
    return EvalIndex(service, folder, build)


# -- asking --------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one question got: ranked distinct document ids, the first passage and sentence, the
    confidence the threshold is compared with, and the time it took."""

    docs: list[str]
    passage: str
    sentence: str
    confidence: float
    seconds: float
    span: str | None = None
    title: str = ""  # the first passage's document


def _local_id(doc_id: str) -> str:
    # A jsonl corpus's documents are "corpus.jsonl#<doc_id>" in the index.
    return doc_id.split("#", 1)[1] if "#" in doc_id else doc_id


def ask_one(
    service,
    question: str,
    *,
    k: int,
    as_of: dt.date | None = None,
    answer_params: AnswerParams = DEFAULT_ANSWER,
) -> Outcome:
    """Ask like `QAService.ask` does (on the day `as_of`, today unless given), but keep the
    ranking whatever the threshold says; the answer sentence chosen as `answer_params` says."""
    t0 = time.perf_counter()
    question = search_text(question)
    qvec = service.query_embedder.embed_query(question)
    # Enough chunks for 10 distinct documents even when documents have many chunks.
    retrieval = service.retrieve(question, qvec, n=max(k * 3 + 5, 40), as_of=as_of)
    answer = service.answer(
        question, qvec, retrieval, k=k, threshold=-math.inf, answer_params=answer_params
    )
    seconds = time.perf_counter() - t0
    first = answer.hits[0] if answer.hits else None
    # The documents in the order a user meets them: the first answer's (its passage may come
    # from below the ranking's first, `AnswerParams.answer_passages`), then the ranking's.
    docs: list[str] = [_local_id(first.chunk.doc_id)] if first else []
    for c in retrieval.candidates:
        doc_id = _local_id(service.chunk(c.row).doc_id)
        if doc_id not in docs:
            docs.append(doc_id)
    return Outcome(
        docs[: max(HIT_AT)],
        first.chunk.text if first else "",
        first.sentence if first else "",
        -math.inf if answer.best_score is None else answer.best_score,
        seconds,
        answer.span,
        first.chunk.title if first else "",
    )


def _progress(items, *, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="q", dynamic_ncols=True, leave=False)


def evaluate(
    index: EvalIndex,
    questions: list[Question],
    *,
    k: int,
    threshold: float,
    out_of_scope: list[Question] | None = None,
    progress: bool = False,
    dump: Path | None = None,
    answer_params: AnswerParams = DEFAULT_ANSWER,
) -> dict:
    """Every metric of the module docstring, as a flat-ish dict (what `--json` prints). With
    `dump`, one JSON line per question goes to that file (`dump_row`), so misses can be read.
    `answer_params`: how the answer sentence is chosen (experiments pass variants)."""
    if not questions:
        raise DatasetError("no questions to evaluate")
    service = index.service
    outcomes = [
        (q, ask_one(service, q.question, k=k, as_of=q.date, answer_params=answer_params))
        for q in _progress(questions, enabled=progress, desc="Questions")
    ]
    n = len(outcomes)
    hits = {h: 0 for h in HIT_AT}
    rr = 0.0
    in_passage = in_sentence = found = span_exact = 0
    for q, o in outcomes:
        gold = set(q.doc_ids)
        rank = next((i for i, d in enumerate(o.docs, 1) if d in gold), None)
        for h in HIT_AT:
            hits[h] += rank is not None and rank <= h
        rr += 1 / rank if rank is not None and rank <= 10 else 0.0
        in_passage += contains_answer(o.passage, q.answers)
        in_sentence += contains_answer(o.sentence, q.answers)
        found += o.confidence >= threshold
        gold_answers = {normalize_answer(a) for a in q.answers}
        span_exact += o.span is not None and normalize_answer(o.span) in gold_answers
    if dump is not None:
        with Path(dump).open("w", encoding="utf-8") as f:
            for q, o in outcomes:
                f.write(json.dumps(dump_row(q, o, threshold=threshold), ensure_ascii=False) + "\n")
    latencies = np.array([o.seconds for _, o in outcomes]) * 1000
    settings = service.settings
    report: dict = {
        "questions": n,
        "model_id": service.embedder.model_id,
        "mode": settings.retrieval_mode,
        "lexical_weight": settings.lexical_weight,
        "k": k,
        "threshold": threshold,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap,
        "sentence_vectors": service.loaded_index().has_sentence_vectors,
        "reranker": settings.reranker_model or None,
        "rerank_candidates": settings.rerank_candidates if settings.reranker_model else None,
        "reader": settings.reader_model or None,
        "index": index.build,
        **{f"hit@{h}": round(hits[h] / n, 4) for h in HIT_AT},
        "mrr@10": round(rr / n, 4),
        "answer_in_first_passage": round(in_passage / n, 4),
        "answer_in_first_sentence": round(in_sentence / n, 4),
        "not_found_rate": round(1 - found / n, 4),
        **({"answer_span_exact": round(span_exact / n, 4)} if settings.reader_model else {}),
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 1),
            "p95": round(float(np.percentile(latencies, 95)), 1),
        },
    }
    if out_of_scope:
        # Asked on the in-scope questions' days in turn (when they have dates), so that an
        # unrelated question meets the same recent articles a real one does.
        days = [q.date for q in questions]
        other = [
            ask_one(
                service, q.question, k=k, as_of=q.date or days[i % n], answer_params=answer_params
            ).confidence
            for i, q in enumerate(_progress(out_of_scope, enabled=progress, desc="Out of scope"))
        ]
        false = sum(c >= threshold for c in other)
        report["out_of_scope"] = {
            "questions": len(other),
            "false_answer_rate": round(false / len(other), 4),
        }
        inside = np.array([o.confidence for _, o in outcomes])
        outside = np.array(other)
        report["calibration"] = [
            {
                "threshold": t,
                "in_scope_answer_rate": round(float((inside >= t).mean()), 4),
                "false_answer_rate": round(float((outside >= t).mean()), 4),
            }
            for t in SWEEP
        ]
    return report


def dump_row(q: Question, o: Outcome, *, threshold: float) -> dict:
    """One line of `qabot eval --dump`: the question, where its gold document ranked (None: not
    in the first 10), what was shown first and the confidence."""
    gold = set(q.doc_ids)
    rank = next((i for i, d in enumerate(o.docs, 1) if d in gold), None)
    return {
        "qid": q.qid,
        "question": q.question,
        "answers": list(q.answers),
        "gold_doc_ids": list(q.doc_ids),
        "gold_rank": rank,
        "docs": o.docs,
        "first_title": o.title,
        "sentence": o.sentence,
        "passage": o.passage,
        "answer_in_passage": contains_answer(o.passage, q.answers),
        "answer_in_sentence": contains_answer(o.sentence, q.answers),
        "confidence": None if math.isinf(o.confidence) else round(o.confidence, 4),
        "found": o.confidence >= threshold,
        "ms": round(o.seconds * 1000, 1),
    }


def format_report(report: dict) -> str:
    """The human-readable summary `qabot eval` prints."""
    b = report["index"]
    lines = [
        f"{report['dataset']}: {english(report['questions'], 'question')} · {report['model_id']} · "
        f"mode {report['mode']} · k {report['k']} · threshold {report['threshold']:.2f} · "
        f"chunks {report['chunk_tokens']} tokens / overlap {report['chunk_overlap']}"
        + (" · sentence vectors" if report.get("sentence_vectors") else ""),
        f"  index     {english(b['documents'], 'document')}, {english(b['chunks'], 'chunk')}, "
        f"built in {b['seconds']}s "
        f"({b['docs_per_s']} docs/s, {b['chunks_per_s']} chunks/s)"
        + (" [cached]" if b.get("cached") else ""),
        "  documents hit@1 {hit@1:.3f}  hit@5 {hit@5:.3f}  hit@10 {hit@10:.3f}  "
        "MRR@10 {mrr@10:.3f}".format(**report),
        f"  answers   in first passage {report['answer_in_first_passage']:.3f}  "
        f"in first sentence {report['answer_in_first_sentence']:.3f}",
        f"  not found {report['not_found_rate']:.3f} of in-scope questions",
    ]
    if report.get("reranker"):
        lines.insert(
            1,
            f"  reranker  {report['reranker']} over {report['rerank_candidates']} passages",
        )
    if report.get("reader"):
        lines.append(
            f"  reader    {report['reader']}: span exact match {report['answer_span_exact']:.3f}"
        )
    oos = report.get("out_of_scope")
    if oos:
        lines.append(
            f"  out of scope ({oos['dataset']}, {english(oos['questions'], 'question')}): false answers "
            f"{oos['false_answer_rate']:.3f}"
        )
    lat = report["latency_ms"]
    lines.append(f"  latency   p50 {lat['p50']:.1f} ms  p95 {lat['p95']:.1f} ms")
    return "\n".join(lines)
