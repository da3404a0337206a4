"""Admin commands: adding documents by sending files or links, /add, /reindex, /stats and
/unanswered. Only admins reach them: the access check before every handler (`routes`) refuses
everyone else."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import BadRequest

from qabot.bot import uploads
from qabot.bot.context import BotContext, reply, thread_of, user_language, working
from qabot.bot.formatting import Block, render_messages
from qabot.bot.messages import Html, count, plain, text
from qabot.errors import IndexLockedError, LinkError, QabotError
from qabot.feedback.unanswered import report_from
from qabot.ingest.links import link_in
from qabot.ingest.scan import file_sha256
from qabot.service import QAService
from qabot.types import BuildReport


def _summary(report: BuildReport, lang: str) -> str:
    return text(
        "build_summary",
        lang,
        added=len(report.added),
        changed=len(report.changed),
        deleted=len(report.deleted),
        unchanged=report.unchanged,
        documents=count("document", report.documents_total, lang),
        chunks=count("passage", report.chunks_total, lang),
        seconds=f"{report.seconds:.1f}",
    )


async def reindex(update: Update, context: BotContext) -> None:
    """/reindex (admins): incremental build of the seeds folder, reporting what changed."""
    state = context.state
    lang = user_language(update)
    async with working(
        context, update.effective_chat.id, thread=thread_of(update.effective_message)
    ):
        try:
            async with state.build_lock:
                report = await asyncio.to_thread(state.service.build)
        except IndexLockedError:
            await reply(update, text("build_busy", lang))
            return
        except QabotError as exc:
            await reply(update, text("build_failed", lang, reason=exc))
            return
    await reply(update, _summary(report, lang))


async def stats(update: Update, context: BotContext) -> None:
    """/stats (admins): documents, passages, index size, uptime, questions answered."""
    state = context.state
    status = await asyncio.to_thread(state.service.status)
    uptime = int(time.monotonic() - state.started)
    await reply(
        update,
        text(
            "stats",
            user_language(update),
            documents=status.documents,
            chunks=status.chunks,
            size=status.size_text,
            model=status.model_id or "-",
            uptime=f"{uptime // 3600}h {uptime % 3600 // 60}m {uptime % 60}s",
            answered=state.answered,
        ),
    )


# At most this many groups in /unanswered (`qabot report --limit` shows more).
UNANSWERED_SHOWN = 10


async def unanswered(update: Update, context: BotContext) -> None:
    """/unanswered (admins): the most frequent recent questions the documents did not answer
    ("not found", or an answer voted 👎), near-duplicates grouped (`qabot.feedback.unanswered`)."""
    state = context.state
    lang = user_language(update)
    days = f"{state.settings.unanswered_days:g}"
    groups = []
    if state.feedback is not None:
        groups = await asyncio.to_thread(
            report_from,
            state.feedback,
            days=state.settings.unanswered_days,
            limit=UNANSWERED_SHOWN,
        )
    if not groups:
        await reply(update, text("unanswered_none", lang, days=days))
        return
    lines = []
    for rank, group in enumerate(groups, 1):
        lines.append(
            plain(
                "unanswered_line",
                lang,
                rank=rank,
                question=group.question,
                times=count("time", group.count, lang),
                not_found=group.not_found,
                downvoted=group.downvoted,
            )
        )
        if group.variants:
            variants = "; ".join(f"“{v}”" for v in group.variants[:3])
            lines.append(plain("unanswered_also", lang, variants=variants))
    heading = text("unanswered_heading", lang, days=days)
    await reply(update, render_messages([Block("\n".join(lines), prefix=heading + "\n")]))


async def on_document(update: Update, context: BotContext) -> None:
    """A file in a private chat: admins add it to the documents; everyone else is refused."""
    state = context.state
    lang = user_language(update)
    document = update.effective_message.document
    name = document.file_name or "document"
    if not uploads.is_supported(name):
        await reply(update, text("upload_unsupported", lang, name=name))
        return
    if (document.file_size or 0) > uploads.MAX_DOWNLOAD_BYTES:
        mb = f"{document.file_size / 1024 / 1024:.0f}"
        await reply(update, text("upload_too_big", lang, name=name, mb=mb))
        return
    chat_id = update.effective_chat.id
    async with working(context, chat_id, ChatAction.UPLOAD_DOCUMENT), state.build_lock:
        # Under the lock: one build at a time, and the target name cannot be taken meanwhile.
        target = uploads.target_path(state.settings.seeds_dir, name)
        existed = target.exists()
        try:
            report = await _download_and_add(update, state.service, target.name)
        except BadRequest as exc:
            if "too big" not in str(exc).lower():
                raise
            await reply(update, text("upload_too_big", lang, name=name, mb="20+"))
            return
        except IndexLockedError:
            await reply(update, text("build_busy", lang))
            return
        except QabotError as exc:
            if not existed:
                target.unlink(missing_ok=True)
            await reply(update, text("build_failed", lang, reason=exc))
            return
    if isinstance(report, str):  # the same bytes are indexed already: nothing was saved
        await reply(update, text("upload_duplicate", lang, name=name, original=report))
        return
    original = dict(report.duplicates).get(target.name)
    if original is not None:  # a copy of a file not indexed when the upload began
        if not existed:
            target.unlink(missing_ok=True)
        await reply(update, text("upload_duplicate", lang, name=name, original=original))
        return
    reasons = [reason for file, reason in report.skipped if Path(file).name == target.name]
    if reasons:
        if not existed:  # do not leave an unreadable file behind to be skipped on every build
            target.unlink(missing_ok=True)
        await reply(update, text("upload_skipped", lang, name=name, reason=reasons[0]))
        return
    await reply(
        update,
        text("upload_done", lang, name=target.name, summary=Html(_summary(report, lang))),
    )


async def _download_and_add(
    update: Update, service: QAService, file_name: str
) -> BuildReport | str:
    """Download the message's document under `file_name`, copy it into seeds/ and build; or,
    when a file with the same bytes is indexed already, only that file's name."""
    with tempfile.TemporaryDirectory(prefix="qabot-upload-") as tmp:
        local = Path(tmp) / file_name
        telegram_file = await update.effective_message.document.get_file()
        await telegram_file.download_to_drive(local)
        original = await asyncio.to_thread(service.indexed_as, file_sha256(local))
        if original is not None:
            return original
        return await asyncio.to_thread(service.add_files, [local])


