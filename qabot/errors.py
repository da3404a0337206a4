"""qabot's own exceptions. The CLI and the bot turn each into a one-line message.

Every message should carry its fix ("run `qabot index build`"), because the person who reads it
is the one who must act.
"""

from __future__ import annotations


class QabotError(Exception):
    """Base class: anything a user can cause and fix. Shown as one line, exit code 1."""


class ConfigError(QabotError):
    """A setting is missing or invalid. Seen by whoever starts the CLI or the bot."""


class QuestionError(QabotError):
    """The question cannot be asked as given. Seen by the asker: the CLI prints the message, the
    bot words `reason` in the user's language. `reason` is "empty", "too_long" (`length` and
    `limit` in characters) or "not_utf8" (bytes from argv or stdin that are not UTF-8)."""

    def __init__(
        self, message: str, *, reason: str, length: int | None = None, limit: int | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.length = length
        self.limit = limit


class NoDocumentsError(QabotError):
    """The seeds folder is missing or holds nothing readable. Seen by whoever builds."""


class IndexMissingError(QabotError):
    """There is no built index yet. Seen by the asker; the fix is to build."""


class IndexMismatchError(QabotError):
    """The index on disk was built with another model, format or settings. Seen on load."""


class IndexCorruptError(QabotError):
    """Files of the index are missing or unreadable. Seen on load; the fix is a rebuild."""


class IndexLockedError(QabotError):
    """Another build holds the index lock. Seen by the second builder."""


class BotRunningError(QabotError):
    """Another `qabot bot` runs on the same index (it holds ``index/bot/bot.lock``). Seen by
    whoever starts a second one, which stops before it touches the journal."""


class DocumentError(QabotError):
    """One document cannot be read (binary, undecodable, empty, unsupported). Seen as a warning."""


class ModelLoadError(QabotError):
    """An optional model named in a setting (reranker, reader) cannot be loaded: a typo, no
    internet for the first download, or not the kind of model the setting needs. Seen by the asker;
    the message names the setting and how to turn the feature off."""


class ModelUnavailableError(QabotError):
    """A model named by its hub name is not downloaded and cannot be now: no network, or
    HF_HUB_OFFLINE is set. Raised at once instead of the hub libraries' minute of retries; the
    loader puts it in the error of the setting that names the model, which its starter sees."""


class IndexWriteError(QabotError):
    """The index (or seeds) folder cannot be written: a full disk, no permission, a read-only
    file system. Seen by whoever builds; the previous index stays usable."""


class LinkError(QabotError):
    """A link cannot be added: not http(s), an address that is not public, not a web page, too
    large, or the site did not answer. Seen by whoever sent the link; the message says why."""


class FeedbackStoreError(QabotError):
    """The feedback file (``<index>/bot/feedback.sqlite3``) cannot be opened: damaged, or not
    an SQLite file. Seen by whoever starts the bot or runs `qabot report`; the message names the
    file to move away (a new one is started then)."""


class StoreUnavailableError(QabotError):
    """The Qdrant store cannot be used: the server is unreachable, refuses the API key, or its
    local folder is held by another process. Seen by whoever asks or builds; the message names
    the setting to fix."""
