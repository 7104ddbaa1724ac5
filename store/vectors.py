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
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import numpy as np
from filelock import FileLock, Timeout

from store.config import StoreConfig
from store.dense_snapshot import DenseHit
from store.errors import DatabaseBusy, IndexUnavailable, StoreError

T = TypeVar("T")

log = logging.getLogger(__name__)

# Chroma reads these at import time; set them before the first import anywhere.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
_WRITE_BATCH = 1000


def _server(config: StoreConfig) -> str:
    return f"{config.chroma_host}:{config.chroma_port}"


def _within(fn: Callable[[], T], seconds: float, what: str) -> T:
    """Run ``fn`` in a daemon thread and give up after ``seconds``.

    chromadb's ``HttpClient`` talks to the server while it is constructed, before we can
    give its session a timeout; a hung server would block that for ever. A daemon thread
    left behind never delays the process's exit.
    """
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            box.put((True, fn()))
        except BaseException as exc:  # handed to the caller's thread
            box.put((False, exc))

    threading.Thread(target=run, name="chroma-connect", daemon=True).start()
    try:
        ok, value = box.get(timeout=seconds)
    except queue.Empty:
        raise IndexUnavailable(f"{what} did not answer within {seconds:g} s") from None
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _check_reachable(config: StoreConfig) -> None:
    """A heartbeat with a short deadline: a stopped or absent server fails here, in one line."""
    url = f"http://{config.chroma_host}:{config.chroma_port}/api/v2/heartbeat"
    limit = config.chroma_connect_timeout_s
    try:
        httpx.get(url, timeout=httpx.Timeout(limit)).raise_for_status()
    except httpx.TimeoutException:
        raise IndexUnavailable(
            f"the Chroma server at {_server(config)} did not answer within {limit:g} s "
            "(PAPERBRIEF_CHROMA_CONNECT_TIMEOUT); is it stopped or overloaded?"
        ) from None
    except httpx.HTTPError as exc:
        raise IndexUnavailable(
            f"cannot reach the Chroma server at {_server(config)} ({_short(exc)})"
        ) from None


def _client(config: StoreConfig) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if config.chroma_host:
        _check_reachable(config)
        try:
            client = _within(
                lambda: chromadb.HttpClient(
                    host=config.chroma_host or "", port=config.chroma_port, settings=settings
                ),
                config.chroma_timeout_s,
                f"the Chroma server at {_server(config)}",
            )
        except IndexUnavailable:
            raise
        except Exception as exc:  # chromadb raises bare ValueError/ConnectionError here
            raise StoreError(
                f"cannot reach Chroma server at {_server(config)}: {_short(exc)}"
            ) from None
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):  # chromadb leaves it at timeout=None
            session.timeout = httpx.Timeout(
                config.chroma_timeout_s, connect=config.chroma_connect_timeout_s
            )
        return client
    config.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(config.chroma_dir), settings=settings)


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class VectorStore:
    """One Chroma collection per embedding model and chunking, cosine space.

    Every call goes through :meth:`_call`, which turns a lost or hung server (and a
    locked embedded store) into one-line service errors. Opening the embedded store is
    serialised across processes: chromadb's first-open migrations are not safe when
    several processes create the same fresh store at once.
    """

    def __init__(self, config: StoreConfig, name: str) -> None:
        self.config = config
        self.name = name
        if config.chroma_host:
            self._client = _client(config)
            self._col = self._call("opening the collection", self._open_collection)
            return
        config.index_dir.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(config.paths.chroma_open_lock), timeout=config.db_busy_timeout_s):
                self._client = self._call("opening the embedded store", lambda: _client(config))
                self._col = self._call("opening the collection", self._open_collection)
        except Timeout:
            raise DatabaseBusy(
                f"another process kept opening the embedded Chroma store in {config.chroma_dir} "
                f"for over {config.db_busy_timeout_s:g} s (PAPERBRIEF_DB_BUSY_TIMEOUT)"
            ) from None

    def _open_collection(self) -> Any:
        return self._client.get_or_create_collection(
            self.name,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
            metadata={"embedding_model": self.config.embedding.model_id},
        )

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one Chroma operation, mapping transport failures to one-line errors."""
        config = self.config
        where = f"the Chroma server at {_server(config)}"
        try:
            return fn()
        except httpx.TimeoutException:
            raise IndexUnavailable(
                f"{where} did not finish {what} within {config.chroma_timeout_s:g} s "
                "(PAPERBRIEF_CHROMA_TIMEOUT); is it stopped or overloaded?"
            ) from None
        except httpx.TransportError as exc:
            raise IndexUnavailable(f"lost the connection to {where} while {what} ({_short(exc)})") from None
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise DatabaseBusy(
                    f"the embedded Chroma store in {config.chroma_dir} is locked by another "
                    f"process while {what}"
                ) from None
            raise

    def count(self) -> int:
        return int(self._call("counting vectors", self._col.count))

    def upsert(
        self,
        ids: list[str],
        vectors: np.ndarray,
        documents: list[str],
        metadatas: list[dict[str, str | int | float | bool]],
    ) -> None:
        for start in range(0, len(ids), _WRITE_BATCH):
            end = start + _WRITE_BATCH
            batch = slice(start, end)
            self._call(
                "writing vectors",
                lambda b=batch: self._col.upsert(  # type: ignore[misc]
                    ids=ids[b],
                    embeddings=vectors[b],
                    documents=documents[b],
                    metadatas=metadatas[b],
                ),
            )

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), _WRITE_BATCH):
            part = ids[start : start + _WRITE_BATCH]
            self._call("deleting vectors", lambda p=part: self._col.delete(ids=p))  # type: ignore[misc]

    def all_ids(self) -> list[str]:
        return list(self._call("listing vectors", lambda: self._col.get(include=[]))["ids"])

    def get_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors by chunk id (missing ids are absent): reuse beats re-embedding a week's papers."""
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), _WRITE_BATCH):
            part = ids[start : start + _WRITE_BATCH]
            res = self._call(
                "reading vectors",
                lambda p=part: self._col.get(ids=p, include=["embeddings"]),  # type: ignore[misc]
            )
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
        res = self._call(
            "searching",
            lambda: self._col.query(
                query_embeddings=vector.reshape(1, -1),
                n_results=min(n, total),
                where=where,
                include=["distances", "metadatas"],
            ),
        )
        ids = res["ids"][0]
        metas = res["metadatas"][0] if res.get("metadatas") else [{}] * len(ids)
        dists = res["distances"][0]
        return [
            DenseHit(cid, str(meta.get("paper_id", cid.split("#")[0])), 1.0 - float(dist))
            for cid, meta, dist in zip(ids, metas, dists, strict=True)
        ]

    def unfindable(self, ids: list[str], k: int = 10, batch: int = 256) -> list[str]:
        """Stored ids whose own vector does not find them among the ``k`` nearest.

        A vector can be stored (counted, gettable) yet missing from the HNSW graph that
        queries walk, as one run of concurrent writers left it; only asking finds that.
        """
        total = self.count()
        out: list[str] = []
        for start in range(0, len(ids), batch):
            stored = self.get_vectors(ids[start : start + batch])
            present = [cid for cid in ids[start : start + batch] if cid in stored]
            if not present:
                continue
            queries = np.stack([stored[cid] for cid in present])
            res = self._call(
                "checking vectors",
                lambda q=queries: self._col.query(  # type: ignore[misc]
                    query_embeddings=q, n_results=min(k, total), include=["distances"]
                ),
            )
            out.extend(cid for cid, found in zip(present, res["ids"], strict=True) if cid not in found)
        return out
