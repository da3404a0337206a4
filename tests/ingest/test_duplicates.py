"""The same content under another name is indexed once; build and status say which and why."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from qabot.cli.main import app
from qabot.embedders.hashing import HashingEmbedder
from qabot.service import QAService
from tests.helpers import write

BREAD = "Baking notes\nSourdough bread needs a starter of flour and water.\n"
CATS = "Pets\nCats sleep for most of the day in warm places.\n"


def _svc(settings):
    return QAService(settings, embedder=HashingEmbedder())


def test_a_copy_under_another_name_is_indexed_once(settings, seeds):
    write(seeds / "bread.txt", BREAD)
    write(seeds / "notes/bread copy.txt", BREAD)
    write(seeds / "cats.txt", CATS)
    report = _svc(settings).build()
    assert sorted(report.added) == ["bread.txt", "cats.txt"]
    assert report.duplicates == [("notes/bread copy.txt", "bread.txt")]
    assert report.documents_total == 2
    answer = _svc(settings).ask("What does sourdough bread need?", k=5)
    assert [h.chunk.source for h in answer.hits].count("bread.txt") == 1
    assert all(h.chunk.source != "notes/bread copy.txt" for h in answer.hits)


def test_the_indexed_file_stays_when_a_copy_sorts_before_it(settings, seeds):
    write(seeds / "bread.txt", BREAD)
    write(seeds / "cats.txt", CATS)
    svc = _svc(settings)
    svc.build()
    write(seeds / "a-bread.txt", BREAD)  # first by name, but the original is indexed already
    report = svc.build()
    assert report.duplicates == [("a-bread.txt", "bread.txt")]
    assert not report.changed_anything and report.chunks_embedded == 0
    rebuilt = svc.build(full=True)  # from scratch: still the same file of the two
    assert rebuilt.duplicates == [("a-bread.txt", "bread.txt")]
    assert sorted(rebuilt.added) == ["bread.txt", "cats.txt"]
    assert sorted(d for d, _, _ in svc.documents()) == ["bread.txt", "cats.txt"]


def test_the_copy_is_indexed_once_the_original_is_gone(settings, seeds):
    write(seeds / "bread.txt", BREAD)
    write(seeds / "copy.txt", BREAD)
    write(seeds / "cats.txt", CATS)
    svc = _svc(settings)
    svc.build()
    (seeds / "bread.txt").unlink()
    report = svc.build()
    assert report.added == ["copy.txt"] and report.deleted == ["bread.txt"]
    assert report.duplicates == []
    assert svc.ask("What does sourdough bread need?").hits[0].chunk.source == "copy.txt"


def test_empty_files_are_not_called_duplicates(settings, seeds):
    write(seeds / "bread.txt", BREAD)
    write(seeds / "a.txt", "")
    write(seeds / "b.txt", "")
    report = _svc(settings).build()
    assert report.duplicates == []
    assert sorted(name for name, _ in report.skipped) == ["a.txt", "b.txt"]


def test_cli_build_and_status_name_the_duplicates(tmp_path, seeds, monkeypatch):
    monkeypatch.setenv("QABOT_EMBEDDER", "hashing")
    monkeypatch.setenv("QABOT_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("QABOT_INDEX_DIR", str(tmp_path / "index"))
    write(seeds / "bread.txt", BREAD)
    write(seeds / "copy of bread.txt", BREAD)
    runner = CliRunner()
    built = runner.invoke(app, ["index", "build"])
    assert built.exit_code == 0, built.output
    assert "1 added" in built.output and "1 duplicate" in built.output
    assert "skipped copy of bread.txt: a duplicate of bread.txt" in built.output
    status = runner.invoke(app, ["index", "status"])
    assert status.exit_code == 0, status.output
    assert "a duplicate of bread.txt" in status.output
    assert "Up to date with seeds/." in status.output  # a duplicate is not waiting for a build
    as_json = json.loads(runner.invoke(app, ["index", "status", "--json"]).stdout)
    assert as_json["duplicates"] == [["copy of bread.txt", "bread.txt"]] and as_json["new"] == []
