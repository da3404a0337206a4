"""The interface every embedding backend implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

# Called after each batch with the number of texts just embedded (drives progress bars).
ProgressCallback = Callable[[int], None]


class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors, so inner product is cosine similarity."""

    @property
    def model_id(self) -> str:
        """Stable name of backend and model, recorded in the index manifest (a mismatch refuses)."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    @property
    def max_tokens(self) -> int:
        """Word pieces of passage text the model reads (special tokens excluded); more is cut."""
        ...

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, as the model's own tokenizer counts them (no special tokens)."""
        ...

    def embed_passages(
        self, texts: list[str], *, batch_size: int = 32, on_batch: ProgressCallback | None = None
    ) -> np.ndarray:
        """Vectors for passages, shape (len(texts), dim), float32, each of norm 1."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Vector for one question, shape (dim,), float32, norm 1."""
        ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Scale rows to unit length (rows of zeros stay zero) and return float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        n = float(np.linalg.norm(vectors))
        return vectors / n if n > 0 else vectors
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)
