"""The optional extractive reader (QABOT_READER_MODEL): the exact answer span in the passages shown.

A question-answering model (SQuAD-style: a start and an end logit per token) reads each passage
with the question; the best span over all of them wins, its passage goes first and its sentence
becomes the highlighted answer sentence. transformers (and torch) are imported when the reader is
first used, never on the default path.

transformers 5 removed the "question-answering" pipeline, so the span search it did is here: the
passage is tokenized after the question (overflowing into windows past the model's length), and a
span's score is P(start) x P(end), each a softmax over the window's passage tokens, with
start <= end and at most MAX_ANSWER_TOKENS tokens. Only passage tokens can be an answer: like the
pipeline's default, the model's "no answer" (the first token) is never returned - "not found" is
the threshold's call, made before the reader runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from qabot import hub
from qabot.ingest.chunking import split_sentences
from qabot.search.reranking import load_failure, quiet_loading
from qabot.types import Answer, Hit

MAX_ANSWER_TOKENS = 15  # the pipeline's default max_answer_len
MAX_WINDOW = 384  # tokens per question + passage window (the usual SQuAD setting)


@dataclass(frozen=True)
class Span:
    """An answer inside one passage: character offsets into it and P(start) x P(end)."""

    start: int
    end: int
    score: float


class Reader:
    """A transformers `AutoModelForQuestionAnswering` with its fast tokenizer (the offsets map
    tokens back to characters), loaded on construction."""

    def __init__(self, name: str) -> None:
        try:
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer

            quiet_loading()
            self.tokenizer, self.model = hub.load(
                name,
                lambda **kw: (
                    AutoTokenizer.from_pretrained(name, **kw),
                    AutoModelForQuestionAnswering.from_pretrained(name, **kw),
                ),
            )
        except Exception as exc:  # OSError, HF hub errors, a config of another kind of model
            raise load_failure("QABOT_READER_MODEL", name, exc, off="reader") from exc
        saved = getattr(self.model.config, "architectures", None) or []
        if saved and not any(a.endswith("ForQuestionAnswering") for a in saved):
            # from_pretrained would add an untrained, random span head with only a warning
            raise load_failure(
                "QABOT_READER_MODEL",
                name,
                ValueError(f"it is a {saved[0]}, not an extractive question-answering model"),
                off="reader",
            )
        if not self.tokenizer.is_fast:
            raise load_failure(
                "QABOT_READER_MODEL", name, ValueError("it has no fast tokenizer"), off="reader"
            )
        self.model.eval()
        self.name = name
        positions = getattr(self.model.config, "max_position_embeddings", MAX_WINDOW)
        self.window = min(MAX_WINDOW, positions - 2)  # roberta's positions start after 2
        self.stride = self.window // 4

    def read(self, question: str, passages: list[str]) -> list[Span | None]:
        """The best span of each passage (None for an empty one)."""
        if not passages:
            return []
        import torch

        question = self._fit(question)
        enc = self.tokenizer(
            [question] * len(passages),
            passages,
            truncation="only_second",
            max_length=self.window,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping").tolist()
        owner = enc.pop("overflow_to_sample_mapping").tolist()
        # Only what the tokenizer gives its model (roberta's gives no token_type_ids).
        inputs = {k: v for k, v in enc.items() if k in self.tokenizer.model_input_names}
        with torch.no_grad():
            out = self.model(**inputs)
        starts = out.start_logits.float().numpy()
        ends = out.end_logits.float().numpy()
        best: list[Span | None] = [None] * len(passages)
        for w, passage in enumerate(owner):
            context = np.array([s == 1 for s in enc.sequence_ids(w)])
            span = _best_span(starts[w], ends[w], context, offsets[w])
            if span is not None and (best[passage] is None or span.score > best[passage].score):
                best[passage] = span
        return best

    def _fit(self, question: str) -> str:
        """The question cut to half of what a window leaves past the stride: the tokenizer
        cannot window a passage behind a question that fills the window (and a question that
        long is rare: 1,000 characters of English are ~250 tokens)."""
        limit = (self.window - self.stride) // 2
        offsets = self.tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)[
            "offset_mapping"
        ]
        return question if len(offsets) <= limit else question[: offsets[limit - 1][1]]


def _best_span(
    start_logits: np.ndarray, end_logits: np.ndarray, context: np.ndarray, offsets: list
) -> Span | None:
    """The highest P(start) x P(end) span of passage tokens in one window."""
    if not context.any():
        return None
    p_start = _softmax(np.where(context, start_logits, -np.inf))
    p_end = _softmax(np.where(context, end_logits, -np.inf))
    scores = np.outer(p_start, p_end)
    # end >= start and end - start < MAX_ANSWER_TOKENS: the band above the diagonal
    scores = np.tril(np.triu(scores), MAX_ANSWER_TOKENS - 1)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return Span(int(offsets[i][0]), int(offsets[j][1]), float(scores[i, j]))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """Offsets of the sentence of `text` holding [start, end) (several, if the span crosses)."""
    spans = split_sentences(text) or [(0, len(text))]
    first = max((i for i, (s, _) in enumerate(spans) if s <= start), default=0)
    last = next((i for i, (_, e) in enumerate(spans) if e >= end), len(spans) - 1)
    last = max(first, last)
    return spans[first][0], spans[last][1]


def read_answer(answer: Answer, reader: Reader, *, n: int) -> Answer:
    """The answer with the reader's best span over its first `n` passages: that passage first,
    the sentence holding the span as its answer sentence, the others in their order after it."""
    if not answer.found or not answer.hits:
        return answer
    spans = reader.read(answer.question, [h.chunk.text for h in answer.hits[:n]])
    found = [i for i, s in enumerate(spans) if s is not None and s.end > s.start]
    if not found:
        return answer
    winner = max(found, key=lambda i: spans[i].score)  # the earlier passage on a tie
    span = spans[winner]
    order = [winner] + [i for i in range(len(answer.hits)) if i != winner]
    hits: list[Hit] = []
    for rank, i in enumerate(order, 1):
        hit = answer.hits[i]
        if rank == 1:
            s_start, s_end = sentence_around(hit.chunk.text, span.start, span.end)
            hits.append(
                replace(
                    hit,
                    rank=1,
                    sentence_start=s_start,
                    sentence_end=s_end,
                    span_start=span.start,
                    span_end=span.end,
                    span_score=span.score,
                )
            )
        elif i == 0:  # the passage the reader displaced: no longer the answer
            hits.append(replace(hit, rank=rank, sentence_start=0, sentence_end=0))
        else:
            hits.append(replace(hit, rank=rank))
    return replace(answer, hits=hits)
