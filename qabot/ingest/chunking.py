"""Sentence splitting and token-bounded passages with character offsets.

A passage never holds more word pieces than the embedding model reads: past its limit a model
silently truncates, and whatever was cut could never be found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sentencex

from qabot.types import Chunk, Document

TokenCounter = Callable[[list[str]], list[int]]

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_UKRAINIAN = re.compile(r"[іїєґІЇЄҐ]")
_WORDS = re.compile(r"\S+")
_PARAGRAPH = re.compile(r"[^\n]+")


def guess_language(text: str) -> str:
    """Enough of a guess for sentence rules (abbreviations): en, uk or ru."""
    sample = text[:2000]
    if len(_CYRILLIC.findall(sample)) > len(sample) * 0.2:
        return "uk" if _UKRAINIAN.search(sample) else "ru"
    return "en"


def split_sentences(text: str, *, language: str | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text`, whitespace trimmed. Lines are paragraphs
    and always end a sentence."""
    language = language or guess_language(text)
    spans: list[tuple[int, int]] = []
    for para in _PARAGRAPH.finditer(text):
        base, body = para.start(), para.group()
        cursor = 0
        for sentence in sentencex.segment(language, body):
            piece = sentence.strip()
            if not piece:
                continue
            at = body.find(piece, cursor)
            if at < 0:  # the segmenter altered the text; fall back to the rest of the line
                rest = body[cursor:].strip()
                if rest:
                    at = body.index(rest, cursor)
                    spans.append((base + at, base + at + len(rest)))
                break
            spans.append((base + at, base + at + len(piece)))
            cursor = at + len(piece)
    return spans


@dataclass(frozen=True)
class ChunkParams:
    max_tokens: int  # target word pieces per passage, title included
    overlap: int  # sentences repeated at the start of the next passage
    model_max_tokens: int = 10**9  # hard limit: what the model reads, title included


def _split_long(
    text: str, span: tuple[int, int], budget: int, count: TokenCounter
) -> list[tuple[int, int]]:
    """Cut one over-long sentence into word windows of at most `budget` word pieces."""
    start, end = span
    words = [(start + m.start(), start + m.end()) for m in _WORDS.finditer(text[start:end])]
    counts = count([text[s:e] for s, e in words])
    pieces: list[tuple[int, int]] = []
    piece_start: int | None = None
    prev_end, used = start, 0
    for (s, e), n in zip(words, counts, strict=True):
        n = min(n, budget)  # a single absurd "word" (a URL, base64) is cut by the model anyway
        if piece_start is not None and used + n > budget:
            pieces.append((piece_start, prev_end))
            piece_start, used = None, 0
        if piece_start is None:
            piece_start = s
        used += n
        prev_end = e
    if piece_start is not None:
        pieces.append((piece_start, prev_end))
    return pieces


def chunk_document(doc: Document, params: ChunkParams, count: TokenCounter) -> list[Chunk]:
    """Greedy sentence windows: each passage as many whole sentences as fit the budget, the next
    starting `overlap` sentences back. BERT-style tokenizers split on whitespace first, so the
    word pieces of joined sentences are the sum of theirs."""
    text = doc.text
    title_tokens = count([doc.title])[0] + 1 if doc.title else 0
    # A long title may take a quarter of the target, but never push past what the model reads.
    budget = min(
        params.max_tokens - min(title_tokens, params.max_tokens // 4),
        params.model_max_tokens - title_tokens,
    )
    budget = max(8, budget)
    sentences = split_sentences(text)
    counts = count([text[s:e] for s, e in sentences]) if sentences else []
    units: list[tuple[int, int, int]] = []  # (start, end, tokens)
    for span, n in zip(sentences, counts, strict=True):
        if n <= budget:
            units.append((span[0], span[1], n))
        else:
            pieces = _split_long(text, span, budget, count)
            for (s, e), m in zip(pieces, count([text[s:e] for s, e in pieces]), strict=True):
                units.append((s, e, m))

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        used, j = 0, i
        while j < len(units) and (j == i or used + units[j][2] <= budget):
            used += units[j][2]
            j += 1
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(doc.doc_id, doc.title, doc.source, start, end, text[start:end]))
        if j >= len(units):
            break
        i = max(i + 1, j - params.overlap)
    return chunks


def passage_for_embedding(chunk: Chunk) -> str:
    """The text the model embeds: the title gives a passage its context ("he said" -> who)."""
    if chunk.title and not chunk.text.startswith(chunk.title):
        return f"{chunk.title}\n{chunk.text}"
    return chunk.text


def sentence_spans(chunk: Chunk) -> list[tuple[int, int]]:
    """The chunk's sentences as offsets into chunk.text (at least one: the whole chunk when it
    has no sentence split)."""
    return split_sentences(chunk.text) or [(0, len(chunk.text))]


def sentence_for_embedding(chunk: Chunk, span: tuple[int, int]) -> str:
    """The text the model embeds for one sentence of a chunk: "title: sentence" (the title says
    what "it" and "he" are). The same text whether embedded at build time (sentence vectors) or
    when picking the answer sentence, so stored vectors can stand in for a fresh embedding."""
    text = chunk.text[span[0] : span[1]]
    return f"{chunk.title}: {text}" if chunk.title else text


def sentences_for_embedding(chunk: Chunk) -> list[str]:
    """The chunk's sentences as the model embeds them (`sentence_for_embedding`). A small
    model's single vector for a passage averages its sentences; a question, above all one in
    another language, matches one of them (bench/RESULTS-quality.md 6.2)."""
    return [sentence_for_embedding(chunk, span) for span in sentence_spans(chunk)]
