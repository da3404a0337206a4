"""Scanning the documents folder: which files are candidates, their hashes, what is skipped.

Nothing here reads a document's content (that is `qabot.ingest.formats`); a file is listed by
its name, type, kind and size, and hashed so a rebuild knows whether it changed.
"""

from __future__ import annotations

import errno
import hashlib
import stat
from dataclasses import dataclass, field
from pathlib import Path

from qabot.errors import NoDocumentsError
from qabot.ingest.formats import supported_suffixes, unsupported
from qabot.ingest.text import display_name
from qabot.plurals import english

# Larger files are almost always a mistake (a video, a dump); say so instead of reading them.
MAX_FILE_BYTES = 512 * 1024 * 1024
# Hidden files and folders are not indexed. One in a format qabot reads was most likely meant
# as a document ("..notes.txt", a ".drafts/" folder): it is listed among the skipped with the
# fix. The rest stay quiet: other formats (.DS_Store, .gitignore), version control's folders,
# and temporary or lock files of qabot's own copies (".name.qabot-tmp", see
# `service._copy_file`), of macOS ("._name"), Emacs (".#name") and LibreOffice (".~lock...").
QUIET_FOLDERS = frozenset({".git", ".hg", ".svn", ".bzr"})
QUIET_PREFIXES = ("._", ".#", ".~")
TEMPORARY_MARK = ".qabot-tmp"
HIDDEN_FILE = "a hidden file (its name starts with a dot): rename it without the dot to index it"


@dataclass
class FileEntry:
    """A supported file below the seeds folder, with the hash that decides if it changed."""

    path: Path
    rel: str  # posix path below seeds/, the user-visible name
    sha256: str
    size: int


@dataclass
class Scan:
    """What a folder holds: readable candidates and files skipped before reading."""

    files: list[FileEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def scan_folder(root: Path, *, follow_external_links: bool = False) -> Scan:
    """Supported files below `root`, recursively, in a stable order. Hidden files and folders
    are not indexed (those that look like documents are listed as skipped, see
    `HIDDEN_FILE`); links that lead nowhere or outside `root` (unless
    `follow_external_links`), FIFOs and other special files are listed as skipped, never
    opened."""
    if not root.exists():
        raise NoDocumentsError(f"no documents folder {root}/: create it and put documents in it")
    if not root.is_dir():
        raise NoDocumentsError(f"{root} is not a folder: point QABOT_SEEDS_DIR at a folder")
    scan = Scan()
    real_root = root.resolve()
    supported = supported_suffixes()
    hidden_folders: dict[str, list] = {}  # folder -> [its row in skipped, documents in it]
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        hidden = next((i for i, p in enumerate(rel_parts) if p.startswith(".")), None)
        if hidden is not None:
            if not _looks_like_a_document(path, supported) or rel_parts[hidden] in QUIET_FOLDERS:
                continue
            if hidden == len(rel_parts) - 1:
                scan.skipped.append((display_name("/".join(rel_parts)), HIDDEN_FILE))
                continue
            folder = display_name("/".join(rel_parts[: hidden + 1])) + "/"
            if folder not in hidden_folders:
                hidden_folders[folder] = [len(scan.skipped), 0]
                scan.skipped.append((folder, ""))
            hidden_folders[folder][1] += 1
            continue
        rel = display_name("/".join(rel_parts))
        reason = _not_a_document(path, real_root, follow_external_links)
        if reason == "folder":
            continue
        if reason:
            scan.skipped.append((rel, reason))
            continue
        suffix = path.suffix.lower()
        if suffix not in supported:
            scan.skipped.append((rel, unsupported(suffix)))
            continue
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                scan.skipped.append((rel, f"too large ({size // 2**20} MiB)"))
                continue
            scan.files.append(FileEntry(path, rel, file_sha256(path), size))
        except OSError as exc:
            scan.skipped.append((rel, f"unreadable: {exc.strerror or exc}"))
    for folder, (row, documents) in hidden_folders.items():
        scan.skipped[row] = (
            folder,
            f"a hidden folder (its name starts with a dot), {english(documents, 'document')} "
            "in it not indexed: rename it without the dot to index them",
        )
    return scan


def _looks_like_a_document(path: Path, supported: frozenset[str]) -> bool:
    """Whether a hidden file would be read were it not hidden: a format qabot reads, and no
    temporary or lock file (those come and go by themselves)."""
    name = path.name
    if name.startswith(QUIET_PREFIXES) or TEMPORARY_MARK in name:
        return False
    return path.suffix.lower() in supported and not path.is_dir()


def _not_a_document(path: Path, real_root: Path, follow_external_links: bool) -> str | None:
    """Why `path` is not read as a document ("folder" for a real folder), None for a regular
    file. Links are resolved first: a dangling one or a loop is reported, not followed."""
    try:
        if path.is_symlink():
            target = path.resolve(strict=True)
            if target.is_dir():
                return "a link to a folder (links to folders are not followed)"
            if not follow_external_links and not target.is_relative_to(real_root):
                return (
                    "a link to a file outside the documents folder (set "
                    "QABOT_FOLLOW_EXTERNAL_LINKS=true to index such files)"
                )
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a broken link (its target does not exist)"
    except RuntimeError:  # Python < 3.13 reports a link loop so
        return "a link loop"
    except OSError as exc:
        return "a link loop" if exc.errno == errno.ELOOP else f"unreadable: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return "folder"
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket or device"
        return f"not a regular file ({kind})"
    return None
