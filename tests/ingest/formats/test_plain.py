from tests.helpers import write
from tests.ingest.formats import read_one


def test_text_title_is_first_line(seeds):
    write(seeds / "news.txt", "Big headline\r\nFirst paragraph.  \r\n\r\n\r\n\r\nSecond.\n")
    (doc,) = read_one(seeds, "news.txt")
    assert doc.title == "Big headline"
    assert doc.text == "Big headline\nFirst paragraph.\n\nSecond."
    assert doc.doc_id == doc.source == "news.txt"


def test_markdown_title_from_heading(seeds):
    write(seeds / "notes.md", "Intro line\n\n# The Real Title\n\nBody text here.")
    (doc,) = read_one(seeds, "notes.md")
    assert doc.title == "The Real Title"


def test_a_markdown_file_without_a_heading_is_titled_by_its_first_line(seeds):
    write(seeds / "notes.markdown", "## Not a title heading\n\nBody text here.")
    (doc,) = read_one(seeds, "notes.markdown")
    assert doc.title == "Not a title heading"


def test_an_upper_case_suffix_is_read(seeds):
    write(seeds / "LOUD.TXT", "Loud\nAn old DOS file.")
    (doc,) = read_one(seeds, "LOUD.TXT")
    assert (doc.title, doc.text) == ("Loud", "Loud\nAn old DOS file.")
