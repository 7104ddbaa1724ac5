"""Exact dense search over a snapshot of the stored vectors, without opening Chroma.

Chroma is where vectors are written and kept, but opening it costs a search process about
1.5 s (importing chromadb alone takes over a second), and its HNSW graph is approximate and
turns a date filter into a metadata scan. The same vectors as one float32 matrix, memory-mapped,
answer a query exactly with one matrix-vector product (about 10 ms for 75k chunks on one
core), and a week's filter multiplies only that week's rows.

The snapshot is derived data, like BM25, keyed by the catalog's generation and its count of
embedded chunks (:func:`current_key`): the set of embedded chunks changes only when papers are written (which
bumps the generation) or when vectors are marked written (which raises the count). When the
key moved, a refresh asks Chroma only for the vectors of chunks that are new or were
re-chunked (a row is a chunk id *and* the generation that added it) and drops the rows that
are gone, so its cost follows the change; a lexical-only ingest costs no Chroma call at all.
Ingest refreshes it after writing vectors, so searches find it ready. Each snapshot is
written to a fresh folder and named by a manifest replaced atomically, under a file lock.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock, Timeout

from store.catalog import Catalog
from store.errors import DatabaseBusy

if TYPE_CHECKING:
    from store.vectors import VectorStore

log = logging.getLogger(__name__)
_MANIFEST = "manifest.json"
#: A snapshot key: (catalog generation, embedded chunks), see :func:`current_key`.
Key = tuple[int, int]


@dataclass(frozen=True)
class DenseHit:
    """One chunk near a query vector (from the snapshot or from Chroma)."""

    chunk_id: str
    paper_id: str
    similarity: float


@dataclass
class DenseSnapshot:
    """The vectors of one collection's embedded chunks, one normalised row per chunk."""

    collection: str
    key: Key
    vectors: np.ndarray  # (rows, dim) float32, unit length
    chunk_ids: np.ndarray  # fixed-width unicode, row order
    paper_ids: np.ndarray
    added: np.ndarray  # int64: the catalog generation that added each chunk
    _by_paper: dict[str, list[int]] | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        return len(self.chunk_ids)

    def rows_of(self, paper_ids: Collection[str]) -> np.ndarray:
        """Row numbers of these papers' chunks (a filter touches only them, not the corpus)."""
        if self._by_paper is None:
            by_paper: dict[str, list[int]] = {}
            for row, pid in enumerate(self.paper_ids.tolist()):
                by_paper.setdefault(pid, []).append(row)
            self._by_paper = by_paper
        found = [rows for pid in paper_ids if (rows := self._by_paper.get(pid))]
        if not found:
            return np.empty(0, dtype=np.int64)
        return np.sort(np.fromiter((r for rows in found for r in rows), dtype=np.int64))

    def top(self, vector: np.ndarray, n: int, paper_ids: Collection[str] | None = None) -> list[DenseHit]:
        """The ``n`` chunks nearest to ``vector`` by cosine similarity, optionally only of ``paper_ids``."""
        if n <= 0 or self.rows == 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(query))
        if norm > 0:
            query = query / norm
        if paper_ids is None:
            rows = None
            sims = self.vectors @ query
        else:
            rows = self.rows_of(paper_ids)
            if not len(rows):
                return []
            sims = self.vectors[rows] @ query
        take = min(n, len(sims))
        best = np.argpartition(-sims, take - 1)[:take] if take < len(sims) else np.arange(len(sims))
        best = best[np.lexsort((best, -sims[best]))]  # by similarity, then row: a stable order
        picked = best if rows is None else rows[best]
        return [
            DenseHit(str(self.chunk_ids[r]), str(self.paper_ids[r]), float(s))
            for r, s in zip(picked.tolist(), sims[best].tolist(), strict=True)
        ]


