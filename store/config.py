"""Plain configuration the data side needs, built by ``agent.settings`` from the user's settings.

The data side takes this small frozen object instead of the settings class so that
``store`` never imports ``agent`` and can be driven directly by benchmarks and tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from store.paths import Paths

FusionMethod = Literal["rrf", "score"]


@dataclass(frozen=True)
class EmbeddingConfig:
    """Which embedding model makes the dense vectors.

    ``provider="local"`` runs all-MiniLM-L6-v2 (int8 ONNX) in-process; ``"openai"``
    calls any OpenAI-compatible ``/embeddings`` endpoint at ``base_url``.
    """

    provider: Literal["local", "openai"] = "local"
    model: str = "all-MiniLM-L6-v2-int8"
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    batch_size: int = 16
    max_length: int = 256
    threads: int = 0

    @property
    def model_id(self) -> str:
        """The id that names the Chroma collection, so two models' vectors never mix."""
        return f"{self.provider}-{self.model}"


@dataclass(frozen=True)
class RetrievalConfig:
    """How BM25 and dense results are fused; the defaults were chosen on SciFact train qrels."""

    fusion: FusionMethod = "score"
    bm25_weight: float = 0.55
    dense_weight: float = 0.45
    rrf_k: int = 60
    candidates: int = 100
    #: Dense search over the memory-mapped snapshot of the vectors (exact, no chromadb import);
    #: False asks Chroma's HNSW graph, which benchmarks/bench_scale.py measures beside it.
    dense_snapshot: bool = True


@dataclass(frozen=True)
class HttpConfig:
    """Politeness and resilience for the live fetchers."""

    hf_url: str = "https://huggingface.co"
    arxiv_url: str = "https://export.arxiv.org/api/query"
    timeout_s: float = 30.0
    retries: int = 5
    deadline_s: float = 300.0
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    min_interval_s: float = 3.0
    user_agent: str = "paperbrief/0.1 (+https://github.com/paperbrief)"
    #: Level of the per-retry log lines: a caller that reports the final failure itself (the
    #: brief's fetch-if-empty) lowers it to INFO, so they show only with --verbose.
    retry_log_level: int = 30  # logging.WARNING


@dataclass(frozen=True)
class StoreConfig:
    """Everything the data side needs: where state lives and how the index is built."""

    data_dir: Path
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_connect_timeout_s: float = 5.0
    chroma_timeout_s: float = 60.0
    db_busy_timeout_s: float = 30.0
    chunk_size: int = 384
    chunk_overlap: int = 48
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    http: HttpConfig = field(default_factory=HttpConfig)

    @property
    def paths(self) -> Paths:
        return Paths(self.data_dir)

    @property
    def index_dir(self) -> Path:
        return self.paths.index_dir

    @property
    def chroma_dir(self) -> Path:
        return self.paths.chroma_dir

    @property
    def catalog_path(self) -> Path:
        return self.paths.catalog

    @property
    def bm25_dir(self) -> Path:
        return self.paths.bm25_dir

    @property
    def dense_dir(self) -> Path:
        return self.paths.dense_dir

    @property
    def cache_dir(self) -> Path:
        return self.paths.cache_dir

    @property
    def collection_name(self) -> str:
        """Chroma collection for this embedding model and chunking: ``chunks-<model>-c<size>``."""
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", self.embedding.model_id).strip("-._")
        return f"chunks-{slug}-c{self.chunk_size}o{self.chunk_overlap}"[:200]
