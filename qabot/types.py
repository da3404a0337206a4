"""Plain data passed between the core, the CLI and the bot."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One document's extracted text. `doc_id` is its path below seeds/ (``file.jsonl#id`` for a
    line of a jsonl corpus); `sha256` is of the extracted text, so any edit marks it changed.
    `date` is the date the document declares (ISO, "" when none: qabot/ingest/dates.py)."""

    doc_id: str
    title: str
    text: str
    source: str  # the file below seeds/, as the user knows it
    sha256: str
    date: str = ""


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: `text == document.text[start:end]`."""

    doc_id: str
    title: str
    source: str
    start: int
    end: int
    text: str
    date: str = ""  # its document's (ISO, "" when unknown)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk. `score` is its dense cosine similarity to the question (whatever order
    fusion or the reranker gave it); `rank` starts at 1. `rerank_score` is the cross-encoder's
    relevance (0..1) when a reranker is configured; `span_*` is the reader's exact answer (offsets
    into chunk.text and its probability), on the first hit only, when a reader is configured."""

    chunk: Chunk
    score: float
    rank: int
    sentence_start: int = 0  # the answer sentence, as offsets into chunk.text
    sentence_end: int = 0
    rerank_score: float | None = None
    span_start: int | None = None
    span_end: int | None = None
    span_score: float | None = None

    @property
    def sentence(self) -> str:
        return self.chunk.text[self.sentence_start : self.sentence_end].strip()

    @property
    def span(self) -> str | None:
        if self.span_start is None or self.span_end is None:
            return None
        return self.chunk.text[self.span_start : self.span_end]


@dataclass
class Answer:
    """What a question gets: `found` is False when nothing scored above the threshold, and then
    `hits` is empty (an unrelated passage is never shown as an answer)."""

    question: str
    found: bool
    hits: list[Hit] = field(default_factory=list)
    # The confidence the threshold was compared with (what the embedder's `Calibration` in
    # qabot/embedders/calibration.py defines: for MiniLM the answer sentence's score, else the best cosine
    # plus a share of the best BM25 match), also when not found, for tuning thresholds. With
    # QABOT_RERANKER_THRESHOLD set: the best cross-encoder score instead.
    best_score: float | None = None

    @property
    def sentence(self) -> str | None:
        return self.hits[0].sentence if self.hits else None

    @property
    def span(self) -> str | None:
        """The reader's exact answer inside `sentence` (None without a reader)."""
        return self.hits[0].span if self.hits else None

    def to_dict(self) -> dict:
        """The stable machine-readable form printed by ``qabot ask --json``. The reranker's and
        the reader's keys appear only when they are configured: "span" (the exact answer) with
        "span_score", and per result "rerank_score" and "span_start"/"span_end" (offsets into
        "passage")."""
        out: dict = {
            "question": self.question,
            "found": self.found,
            "answer": self.sentence,
            "best_score": None if self.best_score is None else round(self.best_score, 4),
        }
        first = self.hits[0] if self.hits else None
        if first is not None and first.span is not None:
            out["span"] = first.span
            out["span_score"] = None if first.span_score is None else round(first.span_score, 4)
        out["results"] = [_hit_dict(h) for h in self.hits]
        return out


def _hit_dict(h: Hit) -> dict:
    row = {
        "rank": h.rank,
        "score": round(h.score, 4),
        "sentence": h.sentence,
        "passage": h.chunk.text,
        "title": h.chunk.title,
        "source": h.chunk.source,
        "doc_id": h.chunk.doc_id,
        "start": h.chunk.start,
        "end": h.chunk.end,
    }
    if h.chunk.date:
        row["date"] = h.chunk.date
    if h.rerank_score is not None:
        row["rerank_score"] = round(h.rerank_score, 4)
    if h.span_start is not None:
        row["span_start"] = h.span_start
        row["span_end"] = h.span_end
    return row


@dataclass
class BuildReport:
    """What a build did, for the CLI summary and the bot's /reindex reply."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    # (file, the file indexed for the same content): not indexed a second time.
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    documents_total: int = 0
    seconds: float = 0.0

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.deleted)


@dataclass
class IndexStatus:
    """`qabot index status`: what is built and what changed on disk since."""

    built: bool
    documents: int = 0
    chunks: int = 0
    model_id: str | None = None
    size_bytes: int = 0
    built_at: str | None = None
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, indexed as)
    # Files checked against the manifest's checksums (None: an index from before checksums),
    # and what is wrong with them.
    checked_files: int | None = None
    damaged: list[str] = field(default_factory=list)
    # Where an index kept outside index/ lives ("Qdrant collection qabot at http://..."); None
    # for the FAISS files, whose size and checksums are shown instead.
    location: str | None = None

    @property
    def size_text(self) -> str:
        """The size on disk for people: "840 KiB", "22.4 MiB", "1.47 GiB"."""
        size = float(self.size_bytes)
        for unit in ("bytes", "KiB", "MiB"):
            if size < 1024:
                decimals = 1 if unit == "MiB" and size < 100 else 0
                return f"{size:.{decimals}f} {unit}"
            size /= 1024
        return f"{size:.2f} GiB"
