"""A model-free embedder: hashed bag of words. Deterministic and instant.

Not semantic (it matches words, not meaning): it exists for unit tests and smoke runs where loading
a real model would cost seconds. Select with ``QABOT_EMBEDDER=hashing``.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from qabot.embedders.base import ProgressCallback, normalize

_WORD = re.compile(r"\w+", re.UNICODE)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class HashingEmbedder:
    """Bag of words hashed into `dim` buckets (blake2b, so the same across runs and machines)."""

    def __init__(self, dim: int = 256, max_tokens: int = 256) -> None:
        self._dim = dim
        self._max_tokens = max_tokens
        self.passages_embedded = 0  # tests use this to prove what was (not) re-embedded

    @property
    def model_id(self) -> str:
        return f"hashing:{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(_tokens(t)) for t in texts]

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        for tok in _tokens(text)[: self._max_tokens]:
            h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
            vec[h % self._dim] += 1.0 if (h >> 32) & 1 else -1.0
        return vec

    def embed_passages(
        self, texts: list[str], *, batch_size: int = 32, on_batch: ProgressCallback | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            for i, text in enumerate(batch):
                out[start + i] = self._vector(text)
            if on_batch:
                on_batch(len(batch))
        self.passages_embedded += len(texts)
        return normalize(out)

    def embed_query(self, text: str) -> np.ndarray:
        return normalize(self._vector(text))
