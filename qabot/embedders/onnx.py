"""The query-time half of the ONNX path: `OnnxQueryEmbedder` runs an export with onnxruntime +
tokenizers + numpy only, so a one-shot `qabot ask` never imports torch.

`import sentence_transformers` (torch + transformers) costs 8-10 s on a 2-core machine, more than a
one-shot answer may take in total. The export itself (torch, at index build) is
qabot/embedders/onnx_export.py; this module owns the folder's layout (MODEL_FILE, TOKENIZER_FILE,
CONFIG_FILE, FORMAT) that both sides agree on, and must not import torch.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from qabot.embedders.base import ProgressCallback, normalize
from qabot.errors import ConfigError, IndexCorruptError, IndexMismatchError

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "qabot_onnx.json"
FORMAT = 1
# What the reader needs from qabot_onnx.json (the rest is a record of how the export was made).
_CONFIG_KEYS = (
    "format", "dim", "max_seq_length", "inputs", "output", "pad_id", "truncation_side", "prompt",
    "onnx_bytes",
)  # fmt: skip


def is_exported(folder: Path, *, model: str | None = None) -> bool:
    """Whether `folder` holds a complete, current export (of `model`, when given), judged cheaply
    (a JSON read and a stat, no model load): the build calls `export_onnx` when this is False."""
    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        complete = (
            config["format"] == FORMAT
            and (folder / TOKENIZER_FILE).is_file()
            and (folder / MODEL_FILE).stat().st_size == config["onnx_bytes"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not complete or model is None:
        return complete
    from qabot.embedders.st import resolve_model

    return config.get("source") == resolve_model(model)[0]


def _corrupt(folder: Path, what: str) -> IndexCorruptError:
    return IndexCorruptError(
        f"ONNX export in {folder} {what} - run `qabot index build` to export it again"
    )


class OnnxQueryEmbedder:
    """The `Embedder` for an `export_onnx` folder: onnxruntime + tokenizers + numpy, no torch.

    `model_id` is passed in by the caller and must be the id of the sentence-transformers embedder
    the index was built with (e.g. "sentence-transformers:all-MiniLM-L6-v2"): the vectors are the
    same, so the index manifest must not see a different model.
    """

    def __init__(self, folder: Path, *, model_id: str, threads: int | None = None) -> None:
        self.folder = Path(folder)
        self._model_id = model_id
        self.config = self._read_config()
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ConfigError(
                f"the ONNX query path needs {exc.name}: run `pip install onnxruntime tokenizers`"
            ) from exc

        try:
            self._tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        except Exception as exc:  # the Rust side raises plain Exception on bad JSON
            raise _corrupt(self.folder, f"has an unreadable {TOKENIZER_FILE}") from exc
        self._tokenizer.enable_truncation(
            max_length=self.config["max_seq_length"], direction=self.config["truncation_side"]
        )
        self._tokenizer.no_padding()

        options = ort.SessionOptions()
        # Measured on a busy 2-core machine (load ~7): one query p50 19.6 ms on 1 thread, 13.1 ms on
        # 2 without spinning, but 37 ms on 2 *with* onnxruntime's default spin-waiting, which fights
        # whatever else runs (the bot, a build). So: all (up to 2) cores, never spinning. Inter-op
        # parallelism has nothing to overlap in this linear graph.
        threads = threads or min(2, os.cpu_count() or 1)
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about unused initialisers are noise for users
        try:
            self._session = ort.InferenceSession(
                str(self.folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise _corrupt(self.folder, f"has an unreadable {MODEL_FILE}") from exc
        names = [i.name for i in self._session.get_inputs()]
        if names != self.config["inputs"]:
            raise _corrupt(
                self.folder, f"has a model taking {names}, config says {self.config['inputs']}"
            )

    def _read_config(self) -> dict[str, Any]:
        if not self.folder.is_dir():
            raise _corrupt(self.folder, "is missing")
        missing = [
            n for n in (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE) if not (self.folder / n).is_file()
        ]
        if missing:
            raise _corrupt(self.folder, f"lacks {', '.join(missing)}")
        try:
            config = json.loads((self.folder / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _corrupt(self.folder, f"has an unreadable {CONFIG_FILE}") from exc
        if not isinstance(config, dict) or any(key not in config for key in _CONFIG_KEYS):
            raise _corrupt(self.folder, f"has an incomplete {CONFIG_FILE}")
        if config["format"] != FORMAT:
            raise IndexMismatchError(
                f"ONNX export in {self.folder} has format {config['format']!r}, this qabot reads "
                f"{FORMAT} - run `qabot index build` to export it again"
            )
        # A cut-short copy is the common corruption; the size check costs a stat, not a hash.
        size = (self.folder / MODEL_FILE).stat().st_size
        if size != config["onnx_bytes"]:
            raise _corrupt(
                self.folder, f"has a {MODEL_FILE} of {size} bytes, expected {config['onnx_bytes']}"
            )
        return config

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return int(self.config["dim"])

    @property
    def max_tokens(self) -> int:
        # max_seq_length counts the special tokens ([CLS], [SEP]) the post-processor adds, and
        # the passage prefix.
        prompt = self.config.get("passage_prompt", self.config["prompt"])
        prefix = self.count_tokens([prompt])[0] if prompt else 0
        return (
            int(self.config["max_seq_length"])
            - self._tokenizer.num_special_tokens_to_add(False)
            - prefix
        )

    @cached_property
    def _counting_tokenizer(self):  # -> Tokenizer without truncation, for count_tokens only
        from tokenizers import Tokenizer

        tok = Tokenizer.from_str(self._tokenizer.to_str())
        tok.no_truncation()
        return tok

    def count_tokens(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        encodings = self._counting_tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def _run(self, texts: list[str], prompt: str) -> np.ndarray:
        encodings = self._tokenizer.encode_batch([prompt + t for t in texts])
        width = max(len(e.ids) for e in encodings)
        # Right-pad to the batch's longest; the attention mask keeps pads out of attention and pooling.
        arrays = {
            name: np.zeros((len(texts), width), dtype=np.int64) for name in self.config["inputs"]
        }
        arrays["input_ids"].fill(self.config["pad_id"])
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            arrays["input_ids"][row, :n] = enc.ids
            arrays["attention_mask"][row, :n] = 1
            if "token_type_ids" in arrays:
                arrays["token_type_ids"][row, :n] = enc.type_ids
        (vectors,) = self._session.run([self.config["output"]], arrays)
        return vectors

    def embed_passages(
        self, texts: list[str], *, batch_size: int = 32, on_batch: ProgressCallback | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Batches of similar length waste little compute on padding; rows go back in input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            # Exports made before passage prompts existed used one prompt for both.
            prompt = self.config.get("passage_prompt", self.config["prompt"])
            out[idx] = self._run([texts[i] for i in idx], prompt)
            if on_batch:
                on_batch(len(idx))
        return normalize(out)

    def embed_query(self, text: str) -> np.ndarray:
        return normalize(self._run([text], self.config["prompt"])[0])
