"""Admins manage documents from the chat: uploads, /reindex, /stats; others are refused."""

from __future__ import annotations

import asyncio

import pytest

from qabot.service import QAService
from qabot.testing.botapi.harness import (
    LIGHTHOUSE,
    SYBIHA_QUESTION,
    make_settings,
    running_bot,
    seed,
)
from qabot.testing.botapi.server import TelegramUser

pytestmark = pytest.mark.timeout(60)

ADMIN = TelegramUser(1, "Admin")
USER = TelegramUser(2, "User")


async def test_an_admins_upload_becomes_answerable(tmp_path, server):
    settings = make_settings(tmp_path, server, admin_user_ids=[ADMIN.id])
    seed(settings)
    async with running_bot(settings, server):
        sent = await server.send_document(ADMIN, "lighthouse.txt", LIGHTHOUSE.encode())
        [done] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
        assert "Saved as “lighthouse.txt”" in done["text"] and "1 added" in done["text"]
        assert server.calls_of("sendChatAction")[0].params["action"] == "upload_document"
        asked = await server.send_text(USER, "Who is the keeper of the Tarkhankut lighthouse?")
        [answer] = await server.replies(USER.id, after=asked["message_id"])
    assert "Ostap Vereshchak" in answer["text"]
    assert (settings.seeds_dir / "lighthouse.txt").read_text() == LIGHTHOUSE


async def test_uploads_from_non_admins_are_refused(tmp_path, server):
    settings = make_settings(tmp_path, server, admin_user_ids=[ADMIN.id])
    seed(settings)
    async with running_bot(settings, server):
        sent = await server.send_document(USER, "lighthouse.txt", LIGHTHOUSE.encode())
        [refusal] = await server.replies(USER.id, after=sent["message_id"])
        refusals = {}
        for command in ("/reindex", "/add https://example.com/", "/stats", "/unanswered"):
            sent = await server.send_text(USER, command)
            [also] = await server.replies(USER.id, after=sent["message_id"])
            refusals[command.split()[0]] = also["text"]
    assert "Only the bot's admins can add documents" in refusal["text"]
    for command in ("/reindex", "/add"):
        assert "Only the bot's admins can add documents" in refusals[command]
    for command in ("/stats", "/unanswered"):  # nothing about documents: what they asked for
        assert "Only the bot's admins can see its statistics" in refusals[command]
    assert not (settings.seeds_dir / "lighthouse.txt").exists()
    assert server.calls_of("getFile") == []  # not even downloaded


async def test_upload_names_are_sanitised(tmp_path, server):
    settings = make_settings(tmp_path, server, admin_user_ids=[ADMIN.id])
    seed(settings, {"notes.txt": "Notes\nThe original notes mention a red bicycle.\n"})
    outside = tmp_path / "evil.txt"
    async with running_bot(settings, server):
        names = {}
        for name, body in (
            ("../evil.txt", "Evil\nPath traversal tries to escape the seeds folder.\n"),
            ("..\\..\\notes.txt", "Impostor\nAn impostor wants to replace the notes.\n"),
            ("notes.txt", "Notes\nThe updated notes mention a blue bicycle.\n"),
            (".hidden;rm -rf ~.md", "Hidden\nA file that wanted to be hidden.\n"),
        ):
            sent = await server.send_document(ADMIN, name, body.encode())
            [done] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
            names[name] = done["text"].split("“")[1].split("”")[0]
    assert names == {
        "../evil.txt": "evil.txt",
        "..\\..\\notes.txt": "notes-2.txt",  # a changed name never overwrites a document
        "notes.txt": "notes.txt",  # the same name on purpose replaces it
        ".hidden;rm -rf ~.md": "hidden_rm -rf.md",
    }
    assert not outside.exists()
    files = sorted(p.name for p in settings.seeds_dir.iterdir())
    assert files == sorted(
        ["evil.txt", "notes-2.txt", "notes.txt", "hidden_rm -rf.md"]
        + [p.name for p in settings.seeds_dir.glob("ukrinform*")]
    )
    assert "blue bicycle" in (settings.seeds_dir / "notes.txt").read_text()
    assert "impostor" in (settings.seeds_dir / "notes-2.txt").read_text()


