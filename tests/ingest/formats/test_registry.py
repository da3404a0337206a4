"""The registry: which suffixes are read, how they are named, and what every reader shares."""

import pytest

from qabot.bot.messages import TEXTS
from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import DocumentError
from qabot.ingest.formats import (
    FORMATS,
    format_names,
    formats_text,
    read_file,
    supported_suffixes,
)
from qabot.service import QAService
from tests.helpers import write
from tests.helpers.pdf import make_pdf
from tests.ingest.formats import entry, make_docx, read_one


def test_the_formats_are_named_once_from_the_registry():
    assert formats_text() == ".txt, .md, .html, .pdf, .docx or .jsonl"
    assert formats_text(dots=False, last="або") == "txt, md, html, pdf, docx або jsonl"
    assert format_names() == [fmt.suffixes[0] for fmt in FORMATS]
    assert supported_suffixes() == {
        ".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl"
    }  # fmt: skip
    # The bot's messages list them from here too.
    assert "(txt, md, html, pdf, docx, jsonl)" in TEXTS["help"]["en"]
    assert "txt, md, html, pdf, docx or jsonl files" in TEXTS["upload_unsupported"]["en"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"   \n", "empty"),
        ("binary.txt", b"\x00\x01\x02PK\x00" * 100, "binary"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("broken.docx", b"not a zip file at all", "docx"),
        ("nothing.jsonl", b'{"no_text": 1}\n', "no usable lines"),
        ("blank.md", b"\x1b[31m\n\x07\n", "no text found"),
    ],
)
def test_bad_files_raise_with_reason(seeds, name, data, reason):
    (seeds / name).write_bytes(data)
    with pytest.raises(DocumentError, match=reason):
        read_one(seeds, name)


def test_a_file_of_an_unsupported_type_is_not_read(seeds):
    path = write(seeds / "image.png", "not an image")
    with pytest.raises(DocumentError, match=r"unsupported file type \.png"):
        read_file(entry(path))


@pytest.mark.parametrize("suffix", [".txt", ".docx", ".pdf", ".html"])
def test_a_document_with_too_much_text_is_skipped_naming_the_setting(seeds, suffix):
    lines = [f"Line {i} of a long report about harbours and ships." for i in range(60)]
    path = seeds / f"long{suffix}"
    if suffix == ".docx":
        path.write_bytes(make_docx(lines))
    elif suffix == ".pdf":
        path.write_bytes(make_pdf(lines))
    elif suffix == ".html":
        body = "".join(f"<p>{line}</p>" for line in lines)
        path.write_text(f"<html><body><article>{body}</article></body></html>")
    else:
        path.write_text("\n".join(lines))
    assert read_file(entry(path), max_chars=100_000)
    with pytest.raises(DocumentError, match=r"too much .*QABOT_MAX_DOCUMENT_CHARS=1,000"):
        read_file(entry(path), max_chars=1000)


def test_the_build_summary_counts_a_document_over_the_cap(settings, seeds, monkeypatch):
    write(seeds / "short.txt", "Short\nA short note.")
    write(seeds / "long.txt", "Long\n" + "Many words here. " * 200)
    monkeypatch.setenv("QABOT_MAX_DOCUMENT_CHARS", "1000")
    capped = settings.model_copy(update={"max_document_chars": 1000})
    report = QAService(capped, embedder=HashingEmbedder()).build()
    assert report.added == ["short.txt"]
    assert [name for name, _ in report.skipped] == ["long.txt"]
    assert "QABOT_MAX_DOCUMENT_CHARS" in report.skipped[0][1]
