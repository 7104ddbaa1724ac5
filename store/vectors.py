"""Dense vectors in Chroma: an embedded store by default, a Chroma server when configured.

We talk to ``chromadb`` directly rather than through ``langchain_chroma``: ingest
computes vectors itself in sorted batches (for speed and a truthful progress bar)
and needs plain upserts, deletes and id-filtered queries, which the raw collection
API gives with less copying. The collection is created without an embedding
function, so Chroma never tries to download its own default model.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from store.config import StoreConfig
from store.errors import StoreError

log = logging.getLogger(__name__)

# Chroma reads these at import time; set them before the first import anywhere.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
_WRITE_BATCH = 1000


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    paper_id: str
    similarity: float


def _client(config: StoreConfig) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if config.chroma_host:
        try:
            return chromadb.HttpClient(
                host=config.chroma_host, port=config.chroma_port, settings=settings
            )
        except Exception as exc:  # chromadb raises bare ValueError/ConnectionError here
            raise StoreError(
                f"cannot reach Chroma server at {config.chroma_host}:{config.chroma_port}: {exc}"
            ) from None
    config.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(config.chroma_dir), settings=settings)


class VectorStore:
    """One Chroma collection per embedding model and chunking, cosine space."""

    def __init__(self, config: StoreConfig, name: str) -> None:
        self.config = config
        self._client = _client(config)
        self.name = name
        self._col = self._client.get_or_create_collection(
            self.name,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
            metadata={"embedding_model": config.embedding.model_id},
        )

    def count(self) -> int:
        return int(self._col.count())

    def upsert(
        self,
        ids: list[str],
        vectors: np.ndarray,
        documents: list[str],
        metadatas: list[dict[str, str | int | float | bool]],
    ) -> None:
        for start in range(0, len(ids), _WRITE_BATCH):
            end = start + _WRITE_BATCH
            self._col.upsert(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                documents=documents[start:end],
                metadatas=metadatas[start:end],
            )

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), _WRITE_BATCH):
            self._col.delete(ids=ids[start : start + _WRITE_BATCH])

    def all_ids(self) -> list[str]:
        return list(self._col.get(include=[])["ids"])

    def get_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors by chunk id (missing ids are absent): reuse beats re-embedding a week's papers."""
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), _WRITE_BATCH):
            res = self._col.get(ids=ids[start : start + _WRITE_BATCH], include=["embeddings"])
            for cid, vec in zip(res["ids"], res["embeddings"], strict=True):
                out[cid] = np.asarray(vec, dtype=np.float32)
        return out

    def query(
        self, vector: np.ndarray, n: int, paper_ids: set[str] | None = None
    ) -> list[DenseHit]:
        """Nearest chunks by cosine similarity, optionally only from ``paper_ids``."""
        total = self.count()
        if total == 0 or n <= 0 or (paper_ids is not None and not paper_ids):
            return []
        where: dict[str, Any] | None = None
        if paper_ids is not None:
            where = {"paper_id": {"$in": sorted(paper_ids)}}
        res = self._col.query(
            query_embeddings=vector.reshape(1, -1),
            n_results=min(n, total),
            where=where,
            include=["distances", "metadatas"],
        )
        ids = res["ids"][0]
        metas = res["metadatas"][0] if res.get("metadatas") else [{}] * len(ids)
        dists = res["distances"][0]
        return [
            DenseHit(cid, str(meta.get("paper_id", cid.split("#")[0])), 1.0 - float(dist))
            for cid, meta, dist in zip(ids, metas, dists, strict=True)
        ]
