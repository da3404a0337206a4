"""QABOT_EMBED_PRECISION: bf16 passages where the CPU has bf16 natively, fp32 elsewhere, and
bf16 passage vectors close enough to fp32 ones that questions (fp32) compare with both."""

from __future__ import annotations

import numpy as np
import pytest

from qabot.config import Settings, get_settings
from qabot.embedders import load_embedder
from qabot.embedders.precision import cpu_flags, native_bf16, resolve
from qabot.errors import ConfigError
from qabot.service import QAService
from tests.helpers import write

# Abridged /proc/cpuinfo of two processors: one with AMX and AVX512-BF16, one without.
SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8

processor\t: 1
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8
"""
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_vnni\n"
# aarch64 names its features "Features", and torch's bf16 there is not what we measured.
GRAVITON = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


def test_flags_are_read_from_cpuinfo(tmp_path):
    write(tmp_path / "cpuinfo", SAPPHIRE_RAPIDS)
    flags = cpu_flags(tmp_path / "cpuinfo")
    assert {"avx512_bf16", "amx_bf16", "avx2"} <= flags
    assert cpu_flags(tmp_path / "absent") is None
    write(tmp_path / "arm", GRAVITON)
    assert cpu_flags(tmp_path / "arm") is None


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        ({"avx512f", "avx512_bf16"}, True),
        ({"avx512f", "amx_bf16", "amx_tile"}, True),
        ({"avx512f", "avx512bw", "avx512_vnni"}, False),  # no bf16 instruction: emulated
        ({"amx_int8", "amx_tile"}, False),
        (set(), False),
    ],
)
def test_native_bf16_needs_a_bf16_instruction(flags, native):
    assert native_bf16(frozenset(flags)) is native


def test_auto_follows_the_cpu_and_the_setting_forces_either():
    assert resolve("auto", native=True) == "bf16"
    assert resolve("auto", native=False) == "fp32"
    assert resolve("bf16", native=False) == "bf16"
    assert resolve("fp32", native=True) == "fp32"
    with pytest.raises(ValueError, match="auto, bf16 or fp32"):
        resolve("fp16")  # type: ignore[arg-type]


def test_the_setting_reaches_the_embedder(monkeypatch, settings):
    assert Settings().embed_precision == "auto"
    monkeypatch.setenv("QABOT_EMBED_PRECISION", "bf16")
    assert get_settings().embed_precision == "bf16"
    monkeypatch.setenv("QABOT_EMBED_PRECISION", "half")
    with pytest.raises(ConfigError, match="QABOT_EMBED_PRECISION"):
        get_settings()
    for value in ("bf16", "fp32"):  # loads no model
        service = QAService(
            settings.model_copy(
                update={"embedder": "sentence-transformers", "embed_precision": value}
            )
        )
        assert service.embedder.passage_precision == value
    # Backends without bf16 take the setting and ignore it.
    assert (
        load_embedder("hashing", "", precision="bf16").embed_passages(["a b"]).dtype == np.float32
    )


@pytest.mark.slow
def test_bf16_passage_vectors_agree_with_fp32(minilm):
    if not native_bf16():
        pytest.skip("this CPU has no native bf16 (avx512_bf16 / amx_bf16)")
    from qabot.embedders.st import SentenceTransformerEmbedder

    texts = [
        "Super Bowl 50\nThe Panthers defense gave up just 308 points, ranking sixth in the league.",
        "Zebras live in Africa. They have black and white stripes. Lions hunt them.",
        "Київ — столиця України, розташований на річці Дніпро.",
        "Short.",
        " ".join(["A long passage about the history of the Normans in Normandy."] * 40),
    ]
    bf16 = SentenceTransformerEmbedder("all-MiniLM-L6-v2", precision="bf16")
    assert bf16.passage_precision == "bf16" and minilm.passage_precision == "fp32"
    got = bf16.embed_passages(texts, batch_size=2)
    ref = minilm.embed_passages(texts, batch_size=2)
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(got * ref, axis=1))) >= 0.999
    # Questions stay fp32: the same vector as the fp32 embedder's.
    np.testing.assert_array_equal(bf16.embed_query("Who won?"), minilm.embed_query("Who won?"))
