import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qabot.cli.main import app
from tests.helpers import ROOT, write

runner = CliRunner()


@pytest.fixture
def env(tmp_path, seeds, monkeypatch):
    monkeypatch.setenv("QABOT_EMBEDDER", "hashing")
    monkeypatch.setenv("QABOT_SCORE_THRESHOLD", "0.1")
    monkeypatch.setenv("QABOT_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("QABOT_INDEX_DIR", str(tmp_path / "index"))
    write(seeds / "bread.txt", "Baking notes\nSourdough bread needs a starter of flour and water.")
    write(seeds / "cats.txt", "Pets\nCats sleep for most of the day in warm places.")
    return tmp_path


def _run(*args, input=None):
    return runner.invoke(app, list(args), input=input)


def test_first_ask_builds_the_index_and_says_so(env):
    result = _run("ask", "What does sourdough bread need?")
    assert result.exit_code == 0, result.output
    assert "No index yet" in result.output
    assert "Sourdough bread needs a starter" in result.output
    assert "bread.txt" in result.output
    again = _run("ask", "What does sourdough bread need?")
    assert "No index yet" not in again.output


def test_the_answer_sentence_is_shown_once_marked_in_its_passage(env):
    write(
        Path(os.environ["QABOT_SEEDS_DIR"]) / "bread.txt",
        "Baking notes\nFlour comes from mills. Sourdough bread needs a starter of flour and "
        "water. Ovens are hot.",
    )
    result = _run("ask", "What does sourdough bread need?")
    assert result.exit_code == 0, result.output
    sentence = "Sourdough bread needs a starter of flour and water."
    assert result.stdout.count("Sourdough bread needs") == 1
    assert f"**{sentence}**" in result.stdout  # not a terminal: marked the Markdown way
    assert "Ovens are hot." in result.stdout  # the rest of its passage around it
    assert "**Baking notes**" not in result.stdout  # the title line is never the answer


def test_ask_json_is_stable(env):
    result = _run("ask", "Where do cats sleep?", "--json", "-k", "2")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout[result.stdout.index("{") :])
    assert payload["found"] is True
    assert payload["answer"].startswith("Cats sleep")
    assert set(payload) == {"question", "found", "answer", "best_score", "results"}
    top = payload["results"][0]
    assert set(top) == {
        "rank",
        "score",
        "sentence",
        "passage",
        "title",
        "source",
        "doc_id",
        "start",
        "end",
    }
    assert top["source"] == "cats.txt" and top["title"] == "Pets"
    assert len(payload["results"]) <= 2


def test_not_found_is_said_honestly(env, monkeypatch):
    monkeypatch.setenv("QABOT_SCORE_THRESHOLD", "0.99")
    result = _run("ask", "quantum chromodynamics lattice")
    assert result.exit_code == 0
    assert "Not found in the documents" in result.output
    payload = json.loads(_run("ask", "quantum chromodynamics", "--json").stdout)
    assert payload["found"] is False and payload["results"] == []


@pytest.mark.parametrize(
    ("question", "message"),
    [("   ", "question is empty"), ("x" * 10_000, "10000 characters long")],
)
def test_bad_questions_one_line_nonzero(env, question, message):
    result = _run("ask", question)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_seeds_folder(env, tmp_path, monkeypatch):
    monkeypatch.setenv("QABOT_SEEDS_DIR", str(tmp_path / "missing"))
    result = _run("index", "build")
    assert result.exit_code == 1
    assert "no documents folder" in result.output
    assert "Traceback" not in result.output


def test_index_add_status_and_incremental(env, tmp_path):
    assert _run("index", "build").exit_code == 0
    extra = write(tmp_path / "inbox" / "volcano.md", "# Volcanoes\nEtna erupted in May.")
    status = _run("index", "status")
    assert "Documents: 2" in status.output and "Up to date" in status.output
    assert re.search(r"Size on disk: [1-9]\d* KiB", status.output)  # small, but never "0.0 MiB"
    result = _run("index", "add", str(extra))
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output and "(1 embedded)" in result.output
    assert (env / "seeds" / "volcano.md").exists()
    (env / "seeds" / "cats.txt").unlink()
    status = _run("index", "status", "--json")
    data = json.loads(status.stdout)
    assert data["documents"] == 3 and data["deleted"] == ["cats.txt"]
    assert _run("index", "add", str(tmp_path / "nope.txt")).exit_code == 1


def test_index_status_shows_skipped_files(env):
    write(env / "seeds" / ".hidden.txt", "Dogs\nDogs bark at night.")
    before = _run("index", "status")
    assert "skipped .hidden.txt: a hidden file" in before.output
    build = _run("index", "build")
    assert "1 skipped" in build.output and "rename it without the dot" in build.output
    after = _run("index", "status")
    assert after.exit_code == 0, after.output
    assert "skipped .hidden.txt: a hidden file" in after.output and "Up to date" in after.output


def test_mismatched_index_message(env, monkeypatch):
    assert _run("index", "build").exit_code == 0
    monkeypatch.setenv("QABOT_EMBEDDER", "sentence-transformers")
    result = _run("ask", "cats?")
    assert result.exit_code == 1
    assert "qabot index rebuild" in result.output
    assert "Traceback" not in result.output


def test_chat_answers_each_line(env):
    result = _run("chat", "--json", input="Where do cats sleep?\n\nWhat does bread need?\n")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [a["results"][0]["source"] for a in answers] == ["cats.txt", "bread.txt"]


def test_invalid_setting_is_one_line(env, monkeypatch):
    monkeypatch.setenv("QABOT_TOP_K", "zero")
    result = _run("ask", "cats?")
    assert result.exit_code == 1
    assert "invalid settings" in result.output


