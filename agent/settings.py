"""User settings: environment, ``.env`` and CLI flags, validated in one place.

Precedence, highest first: CLI flags (passed as init kwargs), environment
variables, the ``.env`` file in the working directory, defaults. Most names carry
the ``PAPERBRIEF_`` prefix; the handful that other tools already standardise
(``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``CHROMA_HOST``, ``CHROMA_PORT``) are read
under their usual names too. ``.env.example`` documents every field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.errors import UserError
from store.config import EmbeddingConfig, HttpConfig, RetrievalConfig, StoreConfig
from store.paths import Paths

MAX_CONTEXT_WINDOW = 1_048_576
"""No model this tool can run has a larger window; a bigger value is a typo that would
make llama.cpp allocate tens of GB (2,000,000,000 was accepted and OOM-killed at 23 GB)."""


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("paperbrief", appauthor=False))


def _env(name: str, *others: str) -> AliasChoices:
    return AliasChoices(f"PAPERBRIEF_{name}", *others, name.lower())


class SettingsError(UserError):
    """A setting with an invalid value; the message is one line naming the variable."""

    title = "Configuration problem"
    hint = "fix the setting in .env or the environment (see .env.example)"


class Settings(BaseSettings):
    """Every knob paperbrief has. Unknown ``PAPERBRIEF_*`` variables are ignored."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
        env_ignore_empty=True,
    )

    # --- where state lives -------------------------------------------------------
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias=_env("DATA_DIR"),
        description="Directory holding the index, BM25, caches, logs and conversations.",
    )

    # --- Chroma -------------------------------------------------------------------
    chroma_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CHROMA_HOST", "PAPERBRIEF_CHROMA_HOST", "chroma_host"),
        description="Chroma server host; unset means an embedded store under the data dir.",
    )
    chroma_port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("CHROMA_PORT", "PAPERBRIEF_CHROMA_PORT", "chroma_port"),
        description="Chroma server port (with CHROMA_HOST).",
    )
    chroma_connect_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=600,
        validation_alias=_env("CHROMA_CONNECT_TIMEOUT"),
        description="Seconds to reach a Chroma server before giving up with one line.",
    )
    chroma_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        validation_alias=_env("CHROMA_TIMEOUT"),
        description="Deadline of one Chroma server request (a query, a write batch).",
    )
    db_busy_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        validation_alias=_env("DB_BUSY_TIMEOUT"),
        description="How long a SQLite write waits for another process's write before failing.",
    )

    # --- chunking and embeddings --------------------------------------------------
    chunk_size: int = Field(
        default=384,
        ge=32,
        le=8192,
        validation_alias=_env("CHUNK_SIZE"),
        description="Tokens per chunk (cl100k_base); changing it starts a new collection.",
    )
    chunk_overlap: int = Field(
        default=48,
        ge=0,
        le=4096,
        validation_alias=_env("CHUNK_OVERLAP"),
        description="Tokens shared by neighbouring chunks (at most half the chunk size).",
    )
    embedding_provider: Literal["local", "openai"] = Field(
        default="local", validation_alias=_env("EMBEDDING_PROVIDER"),
        description="'local' (MiniLM int8 ONNX, offline) or 'openai' (any OpenAI-compatible /embeddings endpoint).",
    )
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2-int8", validation_alias=_env("EMBEDDING_MODEL"),
        description="Embedding model id; vectors of different models never mix.",
    )
    embedding_base_url: str | None = Field(
        default=None,
        validation_alias=_env("EMBEDDING_BASE_URL"),
        description="Embeddings endpoint; defaults to OPENAI_BASE_URL.",
    )
    embedding_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("EMBEDDING_API_KEY"),
        description="Key for the embeddings endpoint; defaults to OPENAI_API_KEY.",
    )
    embedding_batch_size: int = Field(
        default=16, ge=1, le=4096, validation_alias=_env("EMBEDDING_BATCH_SIZE"),
        description="Texts per embedding call (16 measured fastest for the local model).",
    )

    # --- retrieval ----------------------------------------------------------------
    fusion: Literal["rrf", "score"] = Field(
        default="score",
        validation_alias=_env("FUSION"),
        description="How BM25 and dense scores combine: 'score' (weighted, tuned on SciFact) or 'rrf'.",
    )
    bm25_weight: float = Field(
        default=0.55,
        ge=0.0,
        le=1.0,
        validation_alias=_env("BM25_WEIGHT"),
        description="Weight of the BM25 score in score fusion.",
    )
    dense_weight: float = Field(
        default=0.45,
        ge=0.0,
        le=1.0,
        validation_alias=_env("DENSE_WEIGHT"),
        description="Weight of the dense score in score fusion.",
    )
    rrf_k: int = Field(
        default=60,
        ge=1,
        le=10_000,
        validation_alias=_env("RRF_K"),
        description="The k constant of reciprocal rank fusion.",
    )
    candidates: int = Field(
        default=100,
        ge=1,
        le=10_000,
        validation_alias=_env("CANDIDATES"),
        description="Chunks fetched from each retriever before fusion.",
    )
    top_k: int = Field(
        default=10,
        ge=1,
        le=1000,
        validation_alias=_env("TOP_K"),
        description="Papers `paperbrief search` shows when -k is not given.",
    )

    # --- live fetching ------------------------------------------------------------
    hf_url: str = Field(
        default="https://huggingface.co",
        validation_alias=_env("HF_URL"),
        description="Hugging Face base URL for daily papers.",
    )
    arxiv_url: str = Field(
        default="https://export.arxiv.org/api/query", validation_alias=_env("ARXIV_URL"),
        description="arXiv API query URL.",
    )
    http_timeout_s: float = Field(
        default=30.0,
        gt=0,
        validation_alias=_env("HTTP_TIMEOUT"),
        description="Seconds for one HTTP request to a paper source.",
    )
    http_retries: int = Field(
        default=5,
        ge=1,
        le=20,
        validation_alias=_env("HTTP_RETRIES"),
        description="Attempts per HTTP request to a paper source (429/5xx/timeouts are retried).",
    )
    http_deadline_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        validation_alias=_env("HTTP_DEADLINE"),
        description="Overall deadline of one fetch request, all retries and waits included.",
    )
    http_min_interval_s: float = Field(
        default=3.0, ge=0, validation_alias=_env("HTTP_MIN_INTERVAL"),
        description="Seconds between requests to one paper source (politeness).",
    )

    # --- language models ----------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"),
        description="API key for an OpenAI-compatible chat (and embeddings) server.",
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"),
        description="OpenAI-compatible server URL (OpenAI, Ollama, vLLM, LM Studio, llama.cpp server).",
    )
    model: str | None = Field(
        default=None,
        validation_alias=_env("MODEL"),
        description="Chat model name for the OpenAI-compatible provider.",
    )
    gguf: Path | None = Field(
        default=None,
        validation_alias=_env("GGUF"),
        description="GGUF file for the local provider; default SmolLM2-135M-Instruct.",
    )
    provider: Literal["auto", "local", "openai"] = Field(
        default="auto",
        validation_alias=_env("PROVIDER"),
        description="auto: the OpenAI-compatible server when a key or base URL is set, else local.",
    )
    local_mode: Literal["service", "inprocess"] = Field(
        default="service",
        validation_alias=_env("LOCAL_MODE"),
        description="service: one shared model process per data dir; inprocess: load it in each process.",
    )
    local_timeout_s: float = Field(
        default=300.0,
        gt=0,
        validation_alias=_env("LOCAL_TIMEOUT"),
        description="Overall deadline in seconds for one local model call; a hung model process is stopped.",
    )
    service_idle_timeout_s: float = Field(
        default=600.0,
        ge=0,
        validation_alias=_env("SERVICE_IDLE_TIMEOUT"),
        description="Seconds without requests before the model service exits; 0 means never.",
    )
    local_threads: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        validation_alias=_env("LOCAL_THREADS"),
        description="CPU threads of the local model; default every core this process may use.",
    )
    llm_timeout_s: float = Field(
        default=120.0,
        gt=0,
        le=86_400,
        validation_alias=_env("LLM_TIMEOUT"),
        description="Overall deadline of one model request: retries and streaming included.",
    )
    llm_first_token_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        validation_alias=_env("LLM_FIRST_TOKEN_TIMEOUT"),
        description="How long one attempt may wait for the model's first token before a retry.",
    )
    llm_attempts: int = Field(
        default=4,
        ge=1,
        le=20,
        validation_alias=_env("LLM_ATTEMPTS"),
        description="Attempts per model request before it fails (never retried once text has streamed).",
    )
    max_answer_tokens: int = Field(
        default=512, ge=16, le=32_768, validation_alias=_env("MAX_ANSWER_TOKENS"),
        description="Longest answer, in tokens.",
    )
    context_window: int | None = Field(
        default=None, ge=512, le=MAX_CONTEXT_WINDOW, validation_alias=_env("CONTEXT_WINDOW"),
        description="The model's context window in tokens; default: the local model's 4096, else the server's.",
    )
    abstain_threshold: float = Field(
        default=0.25, ge=0.0, le=1.0, validation_alias=_env("ABSTAIN_THRESHOLD"),
        description="Dense similarity below which ask abstains (calibrated on the seed questions).",
    )
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        validation_alias=_env("PRICES"),
        description="USD per 1M (prompt, completion) tokens by model, JSON; extends the built-in table.",
    )
    concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        validation_alias=_env("CONCURRENCY"),
        description="Parallel model calls for batch and brief (remote models).",
    )

    @field_validator("chroma_host", "openai_base_url", "embedding_base_url", "model", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("prices", mode="after")
    @classmethod
    def _prices_not_negative(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for model, pair in value.items():
            if any(p < 0 or p != p for p in pair):
                raise ValueError(f"the price of {model!r} must be zero or more USD per 1M tokens, not {pair}")
        return value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def paths(self) -> Paths:
        """Every file and folder under the data dir (see ``store.paths``)."""
        return Paths(self.data_dir)

    def store_config(self) -> StoreConfig:
        """The plain config the data side takes."""
        api_key = self.embedding_api_key or self.openai_api_key
        return StoreConfig(
            data_dir=self.data_dir,
            chroma_host=self.chroma_host,
            chroma_port=self.chroma_port,
            chroma_connect_timeout_s=self.chroma_connect_timeout_s,
            chroma_timeout_s=self.chroma_timeout_s,
            db_busy_timeout_s=self.db_busy_timeout_s,
            chunk_size=self.chunk_size,
            chunk_overlap=min(self.chunk_overlap, self.chunk_size // 2),
            embedding=EmbeddingConfig(
                provider=self.embedding_provider,
                model=self.embedding_model,
                base_url=self.embedding_base_url or self.openai_base_url,
                api_key=api_key.get_secret_value() if api_key else None,
                batch_size=self.embedding_batch_size,
            ),
            retrieval=RetrievalConfig(
                fusion=self.fusion,
                bm25_weight=self.bm25_weight,
                dense_weight=self.dense_weight,
                rrf_k=self.rrf_k,
                candidates=self.candidates,
            ),
            http=HttpConfig(
                hf_url=self.hf_url.rstrip("/"),
                arxiv_url=self.arxiv_url,
                timeout_s=self.http_timeout_s,
                retries=self.http_retries,
                deadline_s=self.http_deadline_s,
                min_interval_s=self.http_min_interval_s,
            ),
        )


def _field_env_name(settings_cls: type[Settings], field_name: str) -> str:
    alias = settings_cls.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field_name.upper()


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning a validation failure into one readable line.

    ``overrides`` are CLI flags; ``None`` values mean "flag not given".
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = str(err["loc"][0]) if err["loc"] else "?"
        name = loc if loc.isupper() else _field_env_name(Settings, loc) if loc in Settings.model_fields else loc
        value = err.get("input")
        shown = "" if "KEY" in name else f" (got {value!r})"
        raise SettingsError(f"invalid setting {name}: {err['msg']}{shown}") from None
