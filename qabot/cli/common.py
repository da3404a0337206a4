"""What every command shares: the consoles, the settings of this invocation, the service, and
`run`, which turns every qabot error into one line on stderr and exit code 1."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import ClassVar

import typer
from rich.console import Console
from rich.markup import escape as escape_markup

from qabot.config import Settings, get_settings
from qabot.errors import QabotError
from qabot.plurals import english
from qabot.types import BuildReport

# No emoji codes: ":thumbs_up:" in a passage stays as written.
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def escape(text: str) -> str:
    """Text qabot did not write (passages, titles, file names, errors) made safe to print with
    rich: its markup escaped ("[/]" would raise MarkupError) and terminal escapes dropped."""
    from qabot.ingest.text import printable

    return escape_markup(printable(text))


class _Invocation:
    """The global options of this invocation and the settings read with them (once)."""

    settings: Settings | None = None
    overrides: ClassVar[dict] = {}


def configure(**overrides) -> None:
    """Start an invocation: settings are read afresh, with these values (the global options
    given) over the environment's."""
    _Invocation.settings = None
    _Invocation.overrides = {k: v for k, v in overrides.items() if v is not None}


def load_settings() -> Settings:
    """This invocation's settings, read on first use."""
    if _Invocation.settings is None:
        _Invocation.settings = get_settings(**_Invocation.overrides)
    return _Invocation.settings


def make_service():
    """A `QAService` over this invocation's settings (imported here: it loads numpy, FAISS)."""
    from qabot.service import QAService

    return QAService(load_settings())


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


def run(fn):
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


def print_report(report: BuildReport, *, title: str) -> None:
    """A build's summary on stderr: files added, changed, skipped...; documents and chunks."""
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
    print_skipped(report.skipped, console=err)
    print_duplicates(report.duplicates, console=err)


def print_skipped(skipped: list[tuple[str, str]], *, console: Console) -> None:
    for name, reason in skipped:
        console.print(f"  skipped {escape(name)}: {escape(reason)}")


def print_duplicates(duplicates: list[tuple[str, str]], *, console: Console) -> None:
    for name, original in duplicates:
        console.print(
            f"  skipped {escape(name)}: a duplicate of {escape(original)} (same content, "
            "indexed once)"
        )


def ensure_index(service) -> None:
    """Build the index first when there is none yet (what `qabot ask` does on a first run)."""
    if service.has_index():
        return
    s = service.settings
    err.print(
        f"No index yet in {escape(str(s.index_dir))}/: building it from {escape(str(s.seeds_dir))}/ first."
    )
    print_report(service.build(progress=True), title="Built")
