"""The build-time half of the ONNX path: `export_onnx` turns a sentence-transformers model into
the folder `OnnxQueryEmbedder` (qabot/embedders/onnx.py) reads.

Run at index build, where sentence-transformers (torch) is loaded anyway: the whole model -
transformer, the pooling its `1_Pooling/config.json` names, any Dense layers, L2 normalisation -
becomes one ONNX graph, next to the model's own tokenizer and a small JSON config. Every export is
checked against the model (same vectors within `EXPORT_TOLERANCE`) before it is published.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from qabot import hub
from qabot.embedders.onnx import (
    CONFIG_FILE,
    FORMAT,
    MODEL_FILE,
    TOKENIZER_FILE,
    OnnxQueryEmbedder,
)
from qabot.errors import ConfigError
from qabot.fsutil import fsync_dir, fsync_file

# Largest |difference| per vector component allowed between the export and sentence-transformers
# (measured: ~2e-7 on fp32 MiniLM). Vectors have norm 1, so this also bounds cosine error tightly.
EXPORT_TOLERANCE = 1e-4

# Inputs a text encoder graph may take; anything else (pixel_values, position_ids...) is refused.
_TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_SUPPORTED_MODULES = ("Transformer", "Pooling", "Dense", "Normalize")
# Checked at export: short, non-English, longer than any max_seq_length (truncation), and with
# case and edge whitespace (sentence-transformers 5 strips and may lower-case in Python, outside
# tokenizer.json: a model where that changes the tokens is refused instead of drifting).
_PROBE_TEXTS = (
    "How do I renew my passport?",
    "  Mixed CASE, edge   whitespace\t",
    "Як подовжити термін дії паспорта?",
    " ".join(["The quick brown fox jumps over the lazy dog."] * 80),
)


def export_onnx(st_model_dir_or_name: str, out_dir: Path, *, opset: int = 17) -> Path:
    """Export a sentence-transformers model to `out_dir` (model.onnx, tokenizer.json, qabot_onnx.json)
    and return `out_dir`.

    Accepts what `SentenceTransformerEmbedder` accepts (the packaged MiniLM's name, a local folder,
    an installed model name). The folder is built beside `out_dir` and renamed into place, so a
    reader sees the old export, briefly none, or the new one - never half of one. Raises ConfigError
    when the model cannot be loaded or exported faithfully; the caller then keeps sentence-transformers
    for queries.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out_dir)
    st, load_from = _load_for_export(st_model_dir_or_name)
    plan = _plan(st, st_model_dir_or_name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    # mkdtemp makes the folder 0700; the export must be readable like the rest of the index
    # (a bot running as another user would otherwise silently fall back to the slow path).
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    try:
        _write_export(st, plan, tmp, opset=opset)
        plan["max_abs_diff"] = _verify(st, tmp, plan, st_model_dir_or_name)
        plan["source"] = load_from
        _write_json(tmp / CONFIG_FILE, plan)
        for name in (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE):
            fsync_file(tmp / name)
        _publish(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _load_for_export(name: str) -> tuple[Any, str]:
    from qabot.embedders.st import resolve_model

    load_from, _ = resolve_model(name)
    if Path(load_from).exists():
        # Offline by design: a missing model must not turn into a hub download that hangs.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        # Eager attention traces to plain MatMul/Softmax; sdpa's mask helpers do not trace reliably.
        st = hub.load(
            load_from,
            lambda **kw: SentenceTransformer(
                load_from, device="cpu", model_kwargs={"attn_implementation": "eager"}, **kw
            ),
        )
    except Exception as exc:  # OSError, ValueError, hub errors: all mean "cannot load"
        raise ConfigError(
            f"cannot load sentence-transformers model {name!r} for ONNX export "
            f"({exc.__class__.__name__}: {exc}); set QABOT_MODEL to an installed model or a folder"
        ) from exc
    return st.eval(), load_from


def _refuse(name: str, why: str) -> ConfigError:
    return ConfigError(
        f"cannot export {name!r} to ONNX: {why}; `qabot ask` keeps using sentence-transformers "
        "(slower start) for this model"
    )


def _plan(st: Any, name: str) -> dict[str, Any]:
    """Check the model is a plain text encoder we can trace, and describe it for the config file."""
    kinds = [type(m).__name__ for m in st]
    unsupported = [k for k in kinds if k not in _SUPPORTED_MODULES]
    if unsupported or not kinds or kinds[0] != "Transformer":
        raise _refuse(
            name,
            f"its modules are {kinds}; only Transformer followed by Pooling, Dense and Normalize "
            "are supported",
        )
    transformer = st[0]
    tokenizer = getattr(transformer, "tokenizer", None)
    # sentence-transformers 5 has no modality_config: its Transformer is always a text encoder.
    modalities = getattr(transformer, "modality_config", None) or {"text": {"method": "forward"}}
    if getattr(transformer, "backend", "torch") != "torch":
        raise _refuse(name, f"it is loaded with the {transformer.backend!r} backend, not torch")
    if tokenizer is None or not getattr(tokenizer, "is_fast", False):
        raise _refuse(
            name, "it has no fast (Rust `tokenizers`) tokenizer to save as tokenizer.json"
        )
    if set(modalities) != {"text"} or modalities["text"].get("method") != "forward":
        raise _refuse(name, "it is not a plain text encoder (multimodal or chat-template model)")
    if getattr(transformer, "query_expansion", None) or getattr(
        transformer, "processing_kwargs", None
    ):
        raise _refuse(name, "it uses custom processing (query expansion or processing_kwargs)")
    if "sentence_embedding" in str(getattr(transformer, "module_output_name", "")):
        raise _refuse(name, "its transformer pools inside the model")

    from qabot.embedders.st import resolve_model, resolve_prompts

    prompt, passage_prompt = resolve_prompts(st, resolve_model(name)[1])
    poolings = [m for m in st if type(m).__name__ == "Pooling"]
    if len(poolings) != 1:
        raise _refuse(name, f"it has {len(poolings)} Pooling modules, expected one")
    pooling = poolings[0]
    modes = (
        [pooling.pooling_mode] if isinstance(pooling.pooling_mode, str) else pooling.pooling_mode
    )
    if (prompt or passage_prompt) and not pooling.include_prompt:
        raise _refuse(name, "its pooling excludes the prompt tokens, which the export cannot track")

    features = _tokenize(st, ["probe"])
    inputs = [k for k in _TEXT_INPUTS if k in features]
    extra = sorted(k for k, v in features.items() if hasattr(v, "shape") and k not in _TEXT_INPUTS)
    if extra or "input_ids" not in inputs or "attention_mask" not in inputs:
        raise _refuse(name, f"its tokenizer produces inputs {sorted(features)}")

    import sentence_transformers
    import torch
    import transformers

    return {
        "format": FORMAT,
        "dim": int(_embedding_dimension(st)),
        "max_seq_length": int(st.max_seq_length),
        "pooling_mode": list(modes),
        "modules": kinds,
        "normalize": True,  # always, in the graph: the Embedder contract is unit vectors
        "do_lower_case": bool(getattr(transformer, "do_lower_case", False)),  # in tokenizer.json
        "prompt": prompt,  # before questions
        "passage_prompt": passage_prompt,  # before passages and answer sentences
        "inputs": inputs,
        "output": "sentence_embedding",
        "pad_id": int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
        "truncation_side": str(getattr(tokenizer, "truncation_side", "right")),
        "opset": None,
        "onnx_bytes": None,
        "exported_with": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
        },
    }


def _tokenize(st: Any, texts: list[str]) -> dict[str, Any]:
    # sentence-transformers 6 renamed tokenize to preprocess (and warns on the old name).
    return (getattr(st, "preprocess", None) or st.tokenize)(texts)


def _embedding_dimension(st: Any) -> int:
    # sentence-transformers 6 renamed the method; 5.x has only the old name.
    getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return int(getter())


def _write_export(st: Any, plan: dict[str, Any], folder: Path, *, opset: int) -> None:
    import warnings

    import torch
    from tokenizers import Tokenizer

    inputs = plan["inputs"]

    class SentenceEncoder(torch.nn.Module):
        """Token ids -> unit sentence vectors, through the model's own modules (its pooling)."""

        def __init__(self) -> None:
            super().__init__()
            self.st = st

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            features: dict[str, Any] = dict(zip(inputs, tensors, strict=True))
            for module in self.st:
                features = module(features)
            return torch.nn.functional.normalize(features["sentence_embedding"], p=2, dim=-1)

    # Two texts of different length, so batch and sequence axes trace as dynamic and padding is live.
    sample = _tokenize(st, ["a short one", "and a somewhat longer second sample sentence"])
    args = tuple(sample[name] for name in inputs)
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    axes[plan["output"]] = {0: "batch"}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # TracerWarnings flag python branches on shapes; the export is verified numerically instead.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                SentenceEncoder().eval(),
                args,
                str(folder / MODEL_FILE),
                input_names=inputs,
                output_names=[plan["output"]],
                dynamic_axes=axes,
                opset_version=opset,
                # The dynamo exporter needs onnxscript; the TorchScript one handles these encoders.
                dynamo=False,
            )
    except Exception as exc:
        arch = ",".join(getattr(st[0].model.config, "architectures", None) or ["?"])
        raise ConfigError(
            f"cannot export {arch} to ONNX ({exc.__class__.__name__}: {exc}); `qabot ask` keeps "
            "using sentence-transformers (slower start) for this model"
        ) from exc
    plan["opset"] = opset
    plan["onnx_bytes"] = (folder / MODEL_FILE).stat().st_size

    # The backend tokenizer already holds what the HF wrapper configured (lower-casing, special
    # tokens via its post-processor); saving it with truncation set makes the file self-describing.
    tok = Tokenizer.from_str(st.tokenizer.backend_tokenizer.to_str())
    tok.no_padding()
    tok.enable_truncation(max_length=plan["max_seq_length"], direction=plan["truncation_side"])
    tok.save(str(folder / TOKENIZER_FILE))


