"""Admins add web pages by sending their link (or /add URL), and the same content is indexed
once: the admin who sent a copy is told what it is already indexed as."""

from __future__ import annotations

import pytest

from qabot.testing.botapi.harness import LIGHTHOUSE, make_settings, running_bot, seed
from qabot.testing.botapi.server import TelegramUser
from tests.helpers.web import WebSite

pytestmark = pytest.mark.timeout(60)

ADMIN = TelegramUser(1, "Admin")
USER = TelegramUser(2, "User")
QUESTION = "Who is the keeper of the Cape Zelenyi lighthouse?"


@pytest.fixture
def site():
    with WebSite() as web:
        yield web


async def test_an_admins_link_is_fetched_indexed_and_answered_with_its_url(tmp_path, server, site):
    settings = make_settings(tmp_path, server, admin_user_ids=[ADMIN.id], links_allow_private=True)
    seed(settings)
    url = site.page("/lighthouse")
    async with running_bot(settings, server):
        sent = await server.send_text(ADMIN, url)
        [added] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
        asked = await server.send_text(USER, QUESTION)
        [answer] = await server.replies(USER.id, after=asked["message_id"])
        sent = await server.send_text(ADMIN, f"/add {url}")
        [again] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
    assert f"Added {url} as “links/" in added["text"] and "1 added" in added["text"]
    assert "Mykola Drozd" in answer["text"]
    assert url in answer["text"]  # the source line: the page's title and its URL
    assert "already indexed as “links/" in again["text"]
    [stored] = list(settings.seeds_dir.glob("links/*.html"))
    assert stored.read_text(encoding="utf-8").startswith(f"<!-- qabot-source: {url} -->")


async def test_links_that_are_refused(tmp_path, server, site):
    settings = make_settings(tmp_path, server, admin_user_ids=[ADMIN.id])  # private: off
    seed(settings)
    url = site.page("/lighthouse")
    async with running_bot(settings, server):
        replies = {}
        for message in (url, "/add", "/add ftp://example.com/file", "/add http://10.0.0.7/"):
            sent = await server.send_text(ADMIN, message)
            [reply] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
            replies[message] = reply["text"]
        sent = await server.send_text(USER, f"/add {url}")
        [not_admin] = await server.replies(USER.id, after=sent["message_id"])
        sent = await server.send_text(USER, url)  # from a user, a link is a question
        [question] = await server.replies(USER.id, after=sent["message_id"])
    assert "could not add that page: 127.0.0.1 is a loopback address" in replies[url]
    assert "QABOT_LINKS_ALLOW_PRIVATE=true" in replies[url]
    assert "/add https://example.com/page" in replies["/add"]
    assert "not an http(s) link" in replies["/add ftp://example.com/file"]
    assert "10.0.0.7 is a private address" in replies["/add http://10.0.0.7/"]
    assert "Only the bot's admins" in not_admin["text"]
    assert "Only the bot's admins" not in question["text"]
    assert "Added" not in question["text"]
    assert site.requests == []  # nothing was fetched
    assert not (settings.seeds_dir / "links").exists()


async def test_the_same_content_sent_again_is_not_indexed_twice(tmp_path, server):
    settings = make_settings(tmp_path, server, admin_user_ids=[ADMIN.id])
    seed(settings)
    [seed_file] = [p.name for p in settings.seeds_dir.iterdir()]
    seed_bytes = (settings.seeds_dir / seed_file).read_bytes()
    async with running_bot(settings, server):
        sent = await server.send_document(ADMIN, "lighthouse.txt", LIGHTHOUSE.encode())
        [first] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
        sent = await server.send_document(ADMIN, "lighthouse.txt", LIGHTHOUSE.encode())
        [twice] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
        sent = await server.send_document(ADMIN, "copy of the news.txt", seed_bytes)
        [renamed] = await server.replies(ADMIN.id, after=sent["message_id"], timeout=30)
        sent = await server.send_text(ADMIN, "/help")
        [help_text] = await server.replies(ADMIN.id, after=sent["message_id"])
    assert "Saved as “lighthouse.txt”" in first["text"]
    assert "already indexed as “lighthouse.txt”" in twice["text"]
    assert f"“copy of the news.txt” is already indexed as “{seed_file}”" in renamed["text"]
    assert sorted(p.name for p in settings.seeds_dir.iterdir()) == sorted(
        [seed_file, "lighthouse.txt"]
    )
    assert "/add URL" in help_text["text"] and "indexed once" in help_text["text"]
