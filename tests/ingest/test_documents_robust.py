"""Hostile and unlucky documents: each is read, or skipped with a reason the build summary counts."""

import io
import json
import os
import zipfile

import pytest

from qabot.embedders.hashing import HashingEmbedder
from qabot.errors import DocumentError
from qabot.ingest.documents import FileEntry, normalize_text, read_file, scan_folder
from qabot.service import QAService
from tests.helpers import write
from tests.helpers.pdf import make_pdf


def _svc(settings):
    return QAService(settings, embedder=HashingEmbedder())


def _entry(path):
    return FileEntry(path, path.name, "", path.stat().st_size)


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


def test_control_characters_in_a_file_name_are_escaped(seeds):
    write(seeds / "red\x1b[31m.txt", "Text\nSome text.")
    assert [f.rel for f in scan_folder(seeds).files] == ["red\\x1b[31m.txt"]


def _encrypted_pdf(tmp_path, *, user_password):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Secret harbour plans."]))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-256")
    path = tmp_path / "seeds" / f"locked-{bool(user_password)}.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def test_an_aes_pdf_with_only_an_owner_password_is_read(tmp_path, seeds):
    path = _encrypted_pdf(tmp_path, user_password="")
    [doc] = read_file(_entry(path))
    assert "Secret harbour plans." in doc.text


def test_a_pdf_that_needs_a_password_to_open_is_skipped_with_the_reason(tmp_path, seeds):
    path = _encrypted_pdf(tmp_path, user_password="let-me-in")
    with pytest.raises(DocumentError, match="needs a password to open: save a copy without it"):
        read_file(_entry(path))


def _docx(paragraphs, *, extra_member: bytes | None = None) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    if extra_member is None:
        return buffer.getvalue()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(buffer) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("word/padding.xml", extra_member)
    return out.getvalue()


def test_a_docx_that_unpacks_to_too_much_xml_is_refused_before_parsing(seeds):
    path = seeds / "bomb.docx"
    path.write_bytes(_docx(["Tiny text."], extra_member=b" " * 60_000_000))
    assert path.stat().st_size < 200_000  # a small file...
    with pytest.raises(DocumentError, match=r"unpacked XML \(60,\d{3},\d{3} bytes.*QABOT_MAX_DOC"):
        read_file(_entry(path))  # ...refused by its declared sizes, not by parsing 60 MB
    [doc] = read_file(_entry(path), max_chars=10_000_000)  # allowed when the setting says so
    assert doc.text == "Tiny text."


@pytest.mark.parametrize("suffix", [".txt", ".docx", ".pdf", ".html"])
def test_a_document_with_too_much_text_is_skipped_naming_the_setting(seeds, suffix):
    lines = [f"Line {i} of a long report about harbours and ships." for i in range(60)]
    path = seeds / f"long{suffix}"
    if suffix == ".docx":
        path.write_bytes(_docx(lines))
    elif suffix == ".pdf":
        path.write_bytes(make_pdf(lines))
    elif suffix == ".html":
        body = "".join(f"<p>{line}</p>" for line in lines)
        path.write_text(f"<html><body><article>{body}</article></body></html>")
    else:
        path.write_text("\n".join(lines))
    assert read_file(_entry(path), max_chars=100_000)
    with pytest.raises(DocumentError, match=r"too much .*QABOT_MAX_DOCUMENT_CHARS=1,000"):
        read_file(_entry(path), max_chars=1000)


def test_the_build_summary_counts_a_document_over_the_cap(settings, seeds, monkeypatch):
    write(seeds / "short.txt", "Short\nA short note.")
    write(seeds / "long.txt", "Long\n" + "Many words here. " * 200)
    monkeypatch.setenv("QABOT_MAX_DOCUMENT_CHARS", "1000")
    report = _svc(settings.model_copy(update={"max_document_chars": 1000})).build()
    assert report.added == ["short.txt"]
    assert [name for name, _ in report.skipped] == ["long.txt"]
    assert "QABOT_MAX_DOCUMENT_CHARS" in report.skipped[0][1]


@pytest.mark.parametrize(
    "text, encoding",
    [
        ("Le client était très déçu, à cause du délai.", "latin-1"),
        ("Die Bürger müssen Größe zeigen, sagte der Außenminister.", "cp1252"),
        ("Il était déçu.", "latin-1"),
        # charset-normalizer alone: iso8859_10, "déįu" (issue 15)
        ("Il a été déçu. Ça ne va pas, c'est à dire l'été dernier à Noël.", "latin-1"),
        # charset-normalizer alone: cp1250, "trčs"
        ("Le client était très déçu du service.", "latin-1"),
        ("Привет, как дела? Всё хорошо, спасибо за помощь.", "cp1251"),
        ("Καλημέρα, τι κάνεις; Όλα καλά εδώ στην Αθήνα.", "cp1253"),
        ("Zażółć gęślą jaźń. Wszystko jest w porządku, dziękuję.", "cp1250"),
    ],
)
def test_legacy_encodings_are_decoded(seeds, text, encoding):
    path = seeds / "legacy.txt"
    path.write_bytes(text.encode(encoding))
    [doc] = read_file(_entry(path))
    assert doc.text == text


def test_utf8_with_one_stray_byte_keeps_its_text(seeds, caplog):
    path = seeds / "stray.txt"
    path.write_bytes("Привіт, світ! Київ і Львів.\nЩе один рядок. ".encode() + b"\xff end.")
    [doc] = read_file(_entry(path))
    assert doc.text == "Привіт, світ! Київ і Львів.\nЩе один рядок. \ufffd end."
    assert "1 byte(s) are not UTF-8" in caplog.text


def test_jsonl_text_that_is_not_a_string_is_skipped_and_named(seeds, caplog):
    lines = [
        {"doc_id": "a", "text": "Alpha text."},
        {"doc_id": "b", "text": None},
        {"doc_id": "c", "text": {"nested": "object"}},
        {"doc_id": "d", "text": 42},
        ["not", "an", "object"],
        {"doc_id": "e", "title": {"x": 1}, "text": "Lone \ud800 surrogate."},
    ]
    path = seeds / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    docs = read_file(_entry(path))
    assert [(d.doc_id, d.title, d.text) for d in docs] == [
        ("corpus.jsonl#a", "a", "Alpha text."),
        ("corpus.jsonl#e", "e", "Lone \ufffd surrogate."),
    ]
    assert "skipped 4 bad line(s)" in caplog.text
    for reason in ("'text' is null: line 2", "'text' is an object: line 3", "not an object"):
        assert reason in caplog.text


def test_jsonl_with_a_lone_surrogate_builds(settings, seeds):
    write(seeds / "c.jsonl", json.dumps({"doc_id": "x\ud800", "text": "Harbour \udcff ships."}))
    assert _svc(settings).build().documents_total == 1
    assert _svc(settings).ask("harbour ships").found


def test_terminal_escapes_are_dropped_from_documents():
    text = "Alert\x1b[31m red\x1b[0m, \x1b]0;title\x07bell\x07 and C1 \x9b end\x00."
    assert normalize_text(text) == "Alert red, bell and C1  end."


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


def test_a_merged_docx_cell_is_read_once(seeds):
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=4)
    table.cell(0, 0).merge(table.cell(0, 3)).text = "Wide merged cell"
    table.cell(1, 0).text, table.cell(1, 1).text = "left", "right"
    path = seeds / "table.docx"
    document.save(str(path))
    [doc] = read_file(_entry(path))
    assert doc.text == "Wide merged cell\nleft | right"
