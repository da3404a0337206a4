"""The optional cross-encoder reranker (QABOT_RERANKER_MODEL): re-scores the best passages.

A bi-encoder embeds question and passage apart; a cross-encoder reads them together, which ranks
better and costs one transformer pass per passage, so it sees only the first
QABOT_RERANK_CANDIDATES distinct passages of the retrieval. sentence-transformers (and torch)
are imported when the reranker is first used, never on the default path.

Scores are the sigmoid of the model's single logit, 0..1 whatever activation the model was saved
with (ms-marco cross-encoders save none and return raw logits): one scale for
QABOT_RERANKER_THRESHOLD and for `qabot eval`'s calibration table. The sigmoid keeps the order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qabot import hub
from qabot.errors import ModelLoadError
from qabot.search.retrieval import Candidate, distinct
from qabot.types import Chunk


def load_failure(setting: str, name: str, exc: BaseException, *, off: str) -> ModelLoadError:
    """The one-line error for an optional model that cannot be loaded, naming its setting."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return ModelLoadError(
        f"{setting}={name} could not be loaded: {reason} (check the name, or unset it to turn "
        f"the {off} off)"
    )


def quiet_loading() -> None:
    """No "Loading weights" progress bars from transformers in the middle of an answer."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def pair_text(chunk: Chunk) -> str:
    """What the cross-encoder reads of a passage: its title says what "it" and "he" are."""
    return f"{chunk.title}: {chunk.text}" if chunk.title else chunk.text


class Reranker:
    """A sentence-transformers `CrossEncoder` with one output, loaded on construction."""

    def __init__(self, name: str) -> None:
        try:
            from sentence_transformers import CrossEncoder

            quiet_loading()
            self.model = hub.load(name, lambda **kw: CrossEncoder(name, **kw))
            labels = self.model.num_labels
        except Exception as exc:  # OSError, HF hub errors, bad configs: all mean "cannot load"
            raise load_failure("QABOT_RERANKER_MODEL", name, exc, off="reranker") from exc
        head = getattr(next(iter(self.model), None), "transformer_task", None)
        saved = getattr(self.model.config, "architectures", None) or []
        if (
            head == "sequence-classification"
            and saved
            and not any(a.endswith("ForSequenceClassification") for a in saved)
        ):  # e.g. a QA or plain encoder: CrossEncoder would add an untrained, random head
            raise ModelLoadError(
                f"QABOT_RERANKER_MODEL={name} is a {saved[0]}, not a cross-encoder (a "
                "...ForSequenceClassification model with one score; unset it to turn the "
                "reranker off)"
            )
        if labels != 1:
            raise ModelLoadError(
                f"QABOT_RERANKER_MODEL={name} gives {labels} scores per pair; a reranker needs a "
                "cross-encoder with one relevance score (unset it to turn the reranker off)"
            )
        self.name = name

    def scores(self, question: str, chunks: list[Chunk]) -> np.ndarray:
        """Relevance of each chunk to the question, 0..1 (the sigmoid of the logit)."""
        if not chunks:
            return np.zeros(0, dtype=np.float64)
        import torch

        logits = self.model.predict(
            [(question, pair_text(c)) for c in chunks],
            activation_fn=torch.nn.Identity(),
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        logits = np.asarray(logits, dtype=np.float64).reshape(-1)
        return 1.0 / (1.0 + np.exp(-logits))


def rerank(
    question: str,
    candidates: list[Candidate],
    *,
    chunk: Callable[[int], Chunk],
    scorer: Callable[[str, list[Chunk]], np.ndarray],
    n: int,
) -> list[Candidate]:
    """The first `n` distinct candidates re-scored by `scorer` and sorted by it (ties keep the
    retrieval order), then the others in their order: near-duplicates of a re-scored passage
    stay behind it, so `distinct` still drops them."""
    chunks = {c.row: chunk(c.row) for c in candidates}
    by_chunk = {chunks[c.row]: c for c in candidates}
    top = [by_chunk[ch] for ch, _ in distinct([(chunks[c.row], c.dense) for c in candidates], n)]
    scores = scorer(question, [chunks[c.row] for c in top])
    order = sorted(range(len(top)), key=lambda i: -scores[i])
    reranked = [
        Candidate(top[i].row, top[i].dense, top[i].lexical, top[i].score, float(scores[i]))
        for i in order
    ]
    picked = {c.row for c in top}
    return reranked + [c for c in candidates if c.row not in picked]
