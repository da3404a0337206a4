"""Web pages added by their link: fetched with care, stored in the documents folder.

A page is kept as an HTML file below ``seeds/links/``, its first line recording the URL
(`qabot.ingest.formats.html.LINK_MARK`). Rebuilds then read it like any HTML file, the URL
stays its source in answers, and sending the same link again replaces the file (refreshes the
page).

The fetch refuses what a link from a chat should never reach: schemes other than http(s),
and hosts whose addresses are not public (private, loopback, link-local...), checked for
every address the host resolves to and again after every redirect, and for the address each
connection is actually made to, unless QABOT_LINKS_ALLOW_PRIVATE is set. Pages are capped in size and time and must be HTML.
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import os
import re
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from qabot.errors import DocumentError, LinkError
from qabot.fsutil import fsync_dir, fsync_file, write_error
from qabot.ingest.formats import read_file
from qabot.ingest.formats.html import LINK_MARK
from qabot.ingest.scan import FileEntry

LINKS_FOLDER = "links"
MAX_REDIRECTS = 5
HTML_TYPES = {"text/html", "application/xhtml+xml"}
# A message that is only a link (spaces around it allowed).
LINK_MESSAGE = r"(?i)^\s*(https?://\S+)\s*$"
_LINK = re.compile(LINK_MESSAGE)
_SLUG = re.compile(r"[^A-Za-z0-9]+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """A fetched web page: the link as sent, where it ended after redirects, its HTML."""

    url: str
    final_url: str
    html: str


def link_in(message: str) -> str | None:
    """The URL when a message is nothing but an http(s) link, else None."""
    match = _LINK.match(message or "")
    return match.group(1) if match else None


def file_name(url: str) -> str:
    """Where a page is stored below the documents folder: ``links/<host>-<path>-<hash>.html``.
    The same URL always gets the same name (sending it again refreshes the page); the hash
    keeps two URLs that read alike apart."""
    parts = urlsplit(url)
    slug = _SLUG.sub("-", f"{parts.hostname or ''} {parts.path}").strip("-")[:80].strip("-")
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]
    return f"{LINKS_FOLDER}/{slug or 'page'}-{digest}.html"


def page_file(page: Page) -> bytes:
    """The file stored for a page: the URL mark line, then the page's HTML, as UTF-8."""
    # `>` cannot end the comment early, and whitespace would end the URL when it is read back.
    url = re.sub(r"[\s<>]", lambda m: f"%{ord(m.group()):02X}", page.url)
    return (LINK_MARK.format(url=url) + page.html).encode("utf-8", "surrogatepass")


