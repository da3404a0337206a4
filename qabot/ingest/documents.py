"""Old import path, kept for the modules other branches are rewriting; delete it once none use it.

Scanning is `qabot.ingest.scan`, reading `qabot.ingest.formats` (one module per format and the
registry), shared text handling `qabot.ingest.text`.
"""

from __future__ import annotations

from qabot.ingest.formats import read_file
from qabot.ingest.scan import Scan, scan_folder
from qabot.ingest.text import MAX_DOCUMENT_CHARS, printable

__all__ = ["MAX_DOCUMENT_CHARS", "Scan", "printable", "read_file", "scan_folder"]
