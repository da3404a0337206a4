"""The index in Qdrant (QABOT_VECTOR_STORE=qdrant): one collection holds everything a question
needs, so a process on another machine answers with no copy of seeds/ or index/.

    <collection>                 an alias: the name questions use
    <collection>-v-<time>-<rand> the versioned collection it points to, made by a full build
      chunk points   id 0, 1, 2, ...: vectors "dense" (the embedding, L2-normalised: dot product
                     = cosine, as FAISS's inner product) and "bm25" (sparse: qabot's own analyser's
                     terms, each weighted by BM25's tf part), payload: the passage and its source
      document points  no vectors; payload: the document's text (for the context around a hit)
      the manifest point  no vectors; payload: model, dimension, chunking, files and documents
                     with their hashes, the BM25 statistics, and `gen`, the live generation

Nothing half-written is ever visible to questions:
- A full build (the first, `rebuild`, another model or chunking) fills a new versioned collection
  and then moves the alias in one request (Qdrant swaps aliases atomically). The previous
  collection stays one build longer for processes still reading it.
- An incremental build writes its new points with `gen` = live + 1 and marks the points it
  replaces with `until` = live + 1, then commits by rewriting the manifest point (one point: atomic).
  With a server, readers filter on the generation they loaded (gen <= live, not until <= live),
  so several processes read one consistent generation; the next build deletes the retired points.
  Local mode serves one process (Qdrant locks its folder): a lock in the process keeps questions
  out while the new points and the manifest are written, and no filter is needed (a filter is a
  Python loop over every point there: 117 ms at 5k points).
- A build killed midway leaves points of a generation that never went live, or retired points not
  yet deleted: the next build finds the point count differing from the manifest's and deletes them
  (in local mode, so does the next load, before any question).

Local mode answers with Qdrant's own queries, as a server does: it is for tests and small
collections (its queries are Python loops over every point); FAISS is the one-machine store.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qabot.errors import (
    ConfigError,
    IndexCorruptError,
    IndexMismatchError,
    StoreUnavailableError,
)
from qabot.stores.qdrant.names import DENSE, SPARSE

log = logging.getLogger("qabot")

FORMAT = "qabot-qdrant/1"
MANIFEST_ID = str(uuid.UUID(int=1))
_DOC_NAMESPACE = uuid.UUID("6f1e3c52-3d8a-4f53-9a51-3f0b1c9a7e21")
UPSERT_BATCH = 256
PAYLOAD_CACHE = 20_000  # chunk payloads kept per process (ids are never reused: never stale)
# Every read asks for a live answer within this many seconds (an unreachable server fails fast).
TIMEOUT = 30


def doc_point_id(doc_id: str, sha256: str) -> str:
    """A document's point: one per (document, text), so a changed text is a new point and the
    old one stays readable until its generation retires."""
    return str(uuid.uuid5(_DOC_NAMESPACE, f"{doc_id}\0{sha256}"))


# -- connecting ------------------------------------------------------------------------------
_LOCAL: dict[str, tuple[Any, threading.RLock]] = {}
_LOCAL_GUARD = threading.Lock()


def _local_client(path: str) -> tuple[Any, threading.RLock]:
    """One local-mode client per folder and process (Qdrant locks the folder per client), and
    its lock."""
    from qdrant_client import QdrantClient

    key = path if path == ":memory:" else str(Path(path).resolve())
    with _LOCAL_GUARD:
        if key not in _LOCAL:
            try:
                if key == ":memory:":
                    client = QdrantClient(location=":memory:")
                else:
                    Path(key).mkdir(parents=True, exist_ok=True)
                    client = QdrantClient(path=key)
            except RuntimeError as exc:  # "already accessed by another instance"
                raise StoreUnavailableError(
                    f"the Qdrant folder {key} is open in another process (a running `qabot bot`?):"
                    " local mode serves one process at a time - stop the other one, or run a "
                    "Qdrant server and set QABOT_QDRANT_URL (README, Qdrant)"
                ) from exc
            _LOCAL[key] = (client, threading.RLock())
        return _LOCAL[key]


@atexit.register
def _close_all() -> None:
    # Closed before the interpreter tears down the modules the client's __del__ needs.
    for key in list(_LOCAL):
        close_local(key)


def close_local(path: str) -> None:
    """Release a local-mode folder (tests, benchmarks)."""
    key = path if path == ":memory:" else str(Path(path).resolve())
    with _LOCAL_GUARD:
        entry = _LOCAL.pop(key, None)
    if entry is not None:
        entry[0].close()


class _Guarded:
    """The client with every call's failure turned into a message a user can act on."""

    def __init__(self, client: Any, where: str) -> None:
        self._client = client
        self._where = where

    def __getattr__(self, name: str):
        method = getattr(self._client, name)

        def call(*args, **kwargs):
            with translate_errors(self._where):
                return method(*args, **kwargs)

        return call