def check_url(url: str, *, allow_private: bool, resolve=socket.getaddrinfo) -> None:
    """Refuse a URL that is not http(s), has no host, or whose host resolves to any address
    that is not public (unless `allow_private`). `resolve` is `socket.getaddrinfo`'s
    stand-in (tests name the addresses a host has)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise LinkError(f"{url} is not a valid link ({exc})") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise LinkError(f"{url} is not an http(s) link: send a web page's address")
    host = parts.hostname
    if not host:
        raise LinkError(f"{url} has no host name: send the page's full address")
    if allow_private:
        return
    try:
        infos = resolve(host, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise LinkError(f"the site's name {host} could not be found: check the link") from None
    for info in infos:
        address = info[4][0]
        reason = _not_public(address)
        if reason:
            where = "" if host == address else f" ({address})"
            raise LinkError(
                f"{host} is {reason}{where}: links to such addresses are refused "
                "(QABOT_LINKS_ALLOW_PRIVATE=true allows them)"
            )


def _not_public(address: str) -> str | None:
    """Why an IP address may not be fetched, None for a public one."""
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 scope (fe80::1%eth0) dropped
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:  # 0.0.0.0 reaches this machine
        return "not a public address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return None


def fetch(
    url: str,
    *,
    allow_private: bool = False,
    timeout: float = 15.0,
    max_bytes: int = 5_000_000,
    resolve=socket.getaddrinfo,
) -> Page:
    """The page at `url`, following up to MAX_REDIRECTS redirects, each target checked as the
    link itself was. Raises LinkError with the reason for anything else."""
    import httpx

    current = url
    with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(current, allow_private=allow_private, resolve=resolve)
            extensions = {} if allow_private else {"trace": _PeerCheck(current)}
            try:
                with client.stream(
                    "GET", current, headers={"Accept": "text/html"}, extensions=extensions
                ) as response:
                    if response.is_redirect and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    html = _read_page(response, url=current, max_bytes=max_bytes)
                    return Page(url=url, final_url=current, html=html)
            except httpx.TimeoutException:
                raise LinkError(f"{current} did not answer within {timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise LinkError(f"cannot fetch {current}: {_failure(exc)}") from None
    raise LinkError(f"{url} redirects more than {MAX_REDIRECTS} times: send the final address")


def _failure(exc: Exception) -> str:
    """Why a fetch failed, in words for whoever sent the link rather than the OS error's
    ("[Errno 111] Connection refused"): httpx wraps the socket's or TLS's own exception."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return "the site's name could not be found: check the link"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                "the site's security certificate could not be verified (expired, or for "
                "another name)"
            )
        if isinstance(cause, ssl.SSLError):
            return "a secure (TLS) connection to the site could not be made: try its http:// link"
        if isinstance(cause, ConnectionRefusedError):
            return "the site refused the connection (nothing answers at that address and port)"
        if isinstance(cause, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
            return "the site closed the connection before answering: try again later"
        if isinstance(cause, OSError) and cause.errno in _UNREACHABLE:
            return "the site cannot be reached from here (no network route to it)"
        cause = cause.__cause__ or cause.__context__
    import httpx

    if isinstance(exc, httpx.RemoteProtocolError):
        return "the site closed the connection or did not answer as a web server does"
    if isinstance(exc, httpx.ProxyError):
        return "the proxy refused to fetch it (check HTTPS_PROXY / HTTP_PROXY)"
    return str(exc) or type(exc).__name__


_UNREACHABLE = {
    getattr(errno, name)
    for name in ("ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN")
    if hasattr(errno, name)
}


class _PeerCheck:
    """httpcore's trace hook: the address a connection was actually made to is checked as
    well, before the request is sent. A host that resolved to a public address for `check_url`
    and to a private one a moment later (DNS rebinding) is refused so. Through a proxy the peer
    is the proxy, which is not checked (the proxy resolves the host)."""

    def __init__(self, url: str) -> None:
        self.host = (urlsplit(url).hostname or "").lower()
        self.direct = False

    def __call__(self, event: str, info: dict) -> None:
        if event == "connection.connect_tcp.started":
            self.direct = str(info.get("host", "")).lower() == self.host
        elif event == "connection.connect_tcp.complete" and self.direct:
            peer = info["return_value"].get_extra_info("server_addr")
            reason = _not_public(str(peer[0])) if peer else None
            if reason:
                raise LinkError(
                    f"{self.host} led to {reason} ({peer[0]}) when connecting: links to such "
                    "addresses are refused (QABOT_LINKS_ALLOW_PRIVATE=true allows them)"
                )


def _read_page(response, *, url: str, max_bytes: int) -> str:
    """The response's text, refused unless it is a successful HTML page of at most
    `max_bytes` (counted as it arrives: a Content-Length can be missing or wrong)."""
    if response.status_code >= 400:
        raise LinkError(f"{url} answered {response.status_code} {response.reason_phrase}")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in HTML_TYPES:
        raise LinkError(
            f"{url} is {kind or 'of no declared type'}, not a web page (HTML): download the "
            "file and send it instead"
        )
    too_big = LinkError(
        f"{url} is larger than {max_bytes:,} bytes (QABOT_LINK_MAX_BYTES): save the part you "
        "need as a file and send it instead"
    )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    body = bytearray()
    for block in response.iter_bytes():
        body += block
        if len(body) > max_bytes:
            raise too_big
    return _decode(bytes(body), declared=response.charset_encoding)


def _decode(body: bytes, *, declared: str | None) -> str:
    """The page's text: by the charset its headers declare, else the one its <meta> names,
    else UTF-8 (stray bytes replaced)."""
    meta = _META_CHARSET.search(body[:4096])
    for charset in (declared, meta.group(1).decode("ascii") if meta else None, "utf-8"):
        if charset:
            try:
                return body.decode(charset, errors="replace")
            except LookupError:  # a charset Python does not know
                continue
    return body.decode("utf-8", errors="replace")


def store_page(page: Page, *, seeds_dir: Path, max_chars: int) -> tuple[Path, bool]:
    """Write a page into the documents folder (`file_name`), whole or not at all, and only
    when it has text to index; returns its path and whether a file was there before (the same
    link sent earlier). The caller holds the index lock (so no other page is being written)
    and builds next."""
    data = page_file(page)
    rel = file_name(page.url)
    target = seeds_dir / rel
    # A hidden name, which scans and the folder watcher ignore, renamed into place when
    # complete: a crash never leaves half a page in the documents folder.
    tmp = target.with_name(f".{target.stem}.qabot-tmp.html")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for leftover in target.parent.glob(".*.qabot-tmp.html"):  # from a killed process
            leftover.unlink(missing_ok=True)
        tmp.write_bytes(data)
        fsync_file(tmp)
        entry = FileEntry(tmp, rel, hashlib.sha256(data).hexdigest(), len(data))
        try:
            read_file(entry, max_chars=max_chars)
        except DocumentError as exc:
            raise LinkError(f"nothing to index at {page.url}: {exc}") from None
        existed = target.exists()
        os.replace(tmp, target)
        fsync_dir(target.parent, best_effort=True)
    except OSError as exc:
        raise write_error(seeds_dir, exc, setting="QABOT_SEEDS_DIR") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target, existed