def current_key(catalog: Catalog) -> Key:
    """(generation, embedded chunks): it moves whenever the set of embedded chunks changes.

    Writing papers bumps the generation; marking vectors written raises the count; nothing
    else changes which chunks have vectors. The count walks a partial index.
    """
    with catalog.snapshot() as db:
        embedded = int(db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 1").fetchone()[0])
        return catalog.generation, embedded


def _embedded_chunks(catalog: Catalog) -> tuple[Key, list[tuple[str, str, int]]]:
    """:func:`current_key` and the embedded chunks (id, paper id, added), read as one state."""
    with catalog.snapshot() as db:
        sql = "SELECT id, paper_id, added FROM chunks WHERE embedded = 1 ORDER BY id"
        rows = [(r[0], r[1], int(r[2])) for r in db.execute(sql)]
        return (catalog.generation, len(rows)), rows


def _read_manifest(directory: Path) -> dict[str, object] | None:
    try:
        data = json.loads((directory / _MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load(directory: Path) -> DenseSnapshot | None:
    """The saved snapshot, memory-mapped; ``None`` when there is none or it cannot be read."""
    manifest = _read_manifest(directory)
    if manifest is None:
        return None
    path = directory / str(manifest.get("name", ""))
    try:
        gen, count = (int(v) for v in manifest["key"])  # type: ignore[attr-defined]
        return DenseSnapshot(
            collection=str(manifest["collection"]),
            key=(gen, count),
            vectors=np.load(path / "vectors.npy", mmap_mode="r"),
            chunk_ids=np.load(path / "chunk_ids.npy"),
            paper_ids=np.load(path / "paper_ids.npy"),
            added=np.load(path / "added.npy"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("dense snapshot in %s unreadable (%s); it will be rebuilt", directory, exc)
        return None


def _save(directory: Path, snap: DenseSnapshot) -> None:
    """A fresh folder, then the manifest swapped in atomically; older folders removed."""
    name = f"snap-{uuid.uuid4().hex[:12]}"
    path = directory / name
    path.mkdir(parents=True)
    np.save(path / "vectors.npy", np.ascontiguousarray(snap.vectors, dtype=np.float32))
    np.save(path / "chunk_ids.npy", snap.chunk_ids)
    np.save(path / "paper_ids.npy", snap.paper_ids)
    np.save(path / "added.npy", snap.added)
    manifest = {"name": name, "collection": snap.collection, "key": list(snap.key), "rows": snap.rows}
    tmp = directory / f".{_MANIFEST}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(manifest))
    os.replace(tmp, directory / _MANIFEST)
    for old in directory.glob("snap-*"):
        if old.name != name:  # a search still reading an old one keeps its open mapping
            shutil.rmtree(old, ignore_errors=True)


def _rekey(directory: Path, snap: DenseSnapshot, key: Key) -> DenseSnapshot:
    """The same files under a new key: the catalog moved but no chunk gained or lost a vector."""
    manifest = _read_manifest(directory) or {}
    manifest["key"] = list(key)
    tmp = directory / f".{_MANIFEST}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(manifest))
    os.replace(tmp, directory / _MANIFEST)
    snap.key = key
    return snap


def _strings(values: list[str]) -> np.ndarray:
    return np.array(values or [""], dtype=str)[: len(values)]


def refresh(
    catalog: Catalog,
    directory: Path,
    collection: str,
    vectors: Callable[[], VectorStore],
    *,
    wait_s: float = 30.0,
) -> DenseSnapshot:
    """The snapshot in step with the catalog, asking ``vectors()`` (Chroma) only for new rows.

    Waits at most ``wait_s`` for another process refreshing it (then it is usually up to date).
    """
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(directory / ".lock"), timeout=wait_s):
            return _refresh_locked(catalog, directory, collection, vectors)
    except Timeout:
        raise DatabaseBusy(
            f"another process kept updating the vector snapshot in {directory} for over {wait_s:g} s "
            "(PAPERBRIEF_DB_BUSY_TIMEOUT)"
        ) from None


def _refresh_locked(
    catalog: Catalog, directory: Path, collection: str, vectors: Callable[[], VectorStore]
) -> DenseSnapshot:
    key, wanted = _embedded_chunks(catalog)
    old = load(directory)
    if old is not None and old.collection == collection and old.key == key:
        return old  # another process brought it up to date while we waited
    have: dict[tuple[str, int], int] = {}
    if old is not None and old.collection == collection:
        have = {(c, a): i for i, (c, a) in enumerate(zip(old.chunk_ids.tolist(), old.added.tolist(), strict=True))}
    keep = [have[(cid, added)] for cid, _, added in wanted if (cid, added) in have]
    new = [(cid, pid, added) for cid, pid, added in wanted if (cid, added) not in have]
    if old is not None and not new and len(keep) == old.rows and old.collection == collection:
        return _rekey(directory, old, key)  # same rows (a lexical-only change): no copy, no Chroma
    fetched = vectors().get_vectors([cid for cid, _, _ in new]) if new else {}
    new = [row for row in new if row[0] in fetched]  # marked embedded but absent: Chroma can't find it either
    parts: list[np.ndarray] = []
    if old is not None and keep:
        parts.append(np.asarray(old.vectors[np.asarray(keep, dtype=np.int64)], dtype=np.float32))
    if new:
        fresh = np.stack([fetched[cid] for cid, _, _ in new]).astype(np.float32)
        norms = np.linalg.norm(fresh, axis=1, keepdims=True)
        parts.append(fresh / np.where(norms > 0, norms, 1.0))
    dim = parts[0].shape[1] if parts else 0
    rows = new
    if old is not None:
        rows = [(str(old.chunk_ids[i]), str(old.paper_ids[i]), int(old.added[i])) for i in keep] + new
    snap = DenseSnapshot(
        collection=collection,
        key=key,
        vectors=np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32),
        chunk_ids=_strings([r[0] for r in rows]),
        paper_ids=_strings([r[1] for r in rows]),
        added=np.array([r[2] for r in rows], dtype=np.int64),
    )
    _save(directory, snap)
    log.info("dense snapshot: %d rows kept, %d read from Chroma, key %s", len(keep), len(new), key)
    return snap