@contextlib.contextmanager
def translate_errors(where: str) -> Iterator[None]:
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    try:
        yield
    except ResponseHandlingException as exc:
        raise StoreUnavailableError(
            f"cannot reach the Qdrant server at {where} ({exc.source.__class__.__name__}: "
            f"{exc.source}): start it (README, Qdrant), or fix QABOT_QDRANT_URL"
        ) from exc
    except ValueError as exc:  # local mode reports a missing collection so
        if "not found" not in str(exc):
            raise
        raise IndexCorruptError(f"Qdrant at {where}: {exc}: run `qabot index rebuild`") from exc
    except UnexpectedResponse as exc:
        if exc.status_code in (401, 403):
            raise StoreUnavailableError(
                f"the Qdrant server at {where} refused the API key (HTTP {exc.status_code}): set "
                "QABOT_QDRANT_API_KEY to the server's key (or its read-write key for builds)"
            ) from exc
        detail = exc.content.decode("utf-8", "replace")[:200]
        raise StoreUnavailableError(
            f"the Qdrant server at {where} answered HTTP {exc.status_code} ({detail}): check "
            "the server's log, or run `qabot index rebuild`"
        ) from exc


# -- the store -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CollectionLayout:
    """How a full build creates its collection on a cluster (QABOT_QDRANT_SHARDS ...); None
    leaves the server's default."""

    shards: int | None = None
    replication: int | None = None
    write_consistency: int | None = None
    on_disk: bool = False
    hnsw_m: int | None = None
    hnsw_ef_construct: int | None = None
    quantization: str = "none"

    @classmethod
    def from_settings(cls, s) -> CollectionLayout:
        return cls(
            shards=s.qdrant_shards,
            replication=s.qdrant_replication,
            write_consistency=s.qdrant_write_consistency,
            on_disk=s.qdrant_on_disk,
            hnsw_m=s.qdrant_hnsw_m,
            hnsw_ef_construct=s.qdrant_hnsw_ef_construct,
            quantization=s.qdrant_quantization,
        )

    def create_options(self, dim: int) -> dict:
        """The keyword arguments of `create_collection` for `dim`-dimensional vectors."""
        from qdrant_client import models as m

        hnsw = None
        if self.hnsw_m is not None or self.hnsw_ef_construct is not None:
            hnsw = m.HnswConfigDiff(m=self.hnsw_m, ef_construct=self.hnsw_ef_construct)
        quantization = None
        if self.quantization == "int8":
            quantization = m.ScalarQuantization(
                scalar=m.ScalarQuantizationConfig(type=m.ScalarType.INT8, always_ram=True)
            )
        dense = m.VectorParams(
            size=dim,
            distance=m.Distance.DOT,  # unit vectors: the dot product is the cosine
            on_disk=self.on_disk or None,
            hnsw_config=hnsw,
            quantization_config=quantization,
        )
        sparse = m.SparseVectorParams(
            index=m.SparseIndexParams(on_disk=True) if self.on_disk else None
        )
        options = {
            "vectors_config": {DENSE: dense},
            "sparse_vectors_config": {SPARSE: sparse},
            "shard_number": self.shards,
            "replication_factor": self.replication,
            "write_consistency_factor": self.write_consistency,
            "on_disk_payload": self.on_disk or None,
        }
        return {k: v for k, v in options.items() if v is not None}


