"""The store named by QABOT_VECTOR_STORE, opened from the settings: the one place that knows
which stores exist. A new store is a module implementing qabot/stores/base.py's `Store` and
one line here."""

from __future__ import annotations

from collections.abc import Callable

from qabot.config import Settings
from qabot.stores.base import Store


def _files(settings: Settings) -> Store:
    from qabot.stores.files.store import FilesStore

    return FilesStore(settings.index_dir, ann_setting=settings.vector_index)


def _qdrant(settings: Settings) -> Store:
    # Imported on use: qdrant-client costs ~0.3 s to import, and the files store needs none.
    from qabot.stores.qdrant.store import QdrantStore

    return QdrantStore.from_settings(settings)


# QABOT_VECTOR_STORE: "faiss" names the files store (FAISS and arrays below index/).
STORES: dict[str, Callable[[Settings], Store]] = {"faiss": _files, "qdrant": _qdrant}


def open_store(settings: Settings) -> Store:
    """The index store the settings select."""
    return STORES[settings.vector_store](settings)
