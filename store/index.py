"""The index: catalog + Chroma vectors + BM25, opened together under one data dir.

Everything that reads or writes the index goes through ``Index`` so the three parts
are always opened with the same configuration (same collection for the same
embedding model and chunking) and the expensive ones (the ONNX session, the Chroma
client, BM25) are created only when a command actually needs them.
"""

from __future__ import annotations

import threading
import uuid
from functools import cached_property
from typing import TYPE_CHECKING

from store.catalog import Catalog
from store.config import StoreConfig
from store.private import private_dir

if TYPE_CHECKING:
    import numpy as np

    from store.bm25 import Bm25Index
    from store.dense_snapshot import DenseSnapshot
    from store.embeddings import VectorEmbeddings
    from store.vectors import VectorStore


class Index:
    """Open handles on one data dir's index. Use as a context manager to close cleanly."""

    def __init__(self, config: StoreConfig, *, parent: Index | None = None) -> None:
        self.config = config
        private_dir(config.data_dir)
        self.catalog = Catalog(config.catalog_path, busy_timeout_s=config.db_busy_timeout_s)
        self._parent = parent
        self._bm25_lock: threading.Lock = parent._bm25_lock if parent is not None else threading.Lock()
        self._dense_lock: threading.Lock = parent._dense_lock if parent is not None else threading.Lock()

    def for_thread(self) -> Index:
        """This index for another thread: its own catalog connection, everything else shared.

        A SQLite connection belongs to the thread that uses it, so each worker (batch, the TUI)
        gets its own catalog; the embedder (an ONNX session), the Chroma client and BM25 are
        this index's own objects, read-only while they are shared and safe across threads.
        BM25's freshness check reads this index's catalog, so it runs under a lock, and a
        rebuild after a concurrent ingest happens once, not once per thread. Close the view
        when the thread is done; closing it leaves this index open.
        """
        return Index(self.config, parent=self)

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.catalog.close()

    @cached_property
    def vectors(self) -> VectorStore:
        if self._parent is not None:
            return self._parent.vectors
        from store.vectors import VectorStore

        return VectorStore(self.config, self.collection_name)

    @cached_property
    def query_vectors(self) -> dict[str, np.ndarray]:
        """Query vectors embedded ahead of time (a batch's questions, in one batched call);
        thread views share their parent's."""
        if self._parent is not None:
            return self._parent.query_vectors
        return {}

    @property
    def collection_name(self) -> str:
        """Model and chunking in the name (vectors never mix), plus this data dir's own id.

        The id keeps two data dirs apart even when they share one Chroma server.
        """
        index_id = self.catalog.get_meta("index_id")
        if index_id is None:  # first open: whoever inserts first wins, everyone uses that id
            index_id = self.catalog.get_or_set_meta("index_id", uuid.uuid4().hex[:12])
        return f"{self.config.collection_name}-{index_id}"

    @cached_property
    def embedder(self) -> VectorEmbeddings:
        if self._parent is not None:
            return self._parent.embedder
        from store.embeddings import make_embeddings

        return make_embeddings(self.config.embedding)

    def bm25(self) -> Bm25Index:
        """BM25 in step with the catalog (rebuilt when the catalog moved since the last save)."""
        if self._parent is not None:
            with self._bm25_lock:
                return self._parent.bm25()
        from store.bm25 import load, refresh

        cached: Bm25Index | None = self.__dict__.get("_bm25")
        generation = self.catalog.generation
        if cached is None or cached.generation != generation:
            cached = load(self.config.bm25_dir)  # no lock, no catalog scan when already in step
            if cached is None or cached.generation != generation:
                cached = refresh(self.catalog, self.config.bm25_dir)
            self.__dict__["_bm25"] = cached
        return cached

    def dense(self) -> DenseSnapshot:
        """The stored vectors as one matrix, in step with the catalog (see ``store.dense_snapshot``).

        Opens Chroma only when chunks gained vectors since the snapshot was saved; ingest
        refreshes it after writing vectors, so a search process usually never imports chromadb.
        """
        if self._parent is not None:
            return self._parent.dense()
        from store.dense_snapshot import current_key, load, refresh

        with self._dense_lock:
            cached: DenseSnapshot | None = self.__dict__.get("_dense")
            stamp = self.catalog.change_stamp()
            if cached is not None and self.__dict__.get("_dense_stamp") == stamp:
                return cached  # nothing committed since: skip counting 75k chunks on every search
            key = current_key(self.catalog)
            name = self.collection_name
            if cached is None or cached.key != key or cached.collection != name:
                cached = load(self.config.dense_dir)
                if cached is None or cached.key != key or cached.collection != name:
                    cached = refresh(
                        self.catalog, self.config.dense_dir, name, lambda: self.vectors,
                        wait_s=self.config.db_busy_timeout_s,
                    )
                self.__dict__["_dense"] = cached
            self.__dict__["_dense_stamp"] = stamp
            return cached

    def dense_coverage(self) -> float:
        """Share of chunks whose vector is written (1.0 for an empty index): what dense search sees."""
        embedded, total = self.catalog.dense_coverage()
        return round(embedded / total, 4) if total else 1.0

    def stats(self) -> dict[str, object]:
        first, last = self.catalog.listing_range()
        return {
            "data_dir": str(self.config.data_dir),
            "papers": self.catalog.count_papers(),
            "chunks": self.catalog.count_chunks(),
            "vectors": self.vectors.count(),
            "dense_coverage": self.dense_coverage(),
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
