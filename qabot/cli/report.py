"""`qabot report`: what the documents lack; the work is in qabot/feedback/unanswered.py."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from qabot.cli.common import escape, load_settings, out, run
from qabot.plurals import english


def report_command(
    days: Annotated[
        float | None,
        typer.Option("--days", min=0.01, help="How far back to look (QABOT_UNANSWERED_DAYS)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many groups to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What the documents lack: the most frequent recent questions answered "not found" (in the
    bot, and by `qabot ask` / `qabot chat`) or voted 👎 in the bot, near-duplicates grouped.

    Example: qabot report --days 7 --limit 10
    """
    from qabot.feedback.unanswered import report

    def go():
        settings = load_settings()
        window = settings.unanswered_days if days is None else days
        groups = report(settings.index_dir, days=window, limit=limit)
        if as_json:
            rows = [g.to_dict() for g in groups]
            out.print_json(json.dumps({"days": window, "groups": rows}, ensure_ascii=False))
            return
        if not groups:
            out.print(f"No unanswered questions in the last {english(round(window), 'day')}.")
            return
        out.print(
            f"Questions the documents did not answer in the last {english(round(window), 'day')}"
            ' ("not found" or voted down), most frequent first:'
        )
        for group in groups:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(group.last))
            out.print(
                f"{group.count:>4}x  {escape(group.question)}  [dim](not found {group.not_found}, "
                f"voted down {group.downvoted}; last {when})[/]"
            )
            for variant in group.variants[:5]:
                out.print(f"       also: {escape(variant)}")

    run(go)