def test_bot_without_token_names_the_setting(env):
    result = _run("bot")
    assert result.exit_code == 1
    assert "QABOT_TELEGRAM_TOKEN" in result.output


def test_bot_with_a_model_that_cannot_load_names_the_setting(env, monkeypatch):
    """Checked before the bot starts (and before any network): one line, exit 1."""
    monkeypatch.setenv("QABOT_TELEGRAM_TOKEN", "123456:not-checked-yet")
    monkeypatch.setenv("QABOT_READER_MODEL", "no-such-org/no-such-reader")
    result = _run("bot")
    assert result.exit_code == 1
    assert "Error: QABOT_READER_MODEL=no-such-org/no-such-reader could not be loaded" in (
        result.output
    )
    assert "Traceback" not in result.output


def _commands(group=app, prefix=""):
    import typer.main

    click_group = typer.main.get_command(group)
    for name, cmd in click_group.commands.items():
        if hasattr(cmd, "commands"):
            for sub, subcmd in cmd.commands.items():
                yield f"{prefix}{name} {sub}", subcmd
        else:
            yield f"{prefix}{name}", cmd


def test_every_command_has_help_with_example_and_is_in_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, cmd in _commands():
        assert cmd.help and "Example" in cmd.help, name
        assert re.search(rf"qabot {re.escape(name)}\b", readme), f"`qabot {name}` not in README"
        result = _run(*name.split(), "--help")
        assert result.exit_code == 0


def test_every_setting_is_in_env_example():
    from qabot.config import Settings

    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert re.search(rf"^QABOT_{name.upper()}=", example, re.M), f"QABOT_{name.upper()}"


def test_a_copy_of_env_example_gives_the_defaults(tmp_path):
    import shutil

    from qabot.config import Settings, get_settings

    shutil.copy(ROOT / ".env.example", tmp_path / ".env")  # tests run in tmp_path
    assert get_settings() == Settings(_env_file=None)


def test_reranker_and_reader_settings_are_in_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("RERANKER_MODEL", "RERANK_CANDIDATES", "RERANKER_THRESHOLD", "READER_MODEL"):
        assert f"QABOT_{name}" in readme, name


def test_ask_shows_the_readers_span_and_the_rerank_score(env, monkeypatch, tiny_models):
    from qabot.config import get_settings
    from qabot.service import QAService
    from tests.helpers.tiny_models import QUESTIONS, write_corpus

    write_corpus(Path(os.environ["QABOT_SEEDS_DIR"]))
    monkeypatch.setenv("QABOT_READER_MODEL", str(tiny_models["reader"]))
    monkeypatch.setenv("QABOT_RERANKER_MODEL", str(tiny_models["reranker"]))
    result = _run("ask", QUESTIONS[0], "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout[result.stdout.index("{") :])
    expected = QAService(get_settings()).ask(QUESTIONS[0])  # the same settings, in code
    assert payload["span"] == expected.span and payload["answer"] == expected.sentence
    assert payload["span"] in payload["answer"]
    top = payload["results"][0]
    assert top["passage"][top["span_start"] : top["span_end"]] == payload["span"]
    assert all(0 <= r["rerank_score"] <= 1 for r in payload["results"])

    shown = _run("ask", QUESTIONS[0])
    assert shown.exit_code == 0, shown.output
    first, second = shown.stdout.splitlines()[:2]
    assert first.startswith(f"Answer: {expected.span} (reader ")
    hit = expected.hits[0]
    text = hit.chunk.text
    marked = f"{text[: hit.sentence_start]}**{expected.sentence}**{text[hit.sentence_end :]}"
    assert second == marked.splitlines()[0]
    assert " · rerank 0." in shown.stdout


@pytest.mark.parametrize(
    ("setting", "feature"), [("RERANKER_MODEL", "reranker"), ("READER_MODEL", "reader")]
)
def test_a_model_that_cannot_load_is_one_line(env, monkeypatch, setting, feature):
    monkeypatch.setenv(f"QABOT_{setting}", "no-such-org/no-such-model")
    result = _run("ask", "Where do cats sleep?")
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()[-1:]
    assert line.startswith(f"Error: QABOT_{setting}=no-such-org/no-such-model could not be loaded")
    assert line.endswith(f"unset it to turn the {feature} off)")
    assert "Traceback" not in result.output


def test_not_found_questions_are_kept_for_qabot_report(env, monkeypatch):
    assert "No unanswered questions in the last 30 days." in _run("report").stdout
    for question in ("Do zebras dance on Mars?", "do ZEBRAS dance on mars", "Sourdough bread?"):
        assert _run("ask", question).exit_code == 0
    result = _run("report", "--json")
    assert result.exit_code == 0, result.output
    [group] = json.loads(result.stdout)["groups"]  # the bread question was answered
    assert (group["count"], group["not_found"], group["downvoted"]) == (2, 2, 0)
    assert group["variants"] and group["last"].endswith("Z")
    text = _run("report", "--days", "1").stdout
    assert "in the last 1 day (" in text and "2x  do ZEBRAS dance on mars" in text
    monkeypatch.setenv("QABOT_KEEP_CLI_UNANSWERED", "false")
    _run("ask", "Do zebras dance on Mars?")
    assert json.loads(_run("report", "--json").stdout)["groups"][0]["count"] == 2


def test_counts_are_singular_for_one(env):
    Path(os.environ["QABOT_SEEDS_DIR"], "cats.txt").unlink()
    result = _run("index", "build")
    assert "; 1 document, 1 chunk (1 embedded)" in result.output, result.output
