"""Models loaded by hub name: no network is an error at once, naming the setting.

The hub is played by 127.0.0.1: a port that refuses connections is a hub that cannot be reached,
one that listens is a hub that can. Each test uses ports of its own, so the per-process answer
`hub.reachable` keeps is never another test's.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from qabot import hub
from qabot.errors import ConfigError, ModelLoadError, ModelUnavailableError

NAME = "no-such-org/no-such-model"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 held (bound, not listening), so connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def open_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def no_network(monkeypatch, closed_port) -> None:
    """Online mode (the suite's HF_HUB_OFFLINE unset) with a hub nobody answers for."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port}")


def test_the_probe_tells_a_listening_hub_from_a_refusing_one(monkeypatch, open_port, closed_port):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{open_port}")
    assert hub.reachable()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    assert not hub.reachable()


def test_the_probe_goes_to_the_proxy_the_hub_libraries_would_use(monkeypatch, open_port):
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")  # .invalid never resolves
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{open_port}")
    monkeypatch.setenv("NO_PROXY", "localhost")
    assert hub.reachable()


@pytest.mark.usefixtures("no_network")
def test_no_network_names_qabot_model_at_once():
    import sentence_transformers  # noqa: F401 - imported here, not inside the timed load

    from qabot.embedders.st import SentenceTransformerEmbedder

    start = time.monotonic()
    with pytest.raises(ConfigError) as info:
        SentenceTransformerEmbedder(NAME).model  # noqa: B018
    # the hub libraries alone retry for ~50 s; the probe gives up after 2 s
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert "QABOT_MODEL" in message and "no network" in message and "127.0.0.1" in message


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(("setting", "feature"), [("RERANKER", "reranker"), ("READER", "reader")])
def test_no_network_names_the_optional_models_setting_at_once(setting, feature):
    from qabot.answer.reader import Reader
    from qabot.search.reranking import Reranker

    start = time.monotonic()
    with pytest.raises(ModelLoadError) as info:
        {"RERANKER": Reranker, "READER": Reader}[setting](NAME)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert message.startswith(f"QABOT_{setting}_MODEL={NAME} could not be loaded: ")
    assert "there is no network to download it" in message
    assert message.endswith(f"unset it to turn the {feature} off)")


def test_offline_mode_says_so_without_probing(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")  # a probe would find nothing there
    with pytest.raises(
        ModelUnavailableError, match="no network to download it: HF_HUB_OFFLINE is set"
    ):
        hub.load(NAME, lambda **kw: pytest.fail("loaded a model that is not there"))


@pytest.mark.usefixtures("no_network")
def test_a_downloaded_model_loads_from_the_cache_only(monkeypatch, tmp_path):
    from huggingface_hub import constants

    commit = "0" * 40
    repo = tmp_path / "hub" / "models--no-such-org--no-such-model"
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    calls = []
    assert hub.load(NAME, lambda **kw: calls.append(kw) or "model") == "model"
    assert calls == [{"local_files_only": True}]


def test_with_the_hub_reachable_loading_is_left_alone(monkeypatch, open_port):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{open_port}")
    calls = []
    assert hub.load(NAME, lambda **kw: calls.append(kw) or "model") == "model"
    assert calls == [{}]


def test_a_local_folder_is_loaded_without_a_probe(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")
    calls = []
    assert hub.load(str(tmp_path), lambda **kw: calls.append(kw) or "model") == "model"
    assert calls == [{}]
