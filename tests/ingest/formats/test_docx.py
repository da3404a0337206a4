import docx
import pytest

from qabot.errors import DocumentError
from qabot.ingest.formats import read_file
from tests.ingest.formats import entry, make_docx, read_one


def test_docx_paragraphs_and_title(seeds):
    d = docx.Document()
    d.core_properties.title = "Minutes"
    d.add_paragraph("The board approved the budget.")
    d.add_paragraph("Next meeting is in March.")
    d.save(seeds / "minutes.docx")
    (doc,) = read_one(seeds, "minutes.docx")
    assert doc.title == "Minutes"
    assert doc.text == "The board approved the budget.\nNext meeting is in March."


def test_a_docx_that_unpacks_to_too_much_xml_is_refused_before_parsing(seeds):
    path = seeds / "bomb.docx"
    path.write_bytes(make_docx(["Tiny text."], extra_member=b" " * 60_000_000))
    assert path.stat().st_size < 200_000  # a small file...
    with pytest.raises(DocumentError, match=r"unpacked XML \(60,\d{3},\d{3} bytes.*QABOT_MAX_DOC"):
        read_file(entry(path))  # ...refused by its declared sizes, not by parsing 60 MB
    [doc] = read_file(entry(path), max_chars=10_000_000)  # allowed when the setting says so
    assert doc.text == "Tiny text."


def test_a_merged_docx_cell_is_read_once(seeds):
    document = docx.Document()
    table = document.add_table(rows=2, cols=4)
    table.cell(0, 0).merge(table.cell(0, 3)).text = "Wide merged cell"
    table.cell(1, 0).text, table.cell(1, 1).text = "left", "right"
    path = seeds / "table.docx"
    document.save(str(path))
    [doc] = read_file(entry(path))
    assert doc.text == "Wide merged cell\nleft | right"
