"""The facade the CLI, the bot and the tests call: ask, build, status, add.

It owns the loaded index and the models, loads each lazily once, and swaps in a newer index
version when another process has built one (`reload_if_changed`). Safe to call from several
threads: a search uses whichever complete index version was current when it started.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qabot.answer.compose import make_answer
from qabot.answer.params import DEFAULT_ANSWER, AnswerParams
from qabot.config import Settings
from qabot.embedders import Embedder, load_embedder
from qabot.embedders.registry import (
    backend,
    builds_sentence_vectors,
    calibration,
    chunk_tokens,
    default_threshold,
)
from qabot.errors import IndexCorruptError, IndexMissingError, QabotError
from qabot.fsutil import write_error
from qabot.indexing import pipeline
from qabot.indexing.pipeline import BuildOptions
from qabot.ingest import links
from qabot.ingest.links import Page
from qabot.search.question import check_question, search_text
from qabot.search.retrieval import Recency, Retrieval
from qabot.stores.base import IndexView, Store, Verification
from qabot.stores.factory import open_store
from qabot.timing import span
from qabot.types import Answer, BuildReport, Chunk, IndexStatus

if TYPE_CHECKING:  # both import torch: loaded only when configured
    from qabot.answer.reader import Reader
    from qabot.search.reranking import Reranker

log = logging.getLogger("qabot")


class QAService:
    """Question answering over one seeds folder and its index."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None) -> None:
        # Unset, the threshold is the embedder's, and grows with the collection (`threshold`).
        self._calibrated_threshold = settings.score_threshold is None
        if settings.score_threshold is None:  # each model's cosines have their own scale
            threshold = default_threshold(settings.embedder, settings.model)
            settings = settings.model_copy(update={"score_threshold": threshold})
        if settings.chunk_tokens is None:  # each model reads passages of its own best length
            tokens = chunk_tokens(embedder=settings.embedder, model=settings.model, setting=None)
            settings = settings.model_copy(update={"chunk_tokens": tokens})
        self.settings = settings
        self.store: Store = open_store(settings)
        self._embedder = embedder
        self._embedder_given = embedder is not None
        self._query_embedder: Embedder | None = None
        self._reranker: Reranker | None = None
        self._reader: Reader | None = None
        self._loaded: IndexView | None = None
        self._lock = threading.RLock()

    def _current_version(self) -> str | None:
        return self.store.current_version()

    def _load(self) -> IndexView:
        return self.store.load(expect_model_id=self.embedder.model_id)

    # -- models and index, loaded once -------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(
                    self.settings.embedder,
                    self.settings.model,
                    precision=self.settings.embed_precision,
                )
            return self._embedder

    @property
    def query_embedder(self) -> Embedder:
        """What embeds questions and answer sentences: the ONNX export of the model when the
        index folder has one (asking then never imports torch: ~1 s instead of ~10 s for a
        one-shot `qabot ask`), otherwise the build embedder. Same vectors within 1e-4."""
        with self._lock:
            if self._query_embedder is None:
                self._query_embedder = self._onnx_embedder() or self.embedder
            return self._query_embedder

    @property
    def reranker(self) -> Reranker | None:
        """The cross-encoder of QABOT_RERANKER_MODEL, loaded on first use; None when unset."""
        name = self.settings.reranker_model.strip()
        if not name:
            return None
        with self._lock:
            if self._reranker is None:
                from qabot.search.reranking import Reranker

                self._reranker = Reranker(name)
            return self._reranker

    @property
    def reader(self) -> Reader | None:
        """The question-answering model of QABOT_READER_MODEL, loaded on first use; None when
        unset."""
        name = self.settings.reader_model.strip()
        if not name:
            return None
        with self._lock:
            if self._reader is None:
                from qabot.answer.reader import Reader

                self._reader = Reader(name)
            return self._reader

    @property
    def threshold(self) -> float:
        """What "not found" is decided on: QABOT_RERANKER_THRESHOLD on the cross-encoder's score
        when set, else QABOT_SCORE_THRESHOLD on the embedder's confidence; unset, the embedder's
        calibrated threshold for a collection of this many passages
        (`Calibration.threshold_for`)."""
        s = self.settings
        if s.reranker_gate:
            return s.reranker_threshold
        if not self._calibrated_threshold:
            return s.score_threshold
        loaded = self._loaded
        if loaded is None:  # eval asks before the first question; nothing to size without one
            if not self.has_index():
                return s.score_threshold
            loaded = self._index()
        return calibration(s.embedder, s.model).threshold_for(loaded.n_chunks)

    def _onnx_folder(self) -> Path | None:
        s = self.settings
        if not backend(s.embedder).onnx_query or not s.onnx_query:
            return None
        return s.index_dir / "onnx"

    def _onnx_embedder(self) -> Embedder | None:
        folder = self._onnx_folder()
        if folder is None or self._embedder_given:  # an embedder given in code wins
            return None
        from qabot.embedders.onnx import OnnxQueryEmbedder, is_exported
        from qabot.embedders.st import SentenceTransformerEmbedder

        if not is_exported(folder, model=self.settings.model):
            return None
        try:
            model_id = SentenceTransformerEmbedder(self.settings.model).model_id  # loads nothing
            return OnnxQueryEmbedder(folder, model_id=model_id)
        except QabotError as exc:
            log.warning("ONNX query model unusable, using sentence-transformers: %s", exc)
            return None

    def _export_query_model(self) -> None:
        """After a build, with the index lock held: export the model to ONNX once (per model)
        for fast asking, after removing what killed exports left behind (~90 MB each)."""
        from qabot.embedders.onnx import is_exported
        from qabot.embedders.onnx_export import export_onnx, remove_leftovers

        remove_leftovers(self.settings.index_dir / "onnx")  # whatever the settings are now
        folder = self._onnx_folder()
        if folder is None:
            return
        if is_exported(folder, model=self.settings.model):
            return
        try:
            export_onnx(self.settings.model, folder)
        except (QabotError, OSError) as exc:  # the index is built: only asking gets slower
            log.warning("no fast query path (asking will load sentence-transformers): %s", exc)

    @property
    def index_version(self) -> str | None:
        loaded = self._loaded
        return loaded.version if loaded else self._current_version()

    def _index(self) -> IndexView:
        loaded = self._loaded
        if loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
                loaded = self._loaded
        return loaded

    def loaded_index(self) -> IndexView:
        """The index version in use, loaded on first use (its `retriever`; the files store's
        view also its `data`: documents, chunks, vectors). Read-only: for tools that look
        inside the index (bench/experiments/)."""
        return self._index()

    def reload_if_changed(self) -> bool:
        """Load the index version another process made current, if any. True when swapped."""
        current = self._current_version()
        loaded = self._loaded
        if current is None or (loaded is not None and loaded.version == current):
            return False
        with self._lock:
            if self._loaded is not None and self._loaded.version == current:
                return False
            fresh = self._load()
            self._loaded = fresh  # readers holding the old one finish with it
        log.info("loaded index version %s", fresh.version)
        return True

    # -- asking ------------------------------------------------------------------------------
    def check_question(self, question: str) -> str:
        """The question normalised, or QuestionError (`qabot.search.question.check_question`)."""
        return check_question(question, max_chars=self.settings.max_question_chars)

    def ask(self, question: str, *, k: int | None = None, as_of: dt.date | None = None) -> Answer:
        """The best passages for a question, or found=False when its confidence is below the
        threshold. Greetings and @mentions are not searched (`qabot.search.question.search_text`).
        Dated documents near `as_of` (the day the question is asked: today unless given) rank
        higher (`Recency`)."""
        question = self.check_question(question)
        k = k or self.settings.top_k
        query = search_text(question)
        with span("embed_query"):
            qvec = self.query_embedder.embed_query(query)
        try:
            answer = self._answer(query, qvec, k=k, as_of=as_of)
        except IndexCorruptError:
            # The version loaded here may be gone (a Qdrant collection dropped two full
            # rebuilds later, by another process): read the live one and ask again.
            if not self.reload_if_changed():
                raise
            log.info("the loaded index version was replaced and removed; asking the new one")
            answer = self._answer(query, qvec, k=k, as_of=as_of)
        answer.question = question
        return answer

    def _answer(self, query: str, qvec: np.ndarray, *, k: int, as_of: dt.date | None) -> Answer:
        with span("retrieve"):
            retrieval = self.retrieve(query, qvec, n=k * 3 + 5, as_of=as_of)
        with span("answer"):
            return self.answer(query, qvec, retrieval, k=k)

    @property
    def recency(self) -> Recency:
        s = self.settings
        return Recency(half_life_days=s.recency_half_life_days, weight=s.recency_weight)

    def retrieve(
        self, question: str, qvec: np.ndarray, *, n: int, as_of: dt.date | None = None
    ) -> Retrieval:
        """The `n` best chunks in the configured retrieval mode. Over-fetch (n > k): near-
        duplicate neighbouring chunks are dropped before the top k. With a reranker, at least
        enough chunks for QABOT_RERANK_CANDIDATES distinct passages, the re-scored ones first
        (and with QABOT_RERANKER_THRESHOLD, the best cross-encoder score as the confidence)."""
        reranker = self.reranker
        s = self.settings
        loaded = self._index()
        retrieval = loaded.retriever.retrieve(
            question=question,
            qvec=qvec,
            # Neighbouring chunks overlap: twice as many rows leave enough distinct passages.
            n=max(n, 2 * s.rerank_candidates + 5) if reranker else n,
            mode=s.retrieval_mode,
            lexical_weight=s.lexical_weight,
            calib=calibration(s.embedder, s.model),
            recency=self.recency,
            as_of=(as_of or dt.date.today()).toordinal(),
        )
        if reranker is None:
            return retrieval
        from qabot.search.reranking import rerank

        ranked = rerank(
            question,
            retrieval.candidates,
            chunk=loaded.chunk,
            scorer=reranker.scores,
            n=s.rerank_candidates,
        )
        retrieval = replace(retrieval, candidates=ranked)
        if s.reranker_gate:  # the cross-encoder's score alone decides
            best = ranked[0].rerank if ranked else None
            retrieval = replace(retrieval, confidence=best)
        return retrieval

    def chunk(self, row: int) -> Chunk:
        """Chunk `row` of the loaded index (a `Candidate.row`)."""
        return self._index().chunk(row)

    def answer(
        self,
        question: str,
        qvec: np.ndarray,
        retrieval: Retrieval,
        *,
        k: int,
        threshold: float | None = None,
        answer_params: AnswerParams = DEFAULT_ANSWER,
    ) -> Answer:
        """Passages and the answer sentence from a retrieval (`self.threshold` unless given),
        chosen as `answer_params` says; with a reader, its exact span, whose passage then goes
        first."""
        loaded = self._index()
        calib = calibration(self.settings.embedder, self.settings.model)
        chunk_of = {c.row: loaded.chunk(c.row) for c in retrieval.candidates}
        ranked = [(chunk_of[c.row], c.dense) for c in retrieval.candidates]
        # The reader reads the first QABOT_TOP_K passages whatever k is asked for, so a longer
        # list (the bot's "More results" asks again with a larger k) keeps the same answer first.
        reading = self.settings.top_k if self.settings.reader_model.strip() else 0
        answer = make_answer(
            question=question,
            qvec=qvec,
            ranked=ranked,
            confidence=retrieval.confidence,
            k=max(k, reading),
            threshold=self.threshold if threshold is None else threshold,
            embedder=self.query_embedder,
            lexical=loaded.retriever.lexical,
            # With QABOT_RERANKER_THRESHOLD the cross-encoder's score (0..1) alone decides.
            sentence_weight=0.0 if self.settings.reranker_gate else calib.sentence,
            ceiling=1.0
            if self.settings.reranker_gate
            else calib.ceiling(overlap_weight=answer_params.overlap_weight),
            stored=loaded.stored_sentences(chunk_of),
            # A cross-encoder's order is kept: it read each passage with the question.
            params=replace(answer_params, answer_passages=1)
            if self.settings.reranker_model.strip()
            else answer_params,
        )
        reranked = {chunk_of[c.row]: c.rerank for c in retrieval.candidates if c.rerank is not None}
        if reranked:
            answer.hits = [replace(h, rerank_score=reranked.get(h.chunk)) for h in answer.hits]
        if reading and answer.found:
            from qabot.answer.reader import read_answer

            answer = read_answer(answer, self.reader, n=reading)
            answer.hits = answer.hits[:k]
        return answer

    # -- the index ---------------------------------------------------------------------------
    def has_index(self) -> bool:
        return self._current_version() is not None

    def build(self, *, full: bool = False, progress: bool = False) -> BuildReport:
        """Incremental build (or `full` from scratch); the new version is live on return."""
        options = BuildOptions(
            seeds_dir=self.settings.seeds_dir,
            chunk_tokens=self.settings.chunk_tokens,
            chunk_overlap=self.settings.chunk_overlap,
            batch_size=self.settings.batch_size,
            ann=self.settings.vector_index,
            sentences=builds_sentence_vectors(
                embedder=self.settings.embedder,
                model=self.settings.model,
                setting=self.settings.sentence_vectors,
            ),
            max_document_chars=self.settings.max_document_chars,
            follow_external_links=self.settings.follow_external_links,
        )
        loaded = self._loaded
        # The build starts from the version held here and hands back the new one: neither is
        # read from disk (at 100k chunks each read costs ~0.8 s). The export runs under the
        # build's lock too, so a build may remove the folders a killed export left.
        with self.store.lock():
            report, written = pipeline.build(
                store=self.store,
                embedder=self.embedder,
                options=options,
                full=full,
                progress=progress,
                held=loaded,
            )
            with span("onnx_export"):
                self._export_query_model()
        if written is not None:
            with self._lock:
                if self.store.current_version() == written.version:
                    self._loaded = written  # readers holding the old one finish with it
                    log.info("loaded index version %s", written.version)
        with span("reload"):
            self.reload_if_changed()
        return report

    def status(self) -> IndexStatus:
        return pipeline.status(
            store=self.store,
            seeds_dir=self.settings.seeds_dir,
            follow_external_links=self.settings.follow_external_links,
        )

    def verify(self) -> Verification:
        """Everything of the current version checked against its manifest (every file hashed,
        or every point counted), then the version loaded. Raises IndexCorruptError naming what
        is damaged."""
        return self.store.verify(expect_model_id=self.embedder.model_id)

    def add_files(self, paths: list[Path], *, progress: bool = False) -> BuildReport:
        """Copy files or folders into the seeds folder, then build incrementally."""
        seeds = self.settings.seeds_dir
        missing = [str(p) for p in paths if not Path(p).exists()]
        if missing:
            raise QabotError(f"no such file or folder: {', '.join(missing)}")
        # The lock first: a second `index add` is refused before it copies anything, instead
        # of leaving its files in seeds/ unindexed.
        with self.store.lock():
            copies = []  # (source, target) of every file, folders walked
            for path in map(Path, paths):
                target = seeds / path.name
                if path.resolve() == target.resolve():
                    continue
                if path.is_dir():
                    files = sorted(p for p in path.rglob("*") if p.is_file())
                    copies += [(f, target / f.relative_to(path)) for f in files]
                else:
                    copies.append((path, target))
            created: list[Path] = []
            try:
                seeds.mkdir(parents=True, exist_ok=True)
                for source, target in copies:
                    is_new = not target.exists()
                    _copy_file(source, target)
                    if is_new:
                        created.append(target)
            except OSError as exc:  # a full disk: take back this command's new files
                for path in created:
                    path.unlink(missing_ok=True)
                for _, target in reversed(copies):  # and the folders left empty
                    for parent in target.parents:
                        if parent == seeds or seeds not in parent.parents:
                            break
                        with contextlib.suppress(OSError):
                            parent.rmdir()  # only when empty
                raise write_error(seeds, exc, setting="QABOT_SEEDS_DIR") from exc
            return self.build(progress=progress)

    def fetch_link(self, url: str) -> Page:
        """Fetch a web page to add (QABOT_LINKS_ALLOW_PRIVATE, QABOT_LINK_MAX_BYTES,
        QABOT_LINK_TIMEOUT_SECONDS); LinkError says why one is refused."""
        s = self.settings
        return links.fetch(
            url,
            allow_private=s.links_allow_private,
            timeout=s.link_timeout_seconds,
            max_bytes=s.link_max_bytes,
        )

    def add_page(self, page: Page, *, progress: bool = False) -> tuple[str, BuildReport]:
        """Store a fetched page below seeds/links/ and build; returns its name below seeds/
        and the report. A page with the same content as a file already indexed (see the
        report's duplicates) leaves no new file behind."""
        with self.store.lock():
            target, existed = links.store_page(
                page, seeds_dir=self.settings.seeds_dir, max_chars=self.settings.max_document_chars
            )
            rel = links.file_name(page.url)
            try:
                report = self.build(progress=progress)
            except BaseException:
                if not existed:
                    target.unlink(missing_ok=True)
                raise
            if not existed and rel in dict(report.duplicates):
                target.unlink(missing_ok=True)
        return rel, report

    def add_url(self, url: str, *, progress: bool = False) -> tuple[str, BuildReport]:
        """Fetch a web page and add it (`fetch_link`, then `add_page`)."""
        return self.add_page(self.fetch_link(url), progress=progress)

    def indexed_as(self, sha256: str) -> str | None:
        """The file of the current index with these bytes (by the hash its manifest records),
        or None."""
        return self.store.indexed_as(sha256)

    def documents(self) -> list[tuple[str, str, int]]:
        """(doc_id, title, number of chunks) of each document in the loaded index."""
        return self._index().documents()

    def context(self, doc_id: str, start: int, end: int, *, chars: int = 600) -> str:
        """The passage with up to `chars` characters around it, cut at line or sentence ends."""
        doc = self._index().document(doc_id)
        if doc is None:
            raise IndexMissingError(f"document {doc_id} is no longer in the index")
        text = doc.text
        lo = max(0, start - chars // 2)
        hi = min(len(text), end + chars // 2)
        # Widen to whole sentences or lines: start after the first boundary inside the left
        # margin, stop at the last boundary inside the right one.
        if lo > 0:
            cuts = [p for p in (text.find("\n", lo, start), text.find(". ", lo, start)) if p >= 0]
            lo = min(cuts) + 1 if cuts else lo
        if hi < len(text):
            cut = max(text.rfind("\n", end, hi), text.rfind(". ", end, hi))
            hi = cut + 1 if cut >= end else hi
        return text[lo:hi].strip()


def _copy_file(source: Path, target: Path) -> None:
    """Copy one file into the seeds folder whole or not at all: through a hidden temporary name
    (which scans ignore), renamed into place; a full disk leaves no truncated document."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.qabot-tmp")
    try:
        shutil.copy2(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
