"""The same content under several names in the documents folder: indexed once.

Files are compared by the SHA-256 of their bytes, which every scan computes anyway and the
index manifest records per file.
"""

from __future__ import annotations

from qabot.ingest.scan import FileEntry


def find_duplicates(files: list[FileEntry], *, indexed: dict[str, dict]) -> dict[str, str]:
    """Each duplicate file's name -> the name of the file indexed for the same content.

    Of files with the same bytes, the one already in the index with them (`indexed`: the
    manifest's files) is kept, so a copy never replaces the original and nothing is embedded
    again; among new ones, the first by name. Empty files are left to the reader, which skips
    them with its own reason.
    """
    groups: dict[str, list[FileEntry]] = {}
    for entry in files:
        if entry.size:
            groups.setdefault(entry.sha256, []).append(entry)
    duplicates: dict[str, str] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        keeper = next(
            (e for e in group if indexed.get(e.rel, {}).get("sha256") == e.sha256), group[0]
        )
        for entry in group:
            if entry is not keeper:
                duplicates[entry.rel] = keeper.rel
    return duplicates
