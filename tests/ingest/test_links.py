"""Adding web pages by link: what is refused, what is fetched, how it is stored and answered."""

from __future__ import annotations

import re
import socket
import threading

import pytest
from typer.testing import CliRunner

from qabot.cli.main import app
from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import LinkError
from qabot.ingest import links
from qabot.ingest.links import check_url, fetch, file_name, link_in
from qabot.service import QAService
from tests.helpers.web import ARTICLE, WebSite

QUESTION = "Who is the keeper of the Cape Zelenyi lighthouse?"


@pytest.fixture
def site():
    with WebSite() as web:
        yield web


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/file", "not an http(s) link"),
        ("file:///etc/passwd", "not an http(s) link"),
        ("javascript:alert(1)", "not an http(s) link"),
        ("http:///nothing", "no host name"),
        ("http://127.0.0.1:8080/admin", "a loopback address"),
        ("http://localhost/", "a loopback address"),
        ("http://[::1]/", "a loopback address"),
        ("http://[::ffff:10.0.0.1]/", "a private address"),
        ("http://192.168.1.1/", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://0.0.0.0/", "not a public address"),
        ("http://example.com:99999/", "not a valid link"),
    ],
)
def test_links_that_are_refused(url, reason):
    with pytest.raises(LinkError, match=re.escape(reason)):
        check_url(url, allow_private=False)


def test_every_address_of_a_host_is_checked():
    """One private address among public ones is enough to refuse (a host can have several)."""

    def resolve(host, port, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in ("93.184.216.34", "10.1.2.3")
        ]

    with pytest.raises(LinkError, match=r"a private address \(10.1.2.3\)"):
        check_url("https://mixed.example/", allow_private=False, resolve=resolve)


def test_a_redirect_to_a_private_address_is_refused(site, monkeypatch):
    """The site on 127.0.0.1 (which this test alone counts as a public address) redirects to
    a host whose address is private: the target is checked again and refused before any
    request reaches it."""
    public = links._not_public
    monkeypatch.setattr(links, "_not_public", lambda a: None if a == "127.0.0.1" else public(a))

    def resolve(host, port, **kwargs):
        address = {"127.0.0.1": "127.0.0.1", "intranet.test": "10.0.0.5"}[host]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    start = site.redirect("/start", "http://intranet.test/admin")
    with pytest.raises(LinkError, match=r"intranet\.test is a private address \(10\.0\.0\.5\)"):
        fetch(start, allow_private=False, resolve=resolve)
    assert site.requests == ["/start"]


