"""The Qdrant store (QABOT_VECTOR_STORE=qdrant): the contract of qabot/stores/base.py over the
versioned collections of qabot/stores/qdrant/index.py."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from qabot.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, QabotError
from qabot.search.lexical import ANALYZER
from qabot.stores.base import Previous, Store, Verification
from qabot.stores.lock import BuildLock
from qabot.stores.plan import BuildPlan, Embedded
from qabot.stores.qdrant import build
from qabot.stores.qdrant.index import Current, QdrantIndex, check_model, doc_point_id
from qabot.stores.qdrant.lease import Lease
from qabot.stores.qdrant.search import QdrantView
from qabot.types import IndexStatus

log = logging.getLogger("qabot")


class QdrantStore(Store):
    """One qabot index in Qdrant; one builder at a time (`lock`)."""

    def __init__(self, index: QdrantIndex, *, lock_dir: Path) -> None:
        self.index = index
        self._file_lock = BuildLock(lock_dir)  # builds of this machine's seeds/
        self.lease = Lease(index)  # builders anywhere (qabot/stores/qdrant/lease.py)

    @classmethod
    def from_settings(cls, settings) -> QdrantStore:
        return cls(QdrantIndex.from_settings(settings), lock_dir=settings.index_dir)

    # -- reading ---------------------------------------------------------------------------
    def current_version(self) -> str | None:
        current = self.index.current()
        return current.version if current else None

    def load(self, *, expect_model_id: str | None = None) -> QdrantView:
        index = self.index
        current = index.current()
        if current is None:
            raise IndexMissingError(
                f"no index in Qdrant ({index.name} at {index.where}): run `qabot index build`"
            )
        if not index.filters:  # one process: strays of a killed build go before it reads
            index.drop_leftovers(current.collection)
        manifest = index.manifest(current.collection)
        check_model(manifest, expect_model_id=expect_model_id, expect_dim=None)
        return QdrantView(index, Current(current.collection, int(manifest["gen"])), manifest)

    def indexed_files(self) -> dict[str, dict]:
        try:
            collection = self.index.target()
            if collection is None:
                return {}
            # Only the files: the manifest's vocabulary is most of its size.
            return self.index.manifest(collection, fields=["files"]).get("files", {})
        except (QabotError, OSError, ValueError):
            return {}

    def status(self) -> IndexStatus:
        index = self.index
        current = index.target()
        if current is None:
            return IndexStatus(built=False)
        fields = ["docs", "chunks", "model_id", "built_at", "skipped"]  # not the vocabulary
        manifest = index.manifest(current, fields=fields)
        st = IndexStatus(
            built=True,
            documents=len(manifest.get("docs", {})),
            chunks=manifest.get("chunks", 0),
            model_id=manifest.get("model_id"),
            built_at=manifest.get("built_at"),
            skipped=[tuple(s) for s in manifest.get("skipped", [])],
            location=f"Stored in: Qdrant collection {index.name} -> {current} at {index.where}",
        )
        if index.local and index.where != ":memory:":
            folder = Path(index.where) / "collection" / current  # local mode's layout
            st.size_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        return st

    def verify(self, *, expect_model_id: str | None = None) -> Verification:
        """The catalogue (the manifest's documents) against the points: every listed document
        has its document point and all its passage points, and the live generation holds no
        point the catalogue does not list."""
        from qdrant_client import models as m

        index = self.index
        view = self.load(expect_model_id=expect_model_id)
        gen, collection = view.current.gen, view.collection
        live = m.Filter(
            must=[m.FieldCondition(key="gen", range=m.Range(lte=gen))],
            must_not=[m.FieldCondition(key="until", range=m.Range(lte=gen))],
        )
        count = index.client.count(collection, count_filter=live, exact=True).count
        expected = int(view.manifest["points"])
        problems = []
        if count != expected:
            problems.append(f"its live generation holds {count} points, its catalogue {expected}")
        listed: list = []
        for doc_id, entry in view.docs.items():
            listed.append(doc_point_id(doc_id, entry[0]))
            listed.extend(range(int(entry[1]), int(entry[1]) + int(entry[2])))
        found = 0
        for start in range(0, len(listed), 1000):
            batch = listed[start : start + 1000]
            found += len(index.client.retrieve(collection, ids=batch, with_payload=False))
        if found != len(listed):
            problems.append(f"{len(listed) - found} points its catalogue lists are missing")
        if problems:
            raise IndexCorruptError(
                f"the Qdrant collection {collection} is damaged ({'; '.join(problems)}): "
                "run `qabot index rebuild`"
            )
        summary = (
            f"Index version {view.version} is intact: {view.n_chunks} chunks of "
            f"{len(view.docs)} documents in Qdrant ({index.where}), built with "
            f"{view.model_id}; every point of its catalogue present, none outside it."
        )
        return Verification(view.version, files=expected, summary=summary)

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """This machine's file lock, then the lease in Qdrant that every builder of the index
        takes (both re-entrant within one thread)."""
        with self._file_lock, self.lease:
            yield

    def clean(self) -> None:
        self.index.clean()

    def previous(self, *, held=None) -> Previous | None:
        try:
            collection = self.index.target()
            if collection is None:
                return None
            manifest = self.index.manifest(collection)
        except (IndexCorruptError, IndexMismatchError) as exc:
            log.warning("previous Qdrant index unusable (%s); embedding everything again", exc)
            return None
        docs: dict = manifest.get("docs", {})
        return Previous(
            version=f"{collection}#{manifest.get('gen')}",
            model_id=manifest.get("model_id", ""),
            chunking=manifest.get("chunking"),
            files=manifest.get("files", {}),
            doc_sha={d: e[0] for d, e in docs.items()},
            doc_chunks={d: int(e[2]) for d, e in docs.items()},
            documents=len(docs),
            chunks=int(manifest.get("chunks", 0)),
            stale=manifest.get("lexical", {}).get("analyzer") != ANALYZER,
            state=(collection, manifest),
        )

    def write(self, *, plan: BuildPlan, previous: Previous | None, embedded: Embedded) -> None:
        build.write(
            self.index, plan=plan, previous=previous, embedded=embedded, check=self.lease.check
        )
        return None  # the caller loads the new generation (a few requests)
