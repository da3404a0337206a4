"""`qabot index ...`: build, rebuild, status, verify, add, watch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from qabot.cli.common import (
    err,
    escape,
    make_service,
    out,
    print_duplicates,
    print_report,
    print_skipped,
    run,
)
from qabot.errors import IndexCorruptError, QabotError
from qabot.plurals import english

index_app = typer.Typer(help="Build and inspect the index of seeds/.", no_args_is_help=True)


@index_app.command("build")
def index_build() -> None:
    """Index new and changed documents of seeds/ (unchanged ones are not re-embedded).

    Example: qabot index build
    """
    run(lambda: print_report(make_service().build(progress=True), title="Index updated"))


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Re-embed every document from scratch (after changing the model or chunking).

    Example: qabot index rebuild
    """
    run(lambda: print_report(make_service().build(full=True, progress=True), title="Index rebuilt"))


@index_app.command("status")
def index_status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show documents, chunks, model and size, and what changed in seeds/ since the last build.

    Example: qabot index status
    """

    def go():
        st = make_service().status()
        if as_json:
            from dataclasses import asdict

            out.print_json(json.dumps(asdict(st), ensure_ascii=False))
            return
        if not st.built:
            waiting = english(len(st.new), "document")
            out.print(f"No index yet. {waiting} waiting: run `qabot index build`.")
            print_skipped(st.skipped, console=out)
            print_duplicates(st.duplicates, console=out)
            return
        out.print(
            f"Documents: {st.documents}\nChunks: {st.chunks}\nModel: {st.model_id}", markup=False
        )
        where = st.location or f"Size on disk: {st.size_text}"
        out.print(f"{where}\nBuilt: {st.built_at}", markup=False)
        for label, names in (("new", st.new), ("changed", st.changed), ("deleted", st.deleted)):
            for name in names:
                out.print(f"  {label}: {escape(name)}")
        print_skipped(st.skipped, console=out)
        print_duplicates(st.duplicates, console=out)
        if st.new or st.changed or st.deleted:
            out.print("Run `qabot index build` to bring the index up to date.")
        else:
            out.print("Up to date with seeds/.")
        if st.location is None:
            _print_checksums(st)

    run(go)


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
        check = make_service().verify()
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

    run(go)


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
        service = make_service()
        urls = [p for p in paths if link_in(p)]
        files = [Path(p) for p in paths if not link_in(p)]
        if files:
            print_report(service.add_files(files, progress=True), title="Index updated")
        for url in urls:
            rel, report = service.add_url(url, progress=True)
            print_report(report, title=f"Added {escape(url)} as {escape(rel)}")

    run(go)


@index_app.command("watch")
def index_watch() -> None:
    """Keep the index up to date with seeds/: re-index whenever files are added, changed or
    removed there (debounced by QABOT_WATCH_QUIET_SECONDS), until Ctrl-C.

    Example: qabot index watch
    """
    from qabot.watching import watch_seeds

    def go():
        service = make_service()
        err.print(f"Watching {escape(str(service.settings.seeds_dir))}/ (Ctrl-C stops).")
        for outcome in watch_seeds(service):
            if isinstance(outcome, QabotError):
                err.print(f"[red]Error:[/] {escape(str(outcome))}")
            elif outcome.changed_anything or outcome.duplicates or outcome.skipped:
                print_report(outcome, title="Index updated")

    run(go)
