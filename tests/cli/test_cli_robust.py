"""The CLI under hostile input: text it did not write, bad bytes, bad settings, damaged
indexes, signals and concurrent commands. Each ends in one line and exit 1, or is handled."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qabot.cli.common import escape
from qabot.cli.main import app
from qabot.stores.files.folders import VersionFolders
from tests.helpers import write

runner = CliRunner()


@pytest.fixture
def env(tmp_path, seeds, monkeypatch):
    monkeypatch.setenv("QABOT_EMBEDDER", "hashing")
    monkeypatch.setenv("QABOT_SCORE_THRESHOLD", "0.1")
    monkeypatch.setenv("QABOT_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("QABOT_INDEX_DIR", str(tmp_path / "index"))
    write(seeds / "cats.txt", "Pets\nCats sleep for most of the day in warm places.")
    return tmp_path


def _run(*args, input=None):
    return runner.invoke(app, list(args), input=input)


def _cli(env, *args, stdin=None, **kwargs):
    """The real `qabot` in a subprocess (real argv bytes, real signals)."""
    return subprocess.run(
        [sys.executable, "-m", "qabot.cli.main", *args],
        input=stdin,
        capture_output=True,
        cwd=env,
        timeout=120,
        **kwargs,
    )


MARKUP = "Notes [/] on [bold]cats[/bold] :thumbs_up: [citation needed] C:\\path\\"


def test_markup_in_passages_and_questions_prints_literally(env, seeds):
    write(seeds / "markup.txt", f"Markup\nCats purr. {MARKUP} Cats purr loudly.")
    result = _run("ask", "Do cats purr [/] [bold]loudly[/bold]?")
    assert result.exit_code == 0, result.output
    assert MARKUP in result.output
    chat = _run("chat", "--json", input=f"purr {MARKUP}\nWhere do cats sleep?\n")
    assert chat.exit_code == 0, chat.output
    answers = [json.loads(line) for line in chat.stdout.splitlines() if line.startswith("{")]
    assert len(answers) == 2 and answers[0]["question"] == f"purr {MARKUP}"
    assert any(MARKUP in r["passage"] for r in answers[0]["results"])


def test_terminal_escapes_never_reach_the_terminal(env, seeds):
    write(seeds / "evil.txt", "Evil\nCats hiss \x1b[31mred\x1b[0m \x1b]0;pwned\x07 at dogs.")
    result = _run("ask", "Do cats hiss at dogs?")
    assert result.exit_code == 0, result.output
    assert "Cats hiss red  at dogs." in result.output and "\x1b" not in result.output
    # Text from an index built before documents were cleaned is cleaned when shown.
    assert escape("a\x1b[2J\x9bb\r [x]\tc\n") == "ab \\[x]\tc\n"


def test_a_question_that_is_not_utf8_is_one_line(env):
    result = _cli(env, "ask", b"Who \xff\xfe attended?")
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        "Error: the question is not valid UTF-8 text: retype it, or set the terminal to UTF-8"
    )


def test_chat_says_so_for_bad_bytes_and_answers_the_next_question(env):
    stdin = b"Where \xff\xfe do cats sleep?\nWhere do cats sleep?\n"
    result = _cli(env, "chat", "--json", stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert "not valid UTF-8" in result.stderr.decode()
    [answer] = [json.loads(x) for x in result.stdout.decode().splitlines() if x.startswith("{")]
    assert answer["found"] and answer["results"][0]["source"] == "cats.txt"


def test_all_bad_settings_are_named_by_env_name_without_their_values(env, monkeypatch):
    monkeypatch.setenv("QABOT_TOP_K", "99")
    monkeypatch.setenv("QABOT_BATCH_SIZE", "zero")
    monkeypatch.setenv("QABOT_ADMIN_USER_IDS", "s3cr3t-value")
    result = _run("ask", "Where do cats sleep?")
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    for name in ("QABOT_TOP_K", "QABOT_BATCH_SIZE", "QABOT_ADMIN_USER_IDS"):
        assert name in line
    assert "s3cr3t" not in line and "zero" not in line and "input_value" not in line
    assert "top_k" not in line.replace("QABOT_TOP_K", "")


def test_a_dotenv_with_bad_bytes_is_named(env):
    """By line and the setting on it, not by byte position; never echoing the value."""
    (env / ".env").write_bytes(
        b"# caf\xe9 settings\nQABOT_TOP_K=3\nQABOT_MODEL=caf\xe9\r\n"
        b"export QABOT_TELEGRAM_TOKEN=12:s\xff\n"
    )
    result = _run("ask", "Where do cats sleep?")
    assert result.exit_code == 1
    assert f"{env / '.env'} is not UTF-8 text: line 1 (a comment) has byte 0xe9; " in result.output
    assert "line 3 (QABOT_MODEL) has byte 0xe9; " in result.output
    assert "line 4 (QABOT_TELEGRAM_TOKEN) has byte 0xff: save it as UTF-8" in result.output
    assert "position" not in result.output and "caf" not in result.output


def test_verify_and_status_report_damage(env):
    assert _run("index", "build").exit_code == 0
    ok = _run("index", "verify")
    assert ok.exit_code == 0 and "is intact:" in ok.output
    status = _run("index", "status")
    assert status.exit_code == 0 and "Checksums: all" in status.output
    folder = env / "index" / VersionFolders(env / "index").current_version()
    vectors = bytearray((folder / "vectors.npy").read_bytes())
    vectors[-8:] = os.urandom(8)
    (folder / "vectors.npy").write_bytes(bytes(vectors))
    bad = _run("index", "verify")
    assert bad.exit_code == 1
    assert bad.output.strip().splitlines() == [
        f"Error: index version {folder.name} is damaged: vectors.npy is damaged (its checksum "
        "differs): run `qabot index rebuild`"
    ]
    status = _run("index", "status")
    assert status.exit_code == 1 and "damaged: vectors.npy" in status.output
    assert status.output.strip().endswith("run `qabot index rebuild`")
    assert _run("ask", "Where do cats sleep?").exit_code == 1
    assert _run("index", "rebuild").exit_code == 0
    assert _run("index", "verify").exit_code == 0


def test_garbage_current_then_rebuild_from_the_cli(env):
    assert _run("index", "build").exit_code == 0
    (env / "index" / "CURRENT").write_bytes(b"\xff\xfe\x00")
    for args in (("ask", "Where do cats sleep?"), ("index", "status")):
        result = _run(*args)
        assert result.exit_code == 1
        assert "damaged" in result.output and "qabot index rebuild" in result.output
    assert _run("index", "rebuild").exit_code == 0
    assert "Cats sleep" in _run("ask", "Where do cats sleep?").output


def test_a_refused_index_add_copies_nothing(env, seeds, tmp_path):
    new = write(tmp_path / "incoming" / "dogs.txt", "Dogs\nDogs bark at the postman.")
    with VersionFolders(env / "index").lock():  # another build holds the index
        result = _run("index", "add", str(new))
    assert result.exit_code == 1 and "another build is running" in result.output
    assert not (seeds / "dogs.txt").exists()
    assert _run("index", "add", str(new)).exit_code == 0
    assert (seeds / "dogs.txt").exists()


def test_index_dir_that_is_a_file_and_lock_that_is_a_folder(env, monkeypatch):
    (env / "not-a-folder").write_text("x")
    monkeypatch.setenv("QABOT_INDEX_DIR", str(env / "not-a-folder"))
    result = _run("index", "build")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "is a file, not a folder: point QABOT_INDEX_DIR" in result.output
    monkeypatch.setenv("QABOT_INDEX_DIR", str(env / "index"))
    (env / "index" / ".lock").mkdir(parents=True)
    result = _run("index", "build")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert (
        f"{env / 'index' / '.lock'} is a folder, where qabot keeps its build lock" in result.output
    )


def test_a_lock_that_is_a_folder_is_named_with_a_relative_index_folder(env, monkeypatch):
    """QABOT_INDEX_DIR=index (the default) while the lock library reports the lock's absolute
    path: the message still names index/.lock, and the fix, for build and rebuild alike."""
    monkeypatch.chdir(env)
    monkeypatch.setenv("QABOT_INDEX_DIR", "index")
    (env / "index" / ".lock").mkdir(parents=True)
    for command in ("build", "rebuild"):
        result = _run("index", command)
        assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
        assert "index/.lock is a folder" in result.output and "remove that folder" in result.output


def test_status_reports_a_damaged_manifest_as_verify_does(env):
    """The manifest is covered by no checksum: counts that disagree with intact files are
    damage for status as they are for verify and ask."""
    assert _run("index", "build").exit_code == 0
    folder = env / "index" / VersionFolders(env / "index").current_version()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["documents"] += 3
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert _run("index", "verify").exit_code == 1
    status = _run("index", "status")
    assert status.exit_code == 1, status.output
    assert "intact" not in status.output
    assert f"damaged: manifest.json: index files in {folder} do not match its manifest" in (
        status.output
    )
    assert status.output.strip().endswith("run `qabot index rebuild`")


def test_stale_export_folders_are_removed_by_the_next_build(env):
    stale = env / "index" / ".onnx.tmp-k1lled"
    (stale / "sub").mkdir(parents=True)
    (stale / "model.onnx").write_bytes(b"x" * 1000)
    old = env / "index" / ".onnx.old-123-456"
    old.mkdir()
    assert _run("index", "build").exit_code == 0
    assert not stale.exists() and not old.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_ends_a_build_with_a_message_and_no_leftovers(env, seeds, sig):
    for i in range(4000):
        write(seeds / f"doc{i:04}.txt", f"Doc {i}\n" + f"Topic word{i} and filler text. " * 20)
    proc = subprocess.Popen(
        [sys.executable, "-m", "qabot.cli.main", "index", "build"],
        cwd=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    # Wait for the embedding progress bar: the build is then past scanning, mid-way.
    seen = b""
    deadline = time.monotonic() + 90
    while b"Embedding" not in seen and time.monotonic() < deadline:
        seen += os.read(proc.stderr.fileno(), 4096)
    assert b"Embedding" in seen, seen
    proc.send_signal(sig)
    rest = proc.communicate(timeout=60)[1]
    output = (seen + rest).decode()
    assert proc.returncode == 128 + sig, output[-300:]
    # The last words (after the progress bar, which ends without a newline when cut short).
    assert output.endswith(f"Interrupted ({signal.Signals(sig).name}).\n")
    assert "Traceback" not in output
    index = env / "index"
    assert not list(index.glob(".tmp-*")) and not list(index.glob("v-*"))
    assert not (index / "CURRENT").exists()
    assert _run("index", "build").exit_code == 0  # the lock was released


def test_a_full_disk_during_index_add_leaves_no_partial_copy(env, seeds, tmp_path, monkeypatch):
    import errno
    import shutil

    folder = tmp_path / "incoming"
    write(folder / "a.txt", "A\nAlpha text.")
    write(folder / "b.txt", "B\nBeta text.")
    real_copy = shutil.copy2

    def copy_until_full(src, dst):  # the second file meets a full disk half-way
        if src.name == "b.txt":
            Path(dst).write_text("half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_copy(src, dst)

    monkeypatch.setattr(shutil, "copy2", copy_until_full)
    result = _run("index", "add", str(folder))
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: cannot write to {seeds}/: No space left on device: free some space on that "
        "disk (or point QABOT_SEEDS_DIR at another one), then try again"
    )
    assert sorted(p.name for p in seeds.rglob("*")) == ["cats.txt"]  # nothing half-added


@pytest.mark.slow
def test_a_build_killed_during_the_onnx_export_is_cleaned_up_by_the_next(tmp_path, seeds):
    """kill -9 in the middle of the real export, then a build: no `.onnx.tmp-*` is left."""
    write(seeds / "cats.txt", "Pets\nCats sleep for most of the day in warm places.")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QABOT_")}
    env |= {"QABOT_SEEDS_DIR": str(seeds), "QABOT_INDEX_DIR": str(tmp_path / "index")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qabot.cli.main", "index", "build"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not list((tmp_path / "index").glob(".onnx.tmp-*")) and time.monotonic() < deadline:
        assert proc.poll() is None, "the build ended before its export started"
        time.sleep(0.05)
    time.sleep(1)  # into the export
    proc.kill()
    proc.wait()
    assert list((tmp_path / "index").glob(".onnx.tmp-*"))  # what kill -9 leaves
    result = subprocess.run(
        [sys.executable, "-m", "qabot.cli.main", "index", "build"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert not list((tmp_path / "index").glob(".onnx.*"))
    assert (tmp_path / "index" / "onnx" / "model.onnx").is_file()
