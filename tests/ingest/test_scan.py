"""Scanning the documents folder: what is listed, under which name, and what is skipped why."""

import os

import pytest

from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import NoDocumentsError
from qabot.ingest.scan import file_sha256, scan_folder
from qabot.service import QAService
from tests.helpers import write


def _svc(settings):
    return QAService(settings, embedder=HashingEmbedder())


def test_scan_recursive_skips_hidden_and_reports_unsupported(seeds):
    write(seeds / "a.txt", "A")
    write(seeds / "sub" / "deeper" / "b.md", "B")
    write(seeds / ".hidden" / "c.txt", "C")
    write(seeds / ".secret.txt", "D")
    (seeds / "image.png").write_bytes(b"\x89PNG")
    (seeds / "README").write_bytes(b"no suffix")
    scan = scan_folder(seeds)
    assert [f.rel for f in scan.files] == ["a.txt", "sub/deeper/b.md"]
    assert scan.files[0].sha256 == file_sha256(seeds / "a.txt") and scan.files[0].size == 1
    assert scan.skipped == [
        ("README", "unsupported file type (none)"),
        ("image.png", "unsupported file type .png"),
    ]


def test_missing_folder_names_the_fix(tmp_path):
    with pytest.raises(NoDocumentsError, match="no documents folder"):
        scan_folder(tmp_path / "nope")


def test_control_characters_in_a_file_name_are_escaped(seeds):
    write(seeds / "red\x1b[31m.txt", "Text\nSome text.")
    assert [f.rel for f in scan_folder(seeds).files] == ["red\\x1b[31m.txt"]


def test_a_file_name_that_is_not_utf8_is_indexed_under_an_escaped_name(settings, seeds):
    name = os.fsencode(seeds) + b"/bad-\xff\xfe-bytes.txt"
    fd = os.open(name, os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"Volcanoes\nMount Etna erupts often in Sicily.")
    os.close(fd)
    write(seeds / "ok.txt", "Cats\nCats sleep most of the day.")
    report = _svc(settings).build()
    assert sorted(report.added) == ["bad-\\xff\\xfe-bytes.txt", "ok.txt"] and not report.skipped
    hit = _svc(settings).ask("Where does Etna erupt?").hits[0]
    assert hit.chunk.source == "bad-\\xff\\xfe-bytes.txt"
    # The next build recognises it as unchanged, and status does not call it new.
    assert _svc(settings).build().unchanged == 2
    st = _svc(settings).status()
    assert not st.new and not st.changed and not st.deleted


def test_links_and_special_files_are_listed_among_the_skipped(tmp_path, settings, seeds):
    outside = write(tmp_path / "private" / "secret.txt", "Secret\nThe vault code is 1234.")
    write(seeds / "inside.txt", "Inside\nCats sleep most of the day.")
    (seeds / "to-inside.txt").symlink_to(seeds / "inside.txt")
    (seeds / "to-secret.txt").symlink_to(outside)
    (seeds / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (seeds / "loop-a.txt").symlink_to(seeds / "loop-b.txt")
    (seeds / "loop-b.txt").symlink_to(seeds / "loop-a.txt")
    (seeds / "to-folder").symlink_to(tmp_path / "private")
    os.mkfifo(seeds / "pipe.txt")
    report = _svc(settings).build()  # never opens the FIFO (that would hang)
    # A link to a file inside seeds/ is the same content under another name: indexed once.
    assert report.added == ["inside.txt"]
    assert report.duplicates == [("to-inside.txt", "inside.txt")]
    skipped = dict(report.skipped)
    assert "QABOT_FOLLOW_EXTERNAL_LINKS=true" in skipped["to-secret.txt"]
    assert skipped["dangling.txt"] == "a broken link (its target does not exist)"
    assert skipped["loop-a.txt"] == skipped["loop-b.txt"] == "a link loop"
    assert skipped["pipe.txt"] == "not a regular file (a FIFO)"
    assert "links to folders are not followed" in skipped["to-folder"]
    allowed = settings.model_copy(update={"follow_external_links": True})
    assert _svc(allowed).build().added == ["to-secret.txt"]
    assert _svc(allowed).ask("What is the vault code?").hits[0].chunk.source == "to-secret.txt"
