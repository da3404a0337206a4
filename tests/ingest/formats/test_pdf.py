import io

import pytest

from qabot.errors import DocumentError
from qabot.ingest.formats import read_file
from tests.helpers.pdf import make_pdf
from tests.ingest.formats import entry, read_one


def test_pdf_text_layer_and_title(seeds):
    (seeds / "report.pdf").write_bytes(
        make_pdf(
            ["Quarterly report on grain exports.", "Exports rose by 12 percent."], title="Grain"
        )
    )
    (doc,) = read_one(seeds, "report.pdf")
    assert doc.title == "Grain"
    assert "Exports rose by 12 percent." in doc.text


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
    [doc] = read_file(entry(path))
    assert "Secret harbour plans." in doc.text


def test_a_pdf_that_needs_a_password_to_open_is_skipped_with_the_reason(tmp_path, seeds):
    path = _encrypted_pdf(tmp_path, user_password="let-me-in")
    with pytest.raises(DocumentError, match="needs a password to open: save a copy without it"):
        read_file(entry(path))


def test_a_pdf_without_a_text_layer_says_to_run_ocr(seeds):
    path = seeds / "scan.pdf"
    path.write_bytes(make_pdf([]))
    with pytest.raises(DocumentError, match="no text layer"):
        read_file(entry(path))
