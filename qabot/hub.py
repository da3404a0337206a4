"""Loading a model by its model hub name (QABOT_MODEL, QABOT_RERANKER_MODEL, QABOT_READER_MODEL)
without hanging when there is no network.

Given a name that is not a local folder, transformers and sentence-transformers ask the hub
(huggingface.co, or HF_ENDPOINT) about every file, even one already downloaded, and with no
network each question is retried with back-off for ~50 s before they give up. So before such a
load one TCP connection to the hub (or to the proxy in front of it) is tried with a 2 s timeout,
once per process. When it fails, or HF_HUB_OFFLINE is set, the model loads from the download
cache only, and a model that was never downloaded is an error at once.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from qabot.errors import ModelUnavailableError

PROBE_TIMEOUT = 2.0  # seconds; a reachable hub accepts a connection in well under one
DEFAULT_ENDPOINT = "https://huggingface.co"  # huggingface_hub's, when HF_ENDPOINT is not set
_TRUE = {"1", "ON", "YES", "TRUE"}  # huggingface_hub's reading of HF_HUB_OFFLINE

T = TypeVar("T")


def load(name: str, loader: Callable[..., T]) -> T:
    """`loader()` for a local folder or when the hub can be reached; otherwise
    `loader(local_files_only=True)` for a model in the download cache, and
    `ModelUnavailableError` at once for one that is not (its message says why: no network,
    or HF_HUB_OFFLINE). The caller turns errors into one naming its setting."""
    if Path(name).expanduser().exists():
        return loader()
    offline = _offline()
    if not offline and reachable():
        return loader()
    if not _downloaded(name):
        why = "HF_HUB_OFFLINE is set" if offline else f"{endpoint_host()} cannot be reached"
        raise ModelUnavailableError(
            f"it is not downloaded on this machine and there is no network to download it: {why}"
        )
    return loader(local_files_only=True)


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def endpoint_host() -> str:
    return urlsplit(endpoint()).netloc or endpoint()


def reachable() -> bool:
    """Whether a TCP connection to the hub (or the proxy the hub libraries would use) opens
    within PROBE_TIMEOUT; asked once per process and address."""
    return _connects(*_first_hop(endpoint()))


def _offline() -> bool:
    return any(
        (os.environ.get(var) or "").upper() in _TRUE
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _first_hop(url: str) -> tuple[str, int]:
    """(host, port) the first connection to `url` goes to: its proxy from the environment
    (HTTPS_PROXY, ...; the hub libraries' httpx reads the same variables) unless NO_PROXY
    exempts the host, else the host itself."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        hop = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return hop.hostname or "", hop.port or 80
    return host, port


@functools.cache
def _connects(host: str, port: int) -> bool:
    opened: list[bool] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=PROBE_TIMEOUT).close()
            opened.append(True)
        except OSError:  # no route, refused, no DNS, timed out
            pass

    # The name lookup inside create_connection has no timeout of its own (a resolver that does
    # not answer takes 5 s per try), so the probe runs in a thread that is not waited for longer.
    probe = threading.Thread(target=connect, name="qabot-hub-probe", daemon=True)
    probe.start()
    probe.join(PROBE_TIMEOUT + 0.5)
    return bool(opened)


def _downloaded(name: str) -> bool:
    """False only when the download cache certainly lacks `name`; a name that is not a valid hub
    id is left to the loader, whose own error says so."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot_download(name, local_files_only=True)
    except LocalEntryNotFoundError:
        return False
    except Exception:  # e.g. HFValidationError: not a hub id at all
        return True
    return True