async def test_unsupported_too_big_and_unreadable_uploads(tmp_path, server):
    settings = make_settings(tmp_path, server, admin_user_ids=[ADMIN.id])
    seed(settings)
    async with running_bot(settings, server):
        sent = await server.send_document(ADMIN, "virus.exe", b"MZ\x90\x00")
        [unsupported] = await server.replies(ADMIN.id, after=sent["message_id"])
        sent = await server.send_document(ADMIN, "huge.pdf", b"", declared_size=25 * 1024 * 1024)
        [too_big] = await server.replies(ADMIN.id, after=sent["message_id"])
        sent = await server.send_document(ADMIN, "broken.pdf", b"this is not a pdf at all")
        [unreadable] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
    assert "can't read “virus.exe”" in unsupported["text"]
    assert "25 MB" in too_big["text"] and "20 MB" in too_big["text"]
    assert "could not read “broken.pdf”" in unreadable["text"]
    assert sorted(p.suffix for p in settings.seeds_dir.iterdir()) == [".txt"]


async def test_reindex_and_stats(tmp_path, server):
    settings = make_settings(tmp_path, server, admin_user_ids=[ADMIN.id])
    seed(settings)
    async with running_bot(settings, server):
        (settings.seeds_dir / "lighthouse.txt").write_text(LIGHTHOUSE)
        sent = await server.send_text(ADMIN, "/reindex")
        [report] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
        asked = await server.send_text(ADMIN, SYBIHA_QUESTION)
        [_answer] = await server.replies(ADMIN.id, after=asked["message_id"])
        sent = await server.send_text(ADMIN, "/stats")
        [stats] = await server.replies(ADMIN.id, after=sent["message_id"])
    assert "1 added" in report["text"] and "now 2 documents" in report["text"]
    assert "Documents: 2" in stats["text"] and "Questions answered: 1" in stats["text"]
    assert "Uptime: 0h 0m" in stats["text"] and "hashing" in stats["text"]


async def test_a_cli_build_during_questions_is_picked_up(tmp_path, server):
    settings = make_settings(tmp_path, server)
    seed(settings)
    async with running_bot(settings, server):
        (settings.seeds_dir / "lighthouse.txt").write_text(LIGHTHOUSE)
        build = asyncio.create_task(asyncio.to_thread(QAService(settings).build))
        during = await server.send_text(USER, SYBIHA_QUESTION)  # answered from either version
        [answer] = await server.replies(USER.id, after=during["message_id"])
        assert "Sybiha" in answer["text"]
        await build
        asked = await server.send_text(USER, "Who is the keeper of the Tarkhankut lighthouse?")
        [fresh] = await server.replies(USER.id, after=asked["message_id"])
    assert "Ostap Vereshchak" in fresh["text"]


async def test_first_run_without_an_index_then_an_upload(tmp_path, server):
    settings = make_settings(tmp_path, server, admin_user_ids=[ADMIN.id])
    async with running_bot(settings, server):  # no seeds, no index yet
        asked = await server.send_text(USER, "Who is the keeper of the Tarkhankut lighthouse?")
        [no_index] = await server.replies(USER.id, after=asked["message_id"])
        sent = await server.send_text(USER, "/start")
        [start] = await server.replies(USER.id, after=sent["message_id"])
        sent = await server.send_text(USER, "/sources")
        [sources] = await server.replies(USER.id, after=sent["message_id"])
        sent = await server.send_document(ADMIN, "lighthouse.md", LIGHTHOUSE.encode())
        await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
        asked = await server.send_text(USER, "Who is the keeper of the Tarkhankut lighthouse?")
        [answer] = await server.replies(USER.id, after=asked["message_id"])
    assert "No documents are indexed yet" in no_index["text"]
    assert "none are indexed yet" in start["text"]
    assert "No documents are indexed yet" in sources["text"]
    assert "Ostap Vereshchak" in answer["text"]
