"""The index: catalog + Chroma vectors + BM25, opened together under one data dir.

Everything that reads or writes the index goes through ``Index`` so the three parts
are always opened with the same configuration (same collection for the same
embedding model and chunking) and the expensive ones (the ONNX session, the Chroma
client, BM25) are created only when a command actually needs them.
"""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import TYPE_CHECKING

from store.bm25 import Bm25Index, load_or_build
from store.catalog import Catalog
from store.config import StoreConfig
from store.private import private_dir

if TYPE_CHECKING:
    from store.embeddings import VectorEmbeddings
    from store.vectors import VectorStore


class Index:
    """Open handles on one data dir's index. Use as a context manager to close cleanly."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        private_dir(config.data_dir)
        self.catalog = Catalog(config.catalog_path)

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.catalog.close()

    @cached_property
    def vectors(self) -> VectorStore:
        from store.vectors import VectorStore

        return VectorStore(self.config, self.collection_name)

    @property
    def collection_name(self) -> str:
        """Model and chunking in the name (vectors never mix), plus this data dir's own id.

        The id keeps two data dirs apart even when they share one Chroma server.
        """
        index_id = self.catalog.get_meta("index_id")
        if index_id is None:
            index_id = uuid.uuid4().hex[:12]
            self.catalog.set_meta("index_id", index_id)
        return f"{self.config.collection_name}-{index_id}"

    @cached_property
    def embedder(self) -> VectorEmbeddings:
        from store.embeddings import make_embeddings

        return make_embeddings(self.config.embedding)

    def bm25(self) -> Bm25Index:
        """BM25 in step with the catalog (rebuilt when the catalog moved since the last save)."""
        cached: Bm25Index | None = self.__dict__.get("_bm25")
        if cached is None or cached.generation != self.catalog.generation:
            cached = load_or_build(self.catalog, self.config.bm25_dir)
            self.__dict__["_bm25"] = cached
        return cached

    def stats(self) -> dict[str, object]:
        first, last = self.catalog.listing_range()
        return {
            "data_dir": str(self.config.data_dir),
            "papers": self.catalog.count_papers(),
            "chunks": self.catalog.count_chunks(),
            "vectors": self.vectors.count(),
            "collection": self.collection_name,
            "embedding_model": self.config.embedding.model_id,
            "chroma": (
                f"server {self.config.chroma_host}:{self.config.chroma_port}"
                if self.config.chroma_host
                else f"embedded {self.config.chroma_dir}"
            ),
            "first_listing": first.isoformat() if first else None,
            "last_listing": last.isoformat() if last else None,
            "sources": self.catalog.source_counts(),
        }
