"""The `qabot` command: its global options, and every command group put together.

Every qabot error ends the command with one line on stderr and exit code 1, never a traceback
(`common.run`). The commands live one group a module: `ask` (ask, chat), `index`, `bot`,
`evaluate` (eval), `report`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from qabot.cli.ask import ask, chat
from qabot.cli.bot import bot_command
from qabot.cli.common import configure, err, escape
from qabot.cli.evaluate import eval_command
from qabot.cli.index import index_app
from qabot.cli.report import report_command
from qabot.errors import IndexMissingError

app = typer.Typer(
    help="Question answering over your own documents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    configure(seeds_dir=seeds_dir, index_dir=index_dir)


app.command()(ask)
app.command()(chat)
app.add_typer(index_app, name="index")
app.command("bot")(bot_command)
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