def _verify(st: Any, folder: Path, plan: dict[str, Any], name: str) -> float:
    """Largest component difference to sentence-transformers on the probe texts; refuse above tol."""
    _write_json(folder / CONFIG_FILE, plan)
    onnx = OnnxQueryEmbedder(folder, model_id="verify")
    texts = list(_PROBE_TEXTS)
    ref = st.encode(texts, prompt=plan["prompt"], normalize_embeddings=True, convert_to_numpy=True)
    got = np.vstack([onnx.embed_query(t) for t in texts])
    diff = float(np.abs(got - ref).max())
    if plan["passage_prompt"] != plan["prompt"]:
        ref = st.encode(
            texts, prompt=plan["passage_prompt"], normalize_embeddings=True, convert_to_numpy=True
        )
        diff = max(diff, float(np.abs(onnx.embed_passages(texts) - ref).max()))
    if not diff < EXPORT_TOLERANCE:
        raise _refuse(
            name, f"the export differs from the model by {diff:.2g} (> {EXPORT_TOLERANCE})"
        )
    return diff


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _publish(tmp: Path, out_dir: Path) -> None:
    """Rename `tmp` to `out_dir`. A directory cannot replace a non-empty one in a single rename, so
    an old export is moved aside first and deleted after."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(out_dir, old)
    os.rename(tmp, out_dir)
    fsync_dir(out_dir.parent, best_effort=True)  # makes the rename itself durable
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(out_dir: Path, *, older_than: float = 3600) -> None:
    """Delete temp and old folders an interrupted export left beside `out_dir`. By default only
    those over an hour old (far longer than any export, so a concurrent one is never touched);
    a caller that holds the index lock, under which exports run, passes 0."""
    for path in out_dir.parent.glob(f".{out_dir.name}.*-*"):
        with contextlib.suppress(OSError):
            if path.is_dir() and time.time() - path.stat().st_mtime >= older_than:
                shutil.rmtree(path, ignore_errors=True)


def remove_leftovers(out_dir: Path) -> None:
    """Delete every temp and old folder killed exports left beside `out_dir`. Call with the
    index lock held (exports run under it)."""
    _remove_leftovers(Path(out_dir), older_than=0)
