"""The vector index: every kind finds what exact search finds, survives a round trip to disk, and
refuses damaged files with the fix in the message."""

from __future__ import annotations

import numpy as np
import pytest

from qabot.errors import IndexCorruptError, IndexMismatchError
from qabot.search import ann

DIM = 64


def _clustered(n: int, *, seed: int = 0) -> np.ndarray:
    """Normalised float32 vectors in a few clusters, like embeddings of a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, DIM)).astype(np.float32)
    x = centres[rng.integers(0, 20, n)] + 0.7 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return _clustered(3000)


@pytest.fixture(scope="module")
def queries(vectors: np.ndarray) -> np.ndarray:
    """Perturbed copies of data points: their neighbours are real but not trivially themselves."""
    rng = np.random.default_rng(1)
    q = vectors[rng.integers(0, len(vectors), 200)]
    q = q + 0.1 * rng.standard_normal(q.shape).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def indexes(vectors: np.ndarray) -> dict:
    return {kind: ann.build_index(vectors, kind=kind) for kind in ann.KINDS}


@pytest.mark.parametrize("kind", ann.KINDS)
def test_each_kind_finds_a_stored_vector_first(kind, indexes, vectors):
    scores, ids = ann.search(indexes[kind], vectors[:100], k=1)
    assert ids[:, 0].tolist() == list(range(100))
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)  # cosine of a vector with itself


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_kinds_recall_what_exact_finds(kind, indexes, queries):
    _, truth = ann.search(indexes["flat"], queries, k=10)
    _, found = ann.search(indexes[kind], queries, k=10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.98


@pytest.mark.parametrize("kind", ann.KINDS)
def test_save_load_round_trip_gives_identical_results(kind, indexes, queries, tmp_path):
    path = tmp_path / "vectors.faiss"
    ann.save_index(indexes[kind], path)
    loaded = ann.load_index(path)
    assert ann.describe(loaded) == ann.describe(indexes[kind])
    for got, want in zip(
        ann.search(loaded, queries, k=10), ann.search(indexes[kind], queries, k=10), strict=True
    ):
        np.testing.assert_array_equal(got, want)


def test_a_failed_save_leaves_the_old_file(indexes, vectors, tmp_path, monkeypatch):
    path = tmp_path / "vectors.faiss"
    ann.save_index(indexes["flat"], path)
    before = path.read_bytes()

    def disk_full(index, target):
        target.write_bytes(b"half an ind")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ann, "_write", disk_full)
    with pytest.raises(OSError, match="No space"):
        ann.save_index(indexes["hnsw"], path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.faiss"]  # no temp file left
    _, ids = ann.search(ann.load_index(path), vectors[:5], k=1)
    assert ids[:, 0].tolist() == list(range(5))


@pytest.mark.parametrize("kind", ann.KINDS)
@pytest.mark.parametrize("damage", ["missing", "empty", "truncated", "header only", "garbage"])
def test_a_damaged_file_raises_corrupt_with_the_fix(kind, damage, indexes, tmp_path):
    path = tmp_path / "vectors.faiss"
    ann.save_index(indexes[kind], path)
    data = path.read_bytes()
    damaged = {
        "missing": None,
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "header only": data[:40],
        "garbage": data[:4] + np.random.default_rng(0).bytes(len(data) - 4),
    }[damage]
    if damaged is None:
        path.unlink()
    else:
        path.write_bytes(damaged)
    with pytest.raises(IndexCorruptError, match=r"run `qabot index rebuild`"):
        ann.load_index(path)


def test_choose_kind_switches_past_the_threshold():
    assert ann.choose_kind(0) == "flat"
    assert ann.choose_kind(ann.AUTO_THRESHOLD) == "flat"
    assert ann.choose_kind(ann.AUTO_THRESHOLD + 1) == ann.AUTO_KIND
    assert ann.choose_kind(10, setting="hnsw") == "hnsw"
    assert ann.choose_kind(10**7, setting="flat") == "flat"
    with pytest.raises(ValueError, match="unknown index kind"):
        ann.choose_kind(10, setting="annoy")


@pytest.mark.parametrize("kind", ann.KINDS)
def test_added_vectors_get_the_next_ids(kind, vectors):
    index = ann.build_index(vectors[:2000], kind=kind)
    ann.add_to_index(index, vectors[2000:])
    assert index.ntotal == len(vectors)
    _, ids = ann.search(index, vectors[2990:], k=1)
    assert ids[:, 0].tolist() == list(range(2990, 3000))


def test_fewer_vectors_than_k_pads_with_minus_one(vectors):
    index = ann.build_index(vectors[:3], kind="flat")
    scores, ids = ann.search(index, vectors[:1], k=5)
    assert set(ids[0, :3].tolist()) == {0, 1, 2}
    assert ids[0, 3:].tolist() == [-1, -1]
    assert np.isneginf(scores[0, 3:]).all()


def test_ivf_on_few_vectors_uses_few_cells_and_refuses_too_few(vectors):
    index = ann.build_index(vectors[:100], kind="ivf")
    assert ann.describe(index)["nlist"] <= 100 // ann.IVF_MIN_POINTS_PER_CELL
    _, ids = ann.search(index, vectors[:10], k=1)
    assert ids[:, 0].tolist() == list(range(10))
    with pytest.raises(ValueError, match="kind='flat'"):
        ann.build_index(vectors[:10], kind="ivf")


def test_queries_of_another_dimension_are_a_mismatch(indexes):
    with pytest.raises(IndexMismatchError, match="rebuild"):
        ann.search(indexes["flat"], np.ones((1, DIM + 1), dtype=np.float32), k=1)


def test_describe_names_kind_and_parameters(indexes):
    assert ann.describe(indexes["flat"])["kind"] == "flat"
    hnsw = ann.describe(indexes["hnsw"])
    assert (hnsw["kind"], hnsw["M"], hnsw["efSearch"]) == ("hnsw", ann.HNSW_M, ann.HNSW_EF_SEARCH)
    ivf = ann.describe(indexes["ivf"])
    assert ivf["kind"] == "ivf" and ivf["nlist"] == ann.ivf_nlist(3000)
    assert ivf["nprobe"] == ann.ivf_nprobe(ivf["nlist"])
    assert all(d["dim"] == DIM and d["ntotal"] == 3000 for d in map(ann.describe, indexes.values()))


def test_needs_rebuild_when_the_size_calls_for_another_kind(vectors):
    small = ann.build_index(vectors[:100], kind="flat")
    assert not ann.needs_rebuild(small)
    assert ann.needs_rebuild(small, setting="hnsw")
    ivf = ann.build_index(vectors[:200], kind="ivf")
    ann.add_to_index(ivf, vectors[200:])  # 15x growth: cells crowded
    assert ann.needs_rebuild(ivf, setting="ivf")


def test_searcher_is_exact_without_a_stored_index_and_uses_one_when_given(vectors, indexes):
    exact = ann.Searcher(vectors)
    assert exact.index.ntotal == len(vectors)
    top = exact.top(vectors[7], 3)
    assert top[0][0] == 7 and top[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    assert ann.Searcher(vectors, index=indexes["ivf"]).index is indexes["ivf"]
    assert ann.Searcher(vectors[:2]).top(vectors[0], 10)[0][0] == 0  # k past the size
    assert ann.Searcher(np.zeros((0, DIM), dtype=np.float32)).top(vectors[0], 5) == []
