"""What every format shares: decoding, cleaning, titles."""

import pytest

from qabot.errors import DocumentError
from qabot.ingest.text import clean_title, decode, normalize_text, one_document, printable


def test_cp1251_text_is_decoded():
    text = "Засідання Ради Україна-НАТО відбулося в Брюсселі. " * 5
    assert decode(text.encode("cp1251")) == text


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
def test_legacy_encodings_are_decoded(text, encoding):
    assert decode(text.encode(encoding)) == text


def test_utf16_with_a_bom_is_decoded():
    assert decode("Київ\nü".encode("utf-16")) == "Київ\nü"


def test_utf8_with_one_stray_byte_keeps_its_text(caplog):
    data = "Привіт, світ! Київ і Львів.\nЩе один рядок. ".encode() + b"\xff end."
    assert decode(data) == "Привіт, світ! Київ і Львів.\nЩе один рядок. \ufffd end."
    assert "1 byte(s) are not UTF-8" in caplog.text


def test_binary_data_is_not_text():
    with pytest.raises(DocumentError, match="binary file, not text"):
        decode(b"\x00\x01\x02PK\x00" * 100)


def test_terminal_escapes_are_dropped_from_documents():
    text = "Alert\x1b[31m red\x1b[0m, \x1b]0;title\x07bell\x07 and C1 \x9b end\x00."
    assert normalize_text(text) == "Alert red, bell and C1  end."
    assert printable("a\x1b[1mb\tc\x07") == "ab\tc"


def test_a_title_is_one_clean_line():
    assert clean_title("  ## Big\n\x1b  news  ") == "Big news"
    assert clean_title("x" * 400) == "x" * 300
    assert clean_title(None) == ""


def test_one_document_falls_back_to_the_first_line_and_the_name():
    doc = one_document(
        "news/2024-12-04-floods.txt", title=None, text="\n\nFloods\nRiver rose.", max_chars=100
    )
    assert (doc.doc_id, doc.title, doc.source, doc.date) == (
        "news/2024-12-04-floods.txt",
        "Floods",
        "news/2024-12-04-floods.txt",
        "2024-12-04",
    )
    doc = one_document("notes.txt", title="  ", text="#\nBody.", max_chars=100)
    assert doc.title == "notes"
