import json

import docx
import pytest

from qabot.errors import DocumentError, NoDocumentsError
from qabot.ingest.documents import read_file, scan_folder
from tests.helpers import write
from tests.helpers.pdf import make_pdf


def _read_one(folder, name):
    scan = scan_folder(folder)
    (entry,) = [f for f in scan.files if f.rel == name]
    return read_file(entry)


def test_text_title_is_first_line(seeds):
    write(seeds / "news.txt", "Big headline\r\nFirst paragraph.  \r\n\r\n\r\n\r\nSecond.\n")
    (doc,) = _read_one(seeds, "news.txt")
    assert doc.title == "Big headline"
    assert doc.text == "Big headline\nFirst paragraph.\n\nSecond."
    assert doc.doc_id == doc.source == "news.txt"


def test_markdown_title_from_heading(seeds):
    write(seeds / "notes.md", "Intro line\n\n# The Real Title\n\nBody text here.")
    (doc,) = _read_one(seeds, "notes.md")
    assert doc.title == "The Real Title"


def test_html_main_text_without_menus_and_scripts(seeds):
    html = """<html><head><title>Council meets</title><script>var tracking = 1;</script></head>
    <body><nav><ul><li>Home</li><li>Sports menu</li></ul></nav>
    <article><h1>Council meets</h1>
    <p>The council met on Tuesday in Brussels to discuss air defence for the coming winter.</p>
    <p>Ministers agreed to send more equipment before January, officials said after the talks.</p>
    </article><footer>Copyright footer text</footer></body></html>"""
    write(seeds / "page.html", html)
    (doc,) = _read_one(seeds, "page.html")
    assert doc.title == "Council meets"
    assert "air defence" in doc.text and "before January" in doc.text
    assert "tracking" not in doc.text and "Sports menu" not in doc.text


def test_pdf_text_layer_and_title(seeds):
    (seeds / "report.pdf").write_bytes(
        make_pdf(
            ["Quarterly report on grain exports.", "Exports rose by 12 percent."], title="Grain"
        )
    )
    (doc,) = _read_one(seeds, "report.pdf")
    assert doc.title == "Grain"
    assert "Exports rose by 12 percent." in doc.text


def test_docx_paragraphs_and_title(seeds):
    d = docx.Document()
    d.core_properties.title = "Minutes"
    d.add_paragraph("The board approved the budget.")
    d.add_paragraph("Next meeting is in March.")
    d.save(seeds / "minutes.docx")
    (doc,) = _read_one(seeds, "minutes.docx")
    assert doc.title == "Minutes"
    assert doc.text == "The board approved the budget.\nNext meeting is in March."


def test_jsonl_corpus_one_document_per_line(seeds, caplog):
    rows = [
        {"doc_id": "a", "title": "Alpha", "text": "Alpha text."},
        {"doc_id": "b", "title": "Beta", "text": "Beta text."},
    ]
    lines = [json.dumps(r) for r in rows] + ["{not json", json.dumps({"doc_id": "c"})]
    write(seeds / "corpus.jsonl", "\n".join(lines) + "\n")
    docs = _read_one(seeds, "corpus.jsonl")
    assert [(d.doc_id, d.title, d.text) for d in docs] == [
        ("corpus.jsonl#a", "Alpha", "Alpha text."),
        ("corpus.jsonl#b", "Beta", "Beta text."),
    ]
    assert "skipped 2 bad" in caplog.text


def test_cp1251_text_is_decoded(seeds):
    text = "Засідання Ради Україна-НАТО відбулося в Брюсселі. " * 5
    (seeds / "old.txt").write_bytes(text.encode("cp1251"))
    (doc,) = _read_one(seeds, "old.txt")
    assert "Засідання Ради" in doc.text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"   \n", "empty"),
        ("binary.txt", b"\x00\x01\x02PK\x00" * 100, "binary"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("broken.docx", b"not a zip file at all", "docx"),
        ("nothing.jsonl", b'{"no_text": 1}\n', "no usable lines"),
    ],
)
def test_bad_files_raise_with_reason(seeds, name, data, reason):
    (seeds / name).write_bytes(data)
    with pytest.raises(DocumentError, match=reason):
        _read_one(seeds, name)


def test_scan_recursive_skips_hidden_and_reports_unsupported(seeds):
    write(seeds / "a.txt", "A")
    write(seeds / "sub" / "deeper" / "b.md", "B")
    write(seeds / ".hidden" / "c.txt", "C")
    write(seeds / ".secret.txt", "D")
    (seeds / "image.png").write_bytes(b"\x89PNG")
    scan = scan_folder(seeds)
    assert [f.rel for f in scan.files] == ["a.txt", "sub/deeper/b.md"]
    assert scan.skipped == [("image.png", "unsupported file type .png")]


def test_missing_folder_names_the_fix(tmp_path):
    with pytest.raises(NoDocumentsError, match="no documents folder"):
        scan_folder(tmp_path / "nope")
