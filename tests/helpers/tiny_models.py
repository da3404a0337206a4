"""Tiny random BERT models the tests build themselves (no download): a one-score cross-encoder
loadable by sentence-transformers' `CrossEncoder`, and an extractive question-answering model
loadable by `AutoModelForQuestionAnswering`, sharing a WordPiece vocabulary made of the words of
the tiny corpus below. Random weights answer nothing sensibly; tests compare qabot's use of them
with the models' own outputs computed independently."""

from __future__ import annotations

import re
from pathlib import Path

# file name -> text (title line, then sentences)
CORPUS = {
    "fruit.txt": "Orchard\nApples grow on old trees in the orchard. Pears ripen in late summer. "
    "The farmer sells apples and pears at the market on Saturday.",
    "boats.txt": "Harbour\nBoats sail from the harbour at dawn. The captain checks the nets "
    "twice. Fishermen return with fish in the evening.",
    "stars.txt": "Sky\nStars shine at night above the hills. The astronomer counts comets in "
    "winter. A telescope stands on the roof of the school.",
    "trains.txt": "Railway\nTrains leave the station every hour. The driver rings the bell at "
    "noon. Passengers buy tickets from the clerk.",
    "bread.txt": "Bakery\nThe baker bakes bread before sunrise. Sourdough needs flour, water and "
    "salt. Customers queue at the door on Sunday.",
    "bees.txt": "Garden\nBees visit flowers in the garden. The gardener plants roses in spring. "
    "Honey is sold at the market in autumn.",
}
QUESTIONS = (
    "Who sells apples at the market?",
    "When do the boats sail from the harbour?",
    "What does sourdough need?",
)
SIZE = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 128,
    # Wider than BERT's 0.02 (scores within 1e-5 of each other) and narrower than saturation
    # (tanh at +-1: equal scores): the scores of the test's pairs are >= 5e-5 apart, far above
    # the 1e-7 between a batched and an unbatched run.
    "initializer_range": 0.2,
}


def vocabulary() -> list[str]:
    words = {":"}  # qabot puts "title: " before a passage for the cross-encoder
    for text in (*CORPUS.values(), *QUESTIONS):
        words.update(re.findall(r"\w+|[^\w\s]", text.lower()))
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]


def build_tiny_models(folder: Path, *, seed: int = 0) -> dict[str, Path]:
    """Save both models (with their tokenizer) below `folder`: {"reranker": path, "reader": path}."""
    import torch
    from transformers import (
        BertConfig,
        BertForQuestionAnswering,
        BertForSequenceClassification,
        BertTokenizerFast,
    )

    vocab = vocabulary()
    # transformers 5 takes the WordPiece vocabulary as `vocab` (it ignores a `vocab_file`,
    # leaving every word [UNK]).
    tokenizer = BertTokenizerFast(
        vocab={token: i for i, token in enumerate(vocab)}, model_max_length=128
    )
    paths = {}
    for name, cls, extra in (
        ("reranker", BertForSequenceClassification, {"num_labels": 1}),
        ("reader", BertForQuestionAnswering, {}),
    ):
        torch.manual_seed(seed)
        model = cls(BertConfig(vocab_size=len(vocab), **SIZE, **extra))
        path = folder / name
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
        paths[name] = path
    return paths


def write_corpus(seeds: Path) -> None:
    seeds.mkdir(parents=True, exist_ok=True)
    for name, text in CORPUS.items():
        (seeds / name).write_text(text, encoding="utf-8")


def corpus_service(settings, **update):
    """A QAService (hashing embedder) over the tiny corpus, built, with `update` on settings."""
    from qabot.embedders.hashing import HashingEmbedder
    from qabot.service import QAService

    write_corpus(settings.seeds_dir)
    svc = QAService(settings.model_copy(update=update), embedder=HashingEmbedder())
    svc.build()
    return svc
