"""Documents sent by admins: which files are accepted and the name each is saved under."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from qabot.ingest.formats import supported_suffixes

# Telegram lets bots download files up to 20 MB (the Bot API's getFile limit).
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\-() ]+")
_RUNS = re.compile(r"[_ ]{2,}")
MAX_STEM = 100


def suffix_of(file_name: str | None) -> str:
    return Path(safe_file_name(file_name)).suffix.lower()


def is_supported(file_name: str | None) -> bool:
    return suffix_of(file_name) in supported_suffixes()


def safe_file_name(file_name: str | None) -> str:
    """A plain file name for the seeds folder: no folders (``../`` or ``C:\\``), no hidden or
    option-like names, no control or shell characters, a bounded length, a lower-case suffix."""
    name = unicodedata.normalize("NFKC", file_name or "")
    name = re.split(r"[/\\]", name)[-1]  # both separators: a Windows path arrives as one name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _RUNS.sub("_", _UNSAFE.sub("_", name)).strip(" ._-")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem.strip(" ._-")[:MAX_STEM].strip(" ._-") or "document"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def target_path(seeds_dir: Path, file_name: str | None) -> Path:
    """Where an upload goes. Sending a file under exactly the name of a document already there
    replaces it (that is how a document is updated); a name that had to be changed never
    overwrites another document but gets a ``-2``, ``-3``... suffix instead."""
    safe = safe_file_name(file_name)
    target = seeds_dir / safe
    if safe == file_name or not target.exists():
        return target
    stem, suffix = Path(safe).stem, Path(safe).suffix
    n = 2
    while (seeds_dir / f"{stem}-{n}{suffix}").exists():
        n += 1
    return seeds_dir / f"{stem}-{n}{suffix}"
