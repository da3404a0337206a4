"""`qabot eval`: answer quality on a dataset; the work is in qabot/evaluation.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from qabot.embedders import registry as backends


def eval_command(
    dataset: Annotated[
        Path, typer.Argument(help="Folder with corpus.jsonl and questions.jsonl.", exists=True)
    ],
    out_of_scope: Annotated[
        Path | None,
        typer.Option(
            "--out-of-scope",
            help="Another dataset whose questions this corpus cannot answer (false-answer rate).",
            exists=True,
        ),
    ] = None,
    questions: Annotated[
        int | None,
        typer.Option(
            "--questions", "-n", min=1, help="Sample this many questions (same each run)."
        ),
    ] = None,
    mode: Annotated[
        Literal["dense", "lexical", "hybrid"] | None,
        typer.Option("--mode", help="Retrieval mode (QABOT_RETRIEVAL_MODE)."),
    ] = None,
    k: Annotated[
        int | None, typer.Option("-k", min=1, max=50, help="Passages per answer (QABOT_TOP_K).")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Not-found threshold (default: the embedder's)."),
    ] = None,
    lexical_weight: Annotated[
        float | None,
        typer.Option("--lexical-weight", min=0, max=1, help="BM25 share in hybrid mode."),
    ] = None,
    embedder: Annotated[
        Literal[backends.names()] | None,
        typer.Option("--embedder", help="Embedding backend (QABOT_EMBEDDER)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="sentence-transformers model (QABOT_MODEL).")
    ] = None,
    chunk_tokens: Annotated[
        int | None, typer.Option("--chunk-tokens", min=16, help="QABOT_CHUNK_TOKENS.")
    ] = None,
    chunk_overlap: Annotated[
        int | None, typer.Option("--chunk-overlap", min=0, help="QABOT_CHUNK_OVERLAP.")
    ] = None,
    sentence_vectors: Annotated[
        bool | None,
        typer.Option(
            "--sentence-vectors/--no-sentence-vectors",
            help="QABOT_SENTENCE_VECTORS (default: the embedder's).",
            show_default=False,
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Where eval indexes are kept [~/.cache/qabot/eval]."),
    ] = None,
    dump: Annotated[
        Path | None,
        typer.Option(
            "--dump",
            help="Write one JSON line per question (gold rank, passage and sentence shown, "
            "confidence) to this file.",
            dir_okay=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Score retrieval and answers on a dataset (hit@k, MRR, answer sentence, not found).

    The corpus is indexed once into a cache per embedder and chunking; later runs that change
    only --mode, -k, --threshold or --lexical-weight reuse it. A reranker or reader configured
    (QABOT_RERANKER_MODEL, QABOT_READER_MODEL) is measured too; with QABOT_RERANKER_THRESHOLD,
    --threshold and the calibration table are on the cross-encoder's score.

    Example: qabot eval data/news --out-of-scope data/other --mode hybrid -n 300 --dump misses.jsonl
    """
    from rich.console import Console
    from rich.markup import escape

    from qabot import evaluation as ev
    from qabot.config import get_settings
    from qabot.errors import QabotError

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    overrides = {
        "retrieval_mode": mode,
        "top_k": k,
        "lexical_weight": lexical_weight,
        "embedder": embedder,
        "model": model,
        "chunk_tokens": chunk_tokens,
        "chunk_overlap": chunk_overlap,
        "sentence_vectors": sentence_vectors,
    }
    try:
        settings = get_settings(**{key: v for key, v in overrides.items() if v is not None})
        if threshold is not None:  # the threshold of whichever score decides "not found"
            key = "reranker_threshold" if settings.reranker_gate else "score_threshold"
            settings = get_settings(
                **{k: v for k, v in overrides.items() if v is not None}, **{key: threshold}
            )
        show = progress and sys.stderr.isatty()
        index = ev.prepare_index(
            dataset, settings, cache_dir=cache_dir or ev.default_cache_dir(), progress=show
        )
        service = index.service
        report = ev.evaluate(
            index,
            ev.load_questions(dataset, limit=questions),
            k=service.settings.top_k,
            threshold=service.threshold,
            out_of_scope=ev.load_questions(out_of_scope, limit=questions) if out_of_scope else None,
            progress=show,
            dump=dump,
        )
    except QabotError as exc:
        err.print(f"[red]Error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    report = {"dataset": str(dataset), **report}
    if out_of_scope:
        report["out_of_scope"]["dataset"] = str(out_of_scope)
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(ev.format_report(report))
