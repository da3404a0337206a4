"""One writer per Qdrant index, enforced by Qdrant itself: a lease point that builders on any
machine take with a conditional write.

The lease is one point in a small collection beside the index (`<QABOT_QDRANT_COLLECTION>-lock`,
which no full build replaces). Taking it is an insert-only upsert (`UpdateMode.INSERT_ONLY`):
of two builders, one inserts and the other finds the point present. A lease whose holder
stopped renewing it (killed, out of memory, the machine gone) expires after `LEASE_SECONDS`,
at once when its holder was a process of this machine that is gone; taking it over is an update
whose filter matches only that stale lease, so of two builders that both saw it stale, one wins. The holder renews it from a thread while the build runs and
checks it before every commit (`check`): a builder that lost its lease (paused past the expiry)
stops before its commit instead of writing over another's.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from qabot.errors import IndexLockedError

log = logging.getLogger("qabot")

LEASE_ID = str(uuid.UUID(int=7))
LEASE_SECONDS = 60.0  # a killed holder blocks builds this long at most
RENEW_EVERY = LEASE_SECONDS / 4


class Lease:
    """The build lease of the Qdrant index `index` (a QdrantIndex), re-entrant within one
    thread like the file lock."""

    def __init__(self, index, *, seconds: float = LEASE_SECONDS) -> None:
        self.index = index
        self.collection = f"{index.name}-lock"
        self.seconds = seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._depth = 0
        self._owner: int | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # -- the context manager ---------------------------------------------------------------
    def __enter__(self) -> Lease:
        if self._depth and self._owner == threading.get_ident():
            self._depth += 1
            return self
        self._acquire()
        self._owner, self._depth = threading.get_ident(), 1
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name="qabot-lease", daemon=True)
        self._renewer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth:
            return
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        self._owner = self._renewer = None
        try:
            self._release()
        except Exception as error:  # expires by itself
            log.warning(
                "could not release the Qdrant build lease (%s): it expires by itself", error
            )

    # -- Qdrant -----------------------------------------------------------------------------
    def _payload(self) -> dict:
        now = time.time()
        return {
            "holder": self.holder,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)),
            "expires": now + self.seconds,
        }

    def _point(self):
        from qdrant_client import models as m

        return m.PointStruct(id=LEASE_ID, vector={}, payload=self._payload())

    def _ensure_collection(self) -> None:
        client = self.index.client
        if not client.collection_exists(self.collection):
            try:
                from qdrant_client import models as m

                # One point, no vector of its own: a 1-dimensional named vector keeps the
                # collection valid on servers that refuse one without any vector config.
                client.create_collection(
                    self.collection,
                    vectors_config={"none": m.VectorParams(size=1, distance=m.Distance.DOT)},
                )
            except Exception:  # another builder made it meanwhile
                if not client.collection_exists(self.collection):
                    raise

    def _read(self) -> dict | None:
        points = self.index.client.retrieve(self.collection, ids=[LEASE_ID], with_payload=True)
        return points[0].payload if points else None

    def _acquire(self) -> None:
        from qdrant_client import models as m

        self._ensure_collection()
        client = self.index.client
        client.upsert(
            self.collection, points=[self._point()], update_mode=m.UpdateMode.INSERT_ONLY, wait=True
        )
        current = self._read()
        if current is not None and current.get("holder") != self.holder:
            # Held by another. Taken over only if it expired, or if its holder was a process of
            # this machine that is gone (killed): conditionally, so of two builders one wins.
            if _dead_here(current):
                stale = m.FieldCondition(
                    key="holder", match=m.MatchValue(value=str(current.get("holder")))
                )
            else:
                stale = m.FieldCondition(key="expires", range=m.Range(lt=time.time()))
            client.upsert(
                self.collection,
                points=[self._point()],
                update_filter=m.Filter(must=[stale]),
                update_mode=m.UpdateMode.UPDATE_ONLY,
                wait=True,
            )
            current = self._read()
        if current is None or current.get("holder") != self.holder:
            raise self._refused(current)

    def _refused(self, current: dict | None) -> IndexLockedError:
        who = "another process"
        if current:
            who = f"{current.get('host')} (pid {current.get('pid')}, since {current.get('since')})"
        return IndexLockedError(
            f"another build holds the Qdrant index {self.index.name} at {self.index.where}: "
            f"{who}. Wait for it to finish, then try again; a killed build's hold expires "
            f"after {int(self.seconds)} s"
        )

    def _mine(self):
        from qdrant_client import models as m

        return m.Filter(
            must=[m.FieldCondition(key="holder", match=m.MatchValue(value=self.holder))]
        )

    def _renew(self) -> None:
        from qdrant_client import models as m

        self.index.client.upsert(
            self.collection,
            points=[self._point()],
            update_filter=self._mine(),
            update_mode=m.UpdateMode.UPDATE_ONLY,
            wait=True,
        )

    def _renew_loop(self) -> None:
        while not self._stop.wait(min(RENEW_EVERY, self.seconds / 4)):
            try:
                self._renew()
            except Exception as error:  # a failed renewal shows at the commit's check
                log.warning("could not renew the Qdrant build lease: %s", error)

    def check(self) -> None:
        """Before a commit: the lease is still this builder's (else IndexLockedError: another
        builder took it over after it expired, and this build must not commit)."""
        current = self._read()
        if current is None or current.get("holder") != self.holder:
            raise IndexLockedError(
                f"this build lost its hold on the Qdrant index {self.index.name} (paused past "
                f"{int(self.seconds)} s?) and stopped before its commit: run it again"
            )
        if float(current.get("expires", 0)) < time.time():
            self._renew()  # expired but nobody took it: renew (conditional: still ours)
            self.check()

    def _release(self) -> None:
        from qdrant_client import models as m

        self.index.client.delete(
            self.collection,
            points_selector=m.FilterSelector(
                filter=m.Filter(must=[m.HasIdCondition(has_id=[LEASE_ID]), *self._mine().must])
            ),
            wait=True,
        )


def _dead_here(lease: dict) -> bool:
    """Whether the lease's holder was a process of this machine that no longer runs."""
    if lease.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(lease.get("pid", 0)), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError, TypeError):  # alive under another user, or a damaged lease
        return False
    return False
