"""The bot's plain parts: message splitting, escaping, file names, buttons, limits, languages."""

from __future__ import annotations

import pytest

from qabot.bot.access import Access
from qabot.bot.buttons import ButtonData, QuestionMemory, index_tag
from qabot.bot.formatting import (
    Block,
    answer_blocks,
    escape,
    render_messages,
    split_text,
    utf16_len,
)
from qabot.bot.messages import TEXTS, language_of, text
from qabot.bot.ratelimit import QuestionLimiter
from qabot.bot.uploads import is_supported, safe_file_name, target_path
from qabot.testing.botapi.html_check import EntityParseError, parse_html
from qabot.types import Chunk, Hit


def test_escape_keeps_document_text_intact_after_parsing():
    hostile = "a < b && c > d; <b>not bold</b> *x* _y_ &amp; AT&T"
    assert parse_html(escape(hostile)) == hostile


@pytest.mark.parametrize(
    "bad",
    ["<b>open", "a < b", "AT&T", "<script>x</script>", "<b><i>x</b></i>", "x</b>"],
)
def test_the_stand_in_refuses_what_telegram_refuses(bad):
    with pytest.raises(EntityParseError, match="can't parse entities"):
        parse_html(bad)


def test_the_readers_span_comes_first_escaped():
    text = "Rules\nIf a < b && c > d then call <b>now</b>. Nothing else."
    start = text.index("a < b")
    hit = Hit(
        Chunk("r.txt", "Rules", "r.txt", 0, len(text), text),
        0.5,
        1,
        sentence_start=text.index("If"),
        sentence_end=text.index(" Nothing"),
        span_start=start,
        span_end=text.index(" then"),
        span_score=0.7,
    )
    [html] = render_messages(answer_blocks(hit, "en"))
    # the answer sentence once, in bold inside its passage
    assert html.startswith(
        "<b>Answer</b>: <b>a &lt; b &amp;&amp; c &gt; d</b>\n\n<blockquote>Rules\n<b>If a"
    )
    assert "&lt;/b&gt;.</b> Nothing else.</blockquote>" in html
    shown = parse_html(html)
    assert shown.startswith("Answer: a < b && c > d\n\nRules\nIf a < b && c > d then")
    assert shown.count("then call <b>now</b>.") == 1
    plain = Hit(hit.chunk, 0.5, 1, hit.sentence_start, hit.sentence_end)
    [without] = render_messages(answer_blocks(plain, "uk"))
    assert without.startswith("<blockquote>Rules\n<b>If a &lt; b") and "Відповідь" not in without
    [ukrainian] = render_messages(answer_blocks(hit, "uk"))
    assert ukrainian.startswith("<b>Відповідь</b>: <b>a &lt; b")


def test_a_long_block_is_split_at_sentences_inside_its_tag():
    sentence = "The <harbour> & its keeper logged ships at dawn. "
    blocks = [Block("Answer sentence.", "b"), Block(sentence * 300, "blockquote")]
    messages = render_messages(blocks)
    assert len(messages) >= 4
    for message in messages:
        assert utf16_len(message) <= 4096
        visible = parse_html(message)  # every piece is well-formed HTML on its own
        assert visible.count("<harbour>") >= 1
    joined = " ".join(parse_html(m) for m in messages)
    assert joined.count("The <harbour> & its keeper logged ships at dawn.") == 300
    assert messages[0].startswith("<b>Answer sentence.</b>\n\n<blockquote>")


def test_splitting_prefers_paragraphs_then_lines_then_sentences_then_words():
    fits = lambda s: len(s) <= 20  # noqa: E731
    assert split_text("aaaa bbbb cccc.\n\ndddd eeee ffff.", fits) == [
        "aaaa bbbb cccc.",
        "dddd eeee ffff.",
    ]
    assert split_text("One two. Three four. Five six.", fits) == [
        "One two. Three four.",
        "Five six.",
    ]
    assert split_text("x" * 50, fits) == ["x" * 20, "x" * 20, "x" * 10]


def test_emoji_count_twice_towards_the_limit():
    messages = render_messages([Block("🙂" * 3000)])
    assert len(messages) == 2 and all(utf16_len(m) <= 4096 for m in messages)


def test_a_prefix_stays_with_the_first_piece():
    messages = render_messages([Block("word " * 2000, "blockquote", "<b>Source</b>: ")])
    assert messages[0].startswith("<b>Source</b>: <blockquote>word")
    assert messages[1].startswith("<blockquote>word")


@pytest.mark.parametrize(
    ("sent", "saved"),
    [
        ("report.txt", "report.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\Windows\\win.ini.md", "win.ini.md"),
        ("/abs/path/Notes.PDF", "Notes.pdf"),
        (".env.txt", "env.txt"),
        ("--help.md", "help.md"),
        ("a\x00b\nc.txt", "abc.txt"),
        ("Звіт за 2024 рік.docx", "Звіт за 2024 рік.docx"),
        ("x|y>z$(rm).html", "x_y_z_(rm).html"),
        ("...", "document"),
        ("", "document"),
        ("a" * 300 + ".txt", "a" * 100 + ".txt"),
    ],
)
def test_file_names_are_sanitised(sent, saved):
    assert safe_file_name(sent) == saved


