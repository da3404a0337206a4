"""The float type passages are embedded in at build time (QABOT_EMBED_PRECISION).

bf16 where the CPU computes it natively (AVX512-BF16 or AMX-BF16), fp32 elsewhere: emulated
bf16 is slower than fp32, not faster. Questions are always embedded in fp32 (the ONNX export);
bf16 passage vectors stay within cosine 0.999 of fp32 ones (bench/RESULTS-speed.md section 7),
so both kinds compare with fp32 questions alike and an index never needs re-embedding when
the setting changes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

Precision = Literal["auto", "bf16", "fp32"]

# /proc/cpuinfo's names for the instructions that compute in bf16: AVX512-BF16 (dot products)
# and AMX-BF16 (tile matrix multiply). torch's get_cpu_capability() is not a test for them: it
# names the kernels ATen dispatches to and says "AVX512" on a CPU with AMX.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})

log = logging.getLogger("qabot")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """The x86 feature flags of the first CPU listed in `cpuinfo`; None where there is no such
    file or line (not Linux, not x86)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return None


def native_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether this CPU computes bf16 natively. `flags` defaults to `cpu_flags()`; where they
    cannot be read, torch's own CPU feature check decides (private API: absent means no)."""
    if flags is None:
        flags = cpu_flags()
    if flags is not None:
        return bool(flags & NATIVE_BF16_FLAGS)
    try:
        import torch
    except ImportError:
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def resolve(setting: Precision, *, native: bool | None = None) -> Literal["bf16", "fp32"]:
    """The precision QABOT_EMBED_PRECISION means on this machine: "auto" is bf16 where the CPU
    has it natively (`native`, detected when None), fp32 elsewhere; "bf16" and "fp32" force."""
    if setting == "fp32":
        return "fp32"
    if setting == "bf16":
        return "bf16"
    if setting != "auto":
        raise ValueError(f"unknown precision {setting!r}: auto, bf16 or fp32")
    chosen = "bf16" if (native_bf16() if native is None else native) else "fp32"
    log.debug("embedding passages in %s (QABOT_EMBED_PRECISION=auto)", chosen)
    return chosen