@dataclass
class Current:
    """The live collection and generation (what `version` names)."""

    collection: str
    gen: int

    @property
    def version(self) -> str:
        return f"{self.collection}#{self.gen}"


class QdrantIndex:
    """One qabot index in Qdrant: the alias `name` and the versioned collections behind it."""

    def __init__(
        self,
        *,
        url: str,
        api_key: str,
        name: str,
        local_path: Path | str,
        layout: CollectionLayout | None = None,
    ) -> None:
        self.name = name
        self.layout = layout or CollectionLayout()
        self.local = not url.strip()
        if self.local:
            self.where = str(local_path)
            client, self._lock = _local_client(str(local_path))
        else:
            from qdrant_client import QdrantClient

            self.where = url
            self._lock = None
            client = QdrantClient(
                url=url, api_key=api_key or None, timeout=TIMEOUT, check_compatibility=False
            )
        self.client = _Guarded(client, self.where)
        # Whether questions filter on the generation they loaded: needed wherever another
        # process may write meanwhile (a server); tests turn it on in local mode too.
        self.filters = not self.local

    @classmethod
    def from_settings(cls, settings) -> QdrantIndex:
        return cls(
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key.get_secret_value(),
            name=settings.qdrant_collection,
            local_path=settings.qdrant_local_path,
            layout=CollectionLayout.from_settings(settings),
        )

    def reading(self):
        """Held around a search in local mode (a build's commit holds it too); free with a
        server, where the generation filter does that job across processes."""
        return self._lock if self._lock is not None else contextlib.nullcontext()

    # -- reading ---------------------------------------------------------------------------
    def target(self) -> str | None:
        """The versioned collection the alias names, or None before the first build."""
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == self.name:
                return alias.collection_name
        if self.client.collection_exists(self.name):
            raise ConfigError(
                f"Qdrant has a collection named {self.name} that qabot did not make (qabot's "
                "name is an alias of its own collections): set QABOT_QDRANT_COLLECTION to "
                "another name"
            )
        return None

    def current(self) -> Current | None:
        collection = self.target()
        if collection is None:
            return None
        head = self.manifest(collection, fields=["gen"])
        return Current(collection, int(head["gen"]))

    def manifest(self, collection: str, *, fields: list[str] | None = None) -> dict:
        wanted = sorted({"format", *fields}) if fields else True
        points = self.client.retrieve(collection, ids=[MANIFEST_ID], with_payload=wanted)
        if not points or not points[0].payload:
            raise IndexCorruptError(
                f"the Qdrant collection {collection} has no qabot manifest: run "
                "`qabot index rebuild`"
            )
        manifest = points[0].payload
        if manifest.get("format") != FORMAT:
            raise IndexMismatchError(
                f"the Qdrant collection {collection} has format {manifest.get('format')}, this "
                f"qabot reads {FORMAT}: run `qabot index rebuild`"
            )
        return manifest

    def visible(self, gen: int):
        """The filter that shows generation `gen` only (None in local mode, see the module
        docstring)."""
        if not self.filters:
            return None
        from qdrant_client import models as m

        return m.Filter(
            must=[m.FieldCondition(key="gen", range=m.Range(lte=gen))],
            must_not=[m.FieldCondition(key="until", range=m.Range(lte=gen))],
        )

    # -- writing (the build holds the index lock) ---------------------------------------------
    def versions(self) -> list[str]:
        prefix = f"{self.name}-v-"
        names = [c.name for c in self.client.get_collections().collections]
        return sorted(n for n in names if n.startswith(prefix))

    def clean(self, *, points: bool = True) -> None:
        """Drop versioned collections but the live one and the one before it, and (`points`)
        the points a killed or earlier build left in the live one."""
        live = self.target()
        versions = self.versions()
        keep = {live} if live else set()
        older = [v for v in versions if live is None or v < live]
        if older and live:
            keep.add(older[-1])
        for name in versions:
            if name not in keep:
                log.info("removing Qdrant collection %s", name)
                self.client.delete_collection(name)
        if live and points:
            self.drop_leftovers(live)

    def drop_leftovers(self, collection: str) -> None:
        from qdrant_client import models as m

        with self.reading():
            manifest = self.manifest(collection, fields=["gen", "points"])
            gen, expected = int(manifest["gen"]), int(manifest["points"])
            if self.client.count(collection, exact=True).count == expected:
                return
        log.warning("removing points a killed or earlier build left in %s", collection)
        stray = m.Filter(
            should=[
                m.FieldCondition(key="gen", range=m.Range(gt=gen)),
                m.FieldCondition(key="until", range=m.Range(lte=gen)),
            ]
        )
        with self.reading():
            self.client.delete(collection, points_selector=m.FilterSelector(filter=stray))

    def new_collection(self, *, dim: int) -> str:
        from qdrant_client import models as m

        now = time.time()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now % 1 * 1e6):06d}"
        name = f"{self.name}-v-{stamp}-{uuid.uuid4().hex[:6]}"
        self.client.create_collection(name, **self.layout.create_options(dim))
        if self.filters:  # the generation filter runs on every question: index its fields
            for key in ("gen", "until"):
                self.client.create_payload_index(name, key, m.PayloadSchemaType.INTEGER)
        return name

    def upsert(self, collection: str, points: list) -> None:
        log.info("writing %d points to %s", len(points), collection)
        for start in range(0, len(points), UPSERT_BATCH):
            self.client.upsert(collection, points=points[start : start + UPSERT_BATCH], wait=True)

    def write_manifest(self, collection: str, manifest: dict) -> None:
        from qdrant_client import models as m

        point = m.PointStruct(id=MANIFEST_ID, vector={}, payload=manifest)
        self.client.upsert(collection, points=[point], wait=True)

    def swap_alias(self, collection: str) -> None:
        """Point the alias at `collection`: one request, which Qdrant applies atomically."""
        from qdrant_client import models as m

        ops = []
        if self.target() is not None:
            ops.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=self.name)))
        ops.append(
            m.CreateAliasOperation(
                create_alias=m.CreateAlias(collection_name=collection, alias_name=self.name)
            )
        )
        self.client.update_collection_aliases(change_aliases_operations=ops)

    def sparse_of(self, collection: str, ids: list[int]) -> list:
        """The stored BM25 vectors of chunk points (for the statistics of retired chunks)."""
        out = []
        for start in range(0, len(ids), 1000):
            records = self.client.retrieve(
                collection, ids=ids[start : start + 1000], with_payload=False, with_vectors=[SPARSE]
            )
            out += [(r.vector or {}).get(SPARSE) for r in records]
        return out


def check_model(manifest: dict, *, expect_model_id: str | None, expect_dim: int | None) -> None:
    if expect_model_id and manifest.get("model_id") != expect_model_id:
        raise IndexMismatchError(
            f"the Qdrant index was built with {manifest.get('model_id')} but settings select "
            f"{expect_model_id}: run `qabot index rebuild`, or set QABOT_EMBEDDER/QABOT_MODEL "
            "back to what built it"
        )
    if expect_dim and manifest.get("dim") != expect_dim:
        raise IndexMismatchError(
            f"the Qdrant index holds {manifest.get('dim')}-dimensional vectors but the model "
            f"makes {expect_dim}: run `qabot index rebuild`"
        )