async def add_link(update: Update, context: BotContext) -> None:
    """/add URL (admins): fetch the web page and index it, with the URL as its source."""
    parts = (update.effective_message.text or "").split()
    if len(parts) != 2:
        await reply(update, text("link_usage", user_language(update)))
        return
    await _add_page(update, context, parts[1])


async def on_link(update: Update, context: BotContext) -> None:
    """A private message from an admin that is only a link: add the page, as /add does."""
    await _add_page(update, context, link_in(update.effective_message.text or "") or "")


async def _add_page(update: Update, context: BotContext, url: str) -> None:
    """Fetch (outside the build lock: a slow site holds up no upload), then store and build."""
    state = context.state
    lang = user_language(update)
    thread = thread_of(update.effective_message)
    async with working(context, update.effective_chat.id, thread=thread):
        try:
            page = await asyncio.to_thread(state.service.fetch_link, url)
            async with state.build_lock:
                rel, report = await asyncio.to_thread(state.service.add_page, page)
        except LinkError as exc:
            await reply(update, text("link_refused", lang, reason=exc))
            return
        except IndexLockedError:
            await reply(update, text("build_busy", lang))
            return
        except QabotError as exc:
            await reply(update, text("build_failed", lang, reason=exc))
            return
    original = dict(report.duplicates).get(rel)
    if original is None and rel not in report.added and rel not in report.changed:
        original = rel  # sent before, and the page has not changed since
    if original is not None:
        await reply(update, text("link_duplicate", lang, url=url, original=original))
        return
    summary = Html(_summary(report, lang))
    await reply(update, text("link_done", lang, url=url, name=rel, summary=summary))
