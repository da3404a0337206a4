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
    (seeds / "image.png").write_bytes(b"\x89PNG")
    (seeds / "README").write_bytes(b"no suffix")
    scan = scan_folder(seeds)
    assert [f.rel for f in scan.files] == ["a.txt", "sub/deeper/b.md"]
    assert scan.files[0].sha256 == file_sha256(seeds / "a.txt") and scan.files[0].size == 1
    assert scan.skipped == [
        ("README", "unsupported file type (none)"),
        ("image.png", "unsupported file type .png"),
    ]


def test_hidden_documents_are_skipped_with_the_fix_and_the_rest_stays_quiet(seeds):
    """A hidden file or folder in a format qabot reads was most likely meant as a document:
    named among the skipped, with how to include it. Hidden things that are no documents, and
    temporary files (qabot's own copies among them), are not worth a line."""
    write(seeds / "a.txt", "A")
    write(seeds / "..dots.txt", "Dots")
    write(seeds / ".hidden.txt", "Hidden")
    write(seeds / "sub" / ".notes.md", "Notes")
    write(seeds / ".drafts" / "one.txt", "One")
    write(seeds / ".drafts" / "deeper" / "two.pdf", "Two")
    write(seeds / ".drafts" / ".three.txt", "Three")
    write(seeds / ".drafts" / "thumbs.db", "no document")
    write(seeds / ".git" / "notes.md", "version control's own")
    write(seeds / ".git" / "HEAD", "ref: refs/heads/main")
    write(seeds / ".DS_Store", "Finder")
    write(seeds / ".gitignore", "*.tmp")
    write(seeds / "._a.txt", "macOS metadata")
    write(seeds / ".a.txt.qabot-tmp", "qabot copying a.txt")
    write(seeds / "links" / ".page.qabot-tmp.html", "<p>qabot storing a page</p>")
    write(seeds / ".~lock.report.docx#", "LibreOffice")
    (seeds / ".#a.txt").symlink_to("user@host.1234")  # an Emacs lock: a link to nowhere
    scan = scan_folder(seeds)
    assert [f.rel for f in scan.files] == ["a.txt"]
    hidden_file = (
        "a hidden file (its name starts with a dot): rename it without the dot to index it"
    )
    assert scan.skipped == [
        ("..dots.txt", hidden_file),
        (
            ".drafts/",
            "a hidden folder (its name starts with a dot), 3 documents in it not indexed: "
            "rename it without the dot to index them",
        ),
        (".hidden.txt", hidden_file),
        ("sub/.notes.md", hidden_file),
    ]


def test_a_hidden_document_is_counted_in_the_build_and_shown_by_status(settings, seeds):
    write(seeds / "a.txt", "Cats\nCats sleep most of the day.")
    write(seeds / ".hidden.txt", "Dogs\nDogs bark.")
    report = _svc(settings).build()
    assert report.added == ["a.txt"]
    assert [name for name, _ in report.skipped] == [".hidden.txt"]
    write(seeds / "..dots.txt", "Birds\nBirds sing.")  # after the build: status sees it too
    st = _svc(settings).status()
    assert [name for name, _ in st.skipped] == ["..dots.txt", ".hidden.txt"]
    assert not st.new


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