def test_a_changed_name_never_overwrites_but_the_same_name_replaces(tmp_path):
    (tmp_path / "notes.txt").write_text("old")
    assert target_path(tmp_path, "notes.txt") == tmp_path / "notes.txt"
    assert target_path(tmp_path, "../notes.txt") == tmp_path / "notes-2.txt"
    (tmp_path / "notes-2.txt").write_text("other")
    assert target_path(tmp_path, "sub/notes.txt") == tmp_path / "notes-3.txt"
    assert target_path(tmp_path, "fresh.txt") == tmp_path / "fresh.txt"


def test_supported_uploads():
    assert all(is_supported(f"x.{ext}") for ext in ("txt", "md", "html", "pdf", "docx", "jsonl"))
    assert not is_supported("x.exe") and not is_supported("noext")


def test_button_data_fits_in_64_bytes_and_round_trips():
    memory = QuestionMemory()
    qid = memory.remember("q" * 4000, index_tag("v-2024-very-long-version-name" * 5))
    data = ButtonData("m", index_tag("v1"), qid, 999).encode()
    assert len(data.encode()) <= 64
    assert ButtonData.decode(data) == ButtonData("m", index_tag("v1"), qid, 999)
    assert memory.recall(qid).question == "q" * 4000
    assert ButtonData.decode("garbage") is None and ButtonData.decode(None) is None
    for digits in ("²", "٣", "1²", "+1", " 1", "1_0"):  # ASCII digits only
        assert ButtonData.decode(f"m|{index_tag('v1')}|{qid}|{digits}") is None


def test_each_kind_of_button_has_its_pattern():
    """The `CallbackQueryHandler` patterns: each takes its own kinds, and nothing not ours."""
    more, votes = ButtonData.pattern({"m"}), ButtonData.pattern({"u", "d"})
    assert more(ButtonData("m", "t", "q", 2).encode())
    assert not more(ButtonData("s", "t", "q", 1).encode())
    assert votes(ButtonData("d", "t", "k", 1).encode())
    assert not votes(ButtonData("m", "t", "q", 1).encode())
    assert not more("m|t|q|x") and not more("not-ours") and not more(None) and not more(b"m")


def test_question_memory_forgets_the_oldest_and_other_processes_ids():
    memory = QuestionMemory(capacity=2)
    first = memory.remember("a", "t")
    memory.remember("b", "t")
    memory.remember("c", "t")
    assert memory.recall(first) is None
    assert QuestionMemory().recall(first) is None  # a restarted bot has another prefix


def test_questions_per_minute_slide():
    now = [0.0]
    limiter = QuestionLimiter(2, clock=lambda: now[0])
    assert limiter.wait_seconds(1) == 0 and limiter.wait_seconds(1) == 0
    assert limiter.wait_seconds(1) == 60
    assert limiter.wait_seconds(2) == 0  # per user
    now[0] = 45.0
    assert limiter.wait_seconds(1) == 15
    now[0] = 60.0
    assert limiter.wait_seconds(1) == 0


def test_access_lists():
    assert Access().may_ask(1, 1)  # empty lists: open to everyone
    access = Access(users=frozenset({1}), chats=frozenset({-5}), admins=frozenset({9}))
    assert access.may_ask(1, 123) and access.may_ask(2, -5) and access.may_ask(9, 9)
    assert not access.may_ask(2, 2)
    assert access.is_admin(9) and not access.is_admin(1)


def test_every_fixed_reply_exists_in_both_languages_and_is_valid_html():
    values = dict.fromkeys(
        ("documents", "chunks", "examples", "title", "length", "limit", "seconds", "user_id",
         "name", "mb", "reason", "summary", "added", "changed", "deleted", "unchanged",
         "size", "model", "uptime", "answered", "rank", "count", "original", "url", "edits",
         "minutes", "vote", "days", "question", "times", "not_found", "downvoted", "variants"),
        "<&>",
    )  # fmt: skip
    for key, variants in TEXTS.items():
        assert set(variants) == {"en", "uk"}, key
        for lang in variants:
            parse_html(text(key, lang, **values))
    assert language_of("uk") == language_of("uk-UA") == "uk"
    assert language_of("ru") == language_of(None) == language_of("en-GB") == "en"


def test_webhook_secret_is_checked_or_generated():
    from qabot.bot.app import webhook_secret
    from qabot.config import Settings
    from qabot.errors import ConfigError

    assert webhook_secret(Settings(webhook_secret="abc_DEF-123")) == "abc_DEF-123"
    generated = webhook_secret(Settings())
    assert len(generated) >= 32 and generated != webhook_secret(Settings())
    with pytest.raises(ConfigError, match="QABOT_WEBHOOK_SECRET"):
        webhook_secret(Settings(webhook_secret="has spaces!"))


def test_a_two_line_answer_cut_by_a_split_stays_bold_in_both_pieces():
    # The answer shown with the sentence before it spans a paragraph break, where a long
    # passage is cut; each message bolds its part.
    first = "“Squid Game” is officially coming back."
    second = "Netflix said the wildly popular show is green lit for a second season."
    text = f"{'Filler sentence here. ' * 186}\n\n{first}\n\n{second}\n\n{'More words. ' * 150}"
    messages = render_messages([Block(text, "blockquote", bold=f"{first}\n\n{second}")], limit=4200)
    assert len(messages) == 2
    assert f"<b>{escape(first)}</b>" in messages[0]
    assert f"<b>{escape(second)}</b>" in messages[1]
    for message in messages:
        parse_html(message)
    [whole] = render_messages(
        [Block(f"{first}\n\n{second}", "blockquote", bold=f"{first}\n\n{second}")]
    )
    assert whole == f"<blockquote><b>{escape(first)}\n\n{escape(second)}</b></blockquote>"
