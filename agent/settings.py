"""User settings: environment, ``.env`` and CLI flags, validated in one place, in named groups.

Precedence, highest first: CLI flags (passed as init kwargs), environment variables, the
``.env`` file in the working directory, defaults. The settings are nested groups named for
what people tune (``chroma``, ``index``, ``embedding``, ``retrieval``, ``fetch``, ``llm``,
``local``), in paper-qa's style: every field is described and every group forbids unknown
keys. The names people set stay flat and documented (``PAPERBRIEF_LLM_TIMEOUT``,
``OPENAI_API_KEY``, ``CHROMA_HOST``: ``.env.example`` lists them all); ``agent.settings_env``
maps them onto the groups and turns an unknown ``PAPERBRIEF_*`` name into one line naming
the closest valid one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from agent.settings_env import SettingsError, env_name_of, flat_names, nest, sources, unknown
from store.config import EmbeddingConfig, HttpConfig, RetrievalConfig, StoreConfig
from store.paths import Paths

__all__ = ["MAX_CONTEXT_WINDOW", "Settings", "SettingsError", "load_settings"]

MAX_CONTEXT_WINDOW = 1_048_576
"""No model this tool can run has a larger window; a bigger value is a typo that would
make llama.cpp allocate tens of GB (2,000,000,000 was accepted and OOM-killed at 23 GB)."""


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("paperbrief", appauthor=False))


def _f(default: Any, env: str | tuple[str, ...], flat: str, description: str, **constraints: Any) -> Any:
    """A field with its documented names (``env``, first = the one in .env.example) and its flag name."""
    extra: dict[str, Any] = {"env": [env] if isinstance(env, str) else list(env), "flat": flat}
    if callable(default):
        return Field(default_factory=default, description=description, json_schema_extra=extra, **constraints)
    return Field(default, description=description, json_schema_extra=extra, **constraints)


def _blank_is_unset(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ChromaSettings(_Group):
    """Where the vectors live: embedded under the data dir, or a Chroma server, and its deadlines."""

    host: str | None = _f(None, ("CHROMA_HOST", "PAPERBRIEF_CHROMA_HOST"), "chroma_host",
                          "Chroma server host; unset means an embedded store under the data dir.")
    port: int = _f(8000, ("CHROMA_PORT", "PAPERBRIEF_CHROMA_PORT"), "chroma_port",
                   "Chroma server port (with CHROMA_HOST).", ge=1, le=65535)
    connect_timeout_s: float = _f(5.0, "PAPERBRIEF_CHROMA_CONNECT_TIMEOUT", "chroma_connect_timeout_s",
                                  "Seconds to reach a Chroma server before giving up with one line.", gt=0, le=600)
    timeout_s: float = _f(60.0, "PAPERBRIEF_CHROMA_TIMEOUT", "chroma_timeout_s",
                          "Deadline of one Chroma server request (a query, a write batch).", gt=0, le=3600)

    blank_is_unset = field_validator("host", mode="before")(_blank_is_unset)


class IndexSettings(_Group):
    """How papers are cut into chunks, and how long a SQLite write waits for another process."""

    chunk_size: int = _f(384, "PAPERBRIEF_CHUNK_SIZE", "chunk_size",
                         "Tokens per chunk (cl100k_base); changing it starts a new collection.", ge=32, le=8192)
    chunk_overlap: int = _f(48, "PAPERBRIEF_CHUNK_OVERLAP", "chunk_overlap",
                            "Tokens shared by neighbouring chunks (at most half the chunk size).", ge=0, le=4096)
    db_busy_timeout_s: float = _f(30.0, "PAPERBRIEF_DB_BUSY_TIMEOUT", "db_busy_timeout_s",
                                  "How long a SQLite write waits for another process's write before failing.",
                                  gt=0, le=3600)


class EmbeddingSettings(_Group):
    """Which model turns chunks into vectors: the local MiniLM, or an OpenAI-compatible endpoint."""

    provider: Literal["local", "openai"] = _f(
        "local", "PAPERBRIEF_EMBEDDING_PROVIDER", "embedding_provider",
        "'local' (MiniLM int8 ONNX, offline) or 'openai' (any OpenAI-compatible /embeddings endpoint).")
    model: str = _f("all-MiniLM-L6-v2-int8", "PAPERBRIEF_EMBEDDING_MODEL", "embedding_model",
                    "Embedding model id; vectors of different models never mix.")
    base_url: str | None = _f(None, "PAPERBRIEF_EMBEDDING_BASE_URL", "embedding_base_url",
                              "Embeddings endpoint; defaults to OPENAI_BASE_URL.")
    api_key: SecretStr | None = _f(None, "PAPERBRIEF_EMBEDDING_API_KEY", "embedding_api_key",
                                   "Key for the embeddings endpoint; defaults to OPENAI_API_KEY.")
    batch_size: int = _f(16, "PAPERBRIEF_EMBEDDING_BATCH_SIZE", "embedding_batch_size",
                         "Texts per embedding call (16 measured fastest for the local model).", ge=1, le=4096)

    blank_is_unset = field_validator("base_url", mode="before")(_blank_is_unset)


class RetrievalSettings(_Group):
    """How BM25 and dense results are fused, how many are shown, and when ask abstains."""

    fusion: Literal["rrf", "score"] = _f(
        "score", "PAPERBRIEF_FUSION", "fusion",
        "How BM25 and dense scores combine: 'score' (weighted, tuned on SciFact) or 'rrf'.")
    bm25_weight: float = _f(0.55, "PAPERBRIEF_BM25_WEIGHT", "bm25_weight",
                            "Weight of the BM25 score in score fusion.", ge=0.0, le=1.0)
    dense_weight: float = _f(0.45, "PAPERBRIEF_DENSE_WEIGHT", "dense_weight",
                             "Weight of the dense score in score fusion.", ge=0.0, le=1.0)
    rrf_k: int = _f(60, "PAPERBRIEF_RRF_K", "rrf_k", "The k constant of reciprocal rank fusion.", ge=1, le=10_000)
    candidates: int = _f(100, "PAPERBRIEF_CANDIDATES", "candidates",
                         "Chunks fetched from each retriever before fusion.", ge=1, le=10_000)
    dense_snapshot: bool = _f(
        True, "PAPERBRIEF_DENSE_SNAPSHOT", "dense_snapshot",
        "Dense search over the memory-mapped vector snapshot (exact, no chromadb start-up); false asks Chroma.")
    top_k: int = _f(10, "PAPERBRIEF_TOP_K", "top_k", "Papers `paperbrief search` shows when -k is not given.",
                    ge=1, le=1000)
    abstain_threshold: float = _f(0.25, "PAPERBRIEF_ABSTAIN_THRESHOLD", "abstain_threshold",
                                  "Dense similarity below which ask abstains (calibrated on the seed questions).",
                                  ge=0.0, le=1.0)


class FetchSettings(_Group):
    """The live paper sources (Hugging Face Daily Papers, arXiv) and how politely they are asked."""

    hf_url: str = _f("https://huggingface.co", "PAPERBRIEF_HF_URL", "hf_url",
                     "Hugging Face base URL for daily papers.")
    arxiv_url: str = _f("https://export.arxiv.org/api/query", "PAPERBRIEF_ARXIV_URL", "arxiv_url",
                        "arXiv API query URL.")
    timeout_s: float = _f(30.0, "PAPERBRIEF_HTTP_TIMEOUT", "http_timeout_s",
                          "Seconds for one HTTP request to a paper source.", gt=0)
    retries: int = _f(5, "PAPERBRIEF_HTTP_RETRIES", "http_retries",
                      "Attempts per HTTP request to a paper source (429/5xx/timeouts are retried).", ge=1, le=20)
    deadline_s: float = _f(300.0, "PAPERBRIEF_HTTP_DEADLINE", "http_deadline_s",
                           "Overall deadline of one fetch request, all retries and waits included.", gt=0, le=86_400)
    min_interval_s: float = _f(3.0, "PAPERBRIEF_HTTP_MIN_INTERVAL", "http_min_interval_s",
                               "Seconds between requests to one paper source (politeness).", ge=0)


class LLMSettings(_Group):
    """The chat model: which server or model, its deadlines and retries, budgets, prices, parallelism."""

    api_key: SecretStr | None = _f(None, "OPENAI_API_KEY", "openai_api_key",
                                   "API key for an OpenAI-compatible chat (and embeddings) server.")
    base_url: str | None = _f(
        None, "OPENAI_BASE_URL", "openai_base_url",
        "OpenAI-compatible server URL (OpenAI, Ollama, vLLM, LM Studio, llama.cpp server).")
    model: str | None = _f(None, "PAPERBRIEF_MODEL", "model", "Chat model name for the OpenAI-compatible provider.")
    provider: Literal["auto", "local", "openai"] = _f(
        "auto", "PAPERBRIEF_PROVIDER", "provider",
        "auto: the OpenAI-compatible server when a key or base URL is set, else local.")
    timeout_s: float = _f(120.0, "PAPERBRIEF_LLM_TIMEOUT", "llm_timeout_s",
                          "Overall deadline of one model request: retries and streaming included.", gt=0, le=86_400)
    first_token_timeout_s: float = _f(
        60.0, "PAPERBRIEF_LLM_FIRST_TOKEN_TIMEOUT", "llm_first_token_timeout_s",
        "How long one attempt may wait for the model's first token before a retry.", gt=0, le=86_400)
    attempts: int = _f(4, "PAPERBRIEF_LLM_ATTEMPTS", "llm_attempts",
                       "Attempts per model request before it fails (never retried once text has streamed).",
                       ge=1, le=20)
    max_answer_tokens: int = _f(512, "PAPERBRIEF_MAX_ANSWER_TOKENS", "max_answer_tokens",
                                "Longest answer, in tokens.", ge=16, le=32_768)
    context_window: int | None = _f(
        None, "PAPERBRIEF_CONTEXT_WINDOW", "context_window",
        "The model's context window in tokens; default: the local model's 4096, else the server's.",
        ge=512, le=MAX_CONTEXT_WINDOW)
    prices: dict[str, tuple[float, float]] = _f(
        dict, "PAPERBRIEF_PRICES", "prices",
        "USD per 1M (prompt, completion) tokens by model, JSON; extends the built-in table.")
    concurrency: int = _f(4, "PAPERBRIEF_CONCURRENCY", "concurrency",
                          "Parallel model calls for batch and brief (remote models).", ge=1, le=256)

    blank_is_unset = field_validator("base_url", "model", mode="before")(_blank_is_unset)

    @field_validator("prices", mode="after")
    @classmethod
    def _prices_not_negative(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for model, pair in value.items():
            if any(p < 0 or p != p for p in pair):
                raise ValueError(f"the price of {model!r} must be zero or more USD per 1M tokens, not {pair}")
        return value


class LocalSettings(_Group):
    """The local GGUF model: which file, in a shared service process or in-process, threads, deadlines."""

    gguf: Path | None = _f(None, "PAPERBRIEF_GGUF", "gguf",
                           "GGUF file for the local provider; default SmolLM2-135M-Instruct.")
    mode: Literal["service", "inprocess"] = _f(
        "service", "PAPERBRIEF_LOCAL_MODE", "local_mode",
        "service: one shared model process per data dir; inprocess: load it in each process.")
    timeout_s: float = _f(
        300.0, "PAPERBRIEF_LOCAL_TIMEOUT", "local_timeout_s",
        "Overall deadline in seconds for one local model call; a hung model process is stopped.", gt=0)
    idle_timeout_s: float = _f(600.0, "PAPERBRIEF_SERVICE_IDLE_TIMEOUT", "service_idle_timeout_s",
                               "Seconds without requests before the model service exits; 0 means never.", ge=0)
    threads: int | None = _f(None, "PAPERBRIEF_LOCAL_THREADS", "local_threads",
                             "CPU threads of the local model; default every core this process may use.",
                             ge=1, le=1024)


class Settings(BaseSettings):
    """Every knob paperbrief has, in groups; an unknown name is an error, never silently ignored."""

    model_config = SettingsConfigDict(extra="forbid", validate_default=True)

    data_dir: Path = _f(_default_data_dir, "PAPERBRIEF_DATA_DIR", "data_dir",
                        "Directory holding the index, BM25, caches, logs and conversations.")
    chroma: ChromaSettings = Field(default_factory=ChromaSettings, description=ChromaSettings.__doc__)
    index: IndexSettings = Field(default_factory=IndexSettings, description=IndexSettings.__doc__)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings, description=EmbeddingSettings.__doc__)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description=RetrievalSettings.__doc__)
    fetch: FetchSettings = Field(default_factory=FetchSettings, description=FetchSettings.__doc__)
    llm: LLMSettings = Field(default_factory=LLMSettings, description=LLMSettings.__doc__)
    local: LocalSettings = Field(default_factory=LocalSettings, description=LocalSettings.__doc__)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then the flat documented names from the environment, then from ``.env``."""
        return (init_settings, *sources(settings_cls))

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
        api_key = self.embedding.api_key or self.llm.api_key
        return StoreConfig(
            data_dir=self.data_dir,
            chroma_host=self.chroma.host,
            chroma_port=self.chroma.port,
            chroma_connect_timeout_s=self.chroma.connect_timeout_s,
            chroma_timeout_s=self.chroma.timeout_s,
            db_busy_timeout_s=self.index.db_busy_timeout_s,
            chunk_size=self.index.chunk_size,
            chunk_overlap=min(self.index.chunk_overlap, self.index.chunk_size // 2),
            embedding=EmbeddingConfig(
                provider=self.embedding.provider,
                model=self.embedding.model,
                base_url=self.embedding.base_url or self.llm.base_url,
                api_key=api_key.get_secret_value() if api_key else None,
                batch_size=self.embedding.batch_size,
            ),
            retrieval=RetrievalConfig(
                fusion=self.retrieval.fusion,
                bm25_weight=self.retrieval.bm25_weight,
                dense_weight=self.retrieval.dense_weight,
                rrf_k=self.retrieval.rrf_k,
                candidates=self.retrieval.candidates,
                dense_snapshot=self.retrieval.dense_snapshot,
            ),
            http=HttpConfig(
                hf_url=self.fetch.hf_url.rstrip("/"),
                arxiv_url=self.fetch.arxiv_url,
                timeout_s=self.fetch.timeout_s,
                retries=self.fetch.retries,
                deadline_s=self.fetch.deadline_s,
                min_interval_s=self.fetch.min_interval_s,
            ),
        )


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning a validation failure or an unknown name into one readable line.

    ``overrides`` are CLI flags under their flat names (``model``, ``openai_base_url``,
    ``chroma_host``, ``data_dir``; see each field's ``flat``) or whole groups as dicts;
    ``None`` values mean "flag not given".
    """
    flat = flat_names(Settings)
    given: dict[tuple[str, ...], object] = {}
    groups: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key in flat:
            given[flat[key]] = value
        elif key in Settings.model_fields and isinstance(value, dict):
            groups[key] = value
        else:
            raise unknown(key, "the arguments", sorted(flat))
    values = nest(given)
    for key, group in groups.items():
        values[key] = {**group, **values.get(key, {})}
    try:
        return Settings(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = env_name_of(Settings, tuple(err["loc"]))
        value = err.get("input")
        shown = "" if "KEY" in name or isinstance(value, dict) else f" (got {value!r})"
        raise SettingsError(f"invalid setting {name}: {err['msg']}{shown}") from None
