"""PDF files: the text layer of every page, read by pypdf (scanned pages need OCR first)."""

from __future__ import annotations

import io

from qabot.errors import DocumentError
from qabot.ingest.text import check_size, one_document
from qabot.types import Document


def read(data: bytes, *, name: str, max_chars: int) -> list[Document]:
    """A PDF titled by its metadata, its pages' text a paragraph apart."""
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # An owner password alone (printing or copying restricted) still opens with "".
            try:
                opened = reader.decrypt("")
            except DependencyError as exc:
                raise DocumentError(
                    "encrypted PDF (AES) and the `cryptography` package is missing: "
                    "pip install cryptography"
                ) from exc
            except (NotImplementedError, PdfReadError) as exc:
                raise DocumentError(f"encrypted PDF qabot cannot open ({exc})") from exc
            if opened == PasswordType.NOT_DECRYPTED:
                raise DocumentError(
                    "encrypted PDF that needs a password to open: save a copy without it"
                )
        pages, size = [], 0
        for page in reader.pages:
            pages.append((page.extract_text() or "").strip())
            size += len(pages[-1])
            check_size(size, max_chars, max_chars)  # before extracting thousands more pages
        meta = reader.metadata
        title = meta.title if meta is not None else None
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"not a readable PDF ({exc.__class__.__name__})") from exc
    text = "\n\n".join(p for p in pages if p)
    if not text:
        raise DocumentError("PDF has no text layer (scanned? run OCR first)")
    return [one_document(name, title=title, text=text, max_chars=max_chars)]