def test_a_host_that_resolves_elsewhere_when_connecting_is_refused(site):
    """DNS rebinding: the check is told a public address, the connection reaches 127.0.0.1;
    the connection's own address is checked before the request is sent."""

    def resolve(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    with pytest.raises(LinkError, match=r"led to a loopback address \(127\.0\.0\.1\)"):
        fetch(site.page("/secret"), allow_private=False, resolve=resolve)
    assert site.requests == []


def test_fetch_follows_redirects_and_reads_the_page(site):
    final = site.page("/article")
    page = fetch(site.redirect("/old", "/article"), allow_private=True)
    assert page.final_url == final and "Mykola Drozd" in page.html


def test_pages_that_are_not_html_too_big_missing_or_looping_are_refused(site):
    pdf = site.page("/file.pdf", "%PDF-1.4", kind="application/pdf")
    with pytest.raises(LinkError, match="application/pdf, not a web page"):
        fetch(pdf, allow_private=True)
    big = site.page("/big", "<p>" + "x" * 5000 + "</p>")
    with pytest.raises(LinkError, match="larger than 2,000 bytes"):
        fetch(big, allow_private=True, max_bytes=2000)
    with pytest.raises(LinkError, match="404"):
        fetch(site.base + "/missing", allow_private=True)
    loop = site.redirect("/loop", "/loop")
    with pytest.raises(LinkError, match="redirects more than"):
        fetch(loop, allow_private=True)


def test_a_site_that_does_not_answer_in_time():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts the connection, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        with pytest.raises(LinkError, match=r"did not answer within 0\.5 s"):
            fetch(url, allow_private=True, timeout=0.5)
    finally:
        listener.close()


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there any more
    return port


def test_sites_that_cannot_be_reached_are_worded_for_people(site):
    """Not the OS error ("[Errno 111] Connection refused"): what happened, in words."""
    with pytest.raises(LinkError) as refused:
        fetch(f"http://127.0.0.1:{_closed_port()}/", allow_private=True)
    assert "the site refused the connection" in str(refused.value)
    # A plain HTTP site asked for TLS: the handshake fails.
    with pytest.raises(LinkError) as tls:
        fetch(site.page("/lighthouse").replace("http://", "https://"), allow_private=True)
    assert "a secure (TLS) connection to the site could not be made" in str(tls.value)
    # A connection closed without an answer.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"

    def close_it() -> None:
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.close()

    closer = threading.Thread(target=close_it, daemon=True)
    closer.start()
    try:
        with pytest.raises(LinkError) as closed:
            fetch(url, allow_private=True)
    finally:
        closer.join(5)
        listener.close()
    assert "the site closed the connection" in str(closed.value)
    for error in (refused, tls, closed):
        assert "Errno" not in str(error.value) and "_ssl.c" not in str(error.value)


def test_a_name_that_cannot_be_found_is_worded_for_people(monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(LinkError) as checked:  # the check before fetching
        check_url("https://no-such-site.example/", allow_private=False, resolve=no_such_name)
    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    with pytest.raises(LinkError) as fetched:  # private links allowed: httpx resolves it
        fetch("http://no-such-site.example/", allow_private=True)
    assert "name no-such-site.example could not be found: check the link" in str(checked.value)
    assert "the site's name could not be found: check the link" in str(fetched.value)
    assert "Errno" not in str(checked.value) + str(fetched.value)


def test_link_in_a_message():
    assert link_in("  https://example.com/a?b=1 \n") == "https://example.com/a?b=1"
    assert link_in("see https://example.com") is None
    assert link_in("what is http?") is None
    assert file_name("https://example.com/news/a") == file_name("https://example.com/news/a")
    assert file_name("https://example.com/a").startswith("links/example-com-a-")


def test_an_added_page_is_answered_with_its_url_as_the_source(settings, site):
    settings = settings.model_copy(update={"links_allow_private": True})
    svc = QAService(settings, embedder=HashingEmbedder())
    url = site.page("/lighthouse")
    rel, report = svc.add_url(url)
    assert report.added == [rel] and rel.startswith("links/")
    answer = svc.ask(QUESTION)
    assert answer.found and "Mykola Drozd" in answer.hits[0].chunk.text
    assert answer.hits[0].chunk.source == url
    assert answer.hits[0].chunk.title == "Cape Zelenyi lighthouse"
    # A rebuild from scratch keeps it: the URL lives in the stored file.
    svc.build(full=True)
    assert svc.ask(QUESTION).hits[0].chunk.source == url
    # The same link again, page unchanged: nothing new.
    again_rel, again = svc.add_url(url)
    assert again_rel == rel and not again.changed_anything
    # The page changed: the same file is refreshed.
    site.page("/lighthouse", ARTICLE.replace("Mykola Drozd", "Olena Drozd"))
    _, refreshed = svc.add_url(url)
    assert refreshed.changed == [rel]
    assert "Olena Drozd" in svc.ask(QUESTION).hits[0].chunk.text


def test_a_page_without_text_leaves_nothing_behind(settings, site):
    settings = settings.model_copy(update={"links_allow_private": True})
    svc = QAService(settings, embedder=HashingEmbedder())
    url = site.page("/empty", "<html><body><script>x()</script></body></html>")
    with pytest.raises(LinkError, match="nothing to index"):
        svc.add_url(url)
    assert not any(settings.seeds_dir.rglob("*.html"))
    assert not any(p.name.startswith(".") for p in settings.seeds_dir.rglob("*"))


def test_cli_index_add_takes_links(tmp_path, seeds, site, monkeypatch):
    monkeypatch.setenv("QABOT_EMBEDDER", "hashing")
    monkeypatch.setenv("QABOT_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("QABOT_INDEX_DIR", str(tmp_path / "index"))
    url = site.page("/lighthouse")
    runner = CliRunner()
    refused = runner.invoke(app, ["index", "add", url])
    assert refused.exit_code == 1 and "loopback address" in refused.output
    assert "QABOT_LINKS_ALLOW_PRIVATE" in refused.output
    monkeypatch.setenv("QABOT_LINKS_ALLOW_PRIVATE", "true")
    added = runner.invoke(app, ["index", "add", url])
    assert added.exit_code == 0, added.output
    assert f"Added {url} as links/" in added.output and "1 added" in added.output
    asked = runner.invoke(app, ["ask", QUESTION])
    assert "Mykola Drozd" in asked.output and url in asked.output
