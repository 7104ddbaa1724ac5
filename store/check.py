"""``index check``: do the catalog, Chroma and BM25 hold the same chunks, and can each be found?

The catalog is the source of truth (see :mod:`store.catalog`). A crash, a bug or two
writers at once can leave Chroma with a chunk missing, an orphan no paper owns, or a
vector that is stored but unreachable by search; BM25 can be stale. Chunks a lexical-only
ingest left without a vector are counted as pending, not missing. :func:`check_index`
reports each kind; :func:`repair_index` re-embeds what the dense index lacks (and the
unfindable ones), drops orphans and rebuilds BM25, so the three agree again.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from store import bm25
from store.index import Index

ProgressFn = Callable[[str, int, int], None]


@dataclass
class IndexCheck:
    """What :func:`check_index` found; every list holds chunk ids, sorted."""

    catalog_chunks: int = 0
    pending_vectors: int = 0  # not written yet (lexical-only ingest): `index embed` adds them; not damage
    vectors: int = 0
    bm25_chunks: int = 0
    missing_vectors: list[str] = field(default_factory=list)
    orphan_vectors: list[str] = field(default_factory=list)
    unfindable_vectors: list[str] = field(default_factory=list)
    bm25_missing: list[str] = field(default_factory=list)
    bm25_orphans: list[str] = field(default_factory=list)
    bm25_stale: bool = False

    @property
    def ok(self) -> bool:
        return not (
            self.missing_vectors or self.orphan_vectors or self.unfindable_vectors
            or self.bm25_missing or self.bm25_orphans or self.bm25_stale
        )

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "catalog_chunks": self.catalog_chunks,
            "pending_vectors": self.pending_vectors,
            "vectors": self.vectors,
            "bm25_chunks": self.bm25_chunks,
            "missing_vectors": self.missing_vectors,
            "orphan_vectors": self.orphan_vectors,
            "unfindable_vectors": self.unfindable_vectors,
            "bm25_missing": self.bm25_missing,
            "bm25_orphans": self.bm25_orphans,
            "bm25_stale": self.bm25_stale,
        }


def _noop(_stage: str, _done: int, _total: int) -> None:
    return None


def check_index(index: Index, *, findable: bool = True, on_progress: ProgressFn = _noop) -> IndexCheck:
    """Compare the three stores' chunk ids; with ``findable``, query every vector with itself."""
    catalog_ids = set(index.catalog.all_chunks()[0])
    with index.catalog.snapshot() as db:
        pending = {r[0] for r in db.execute("SELECT id FROM chunks WHERE embedded = 0")}
    vector_ids = set(index.vectors.all_ids())
    saved = bm25.load(index.config.bm25_dir)
    bm25_ids = set(saved.chunk_ids()) if saved is not None else set()
    report = IndexCheck(
        catalog_chunks=len(catalog_ids),
        pending_vectors=len(pending),
        vectors=len(vector_ids),
        bm25_chunks=len(bm25_ids),
        missing_vectors=sorted(catalog_ids - pending - vector_ids),
        orphan_vectors=sorted(vector_ids - catalog_ids),
        bm25_missing=sorted(catalog_ids - bm25_ids),
        bm25_orphans=sorted(bm25_ids - catalog_ids),
        bm25_stale=(saved is None and bool(catalog_ids))
        or (saved is not None and saved.generation != index.catalog.generation),
    )
    if findable:
        shared = sorted(catalog_ids & vector_ids)
        step = 1024
        for start in range(0, len(shared), step):
            part = shared[start : start + step]
            report.unfindable_vectors.extend(index.vectors.unfindable(part))
            on_progress("findable", min(start + step, len(shared)), len(shared))
    return report


def repair_index(index: Index, found: IndexCheck, *, on_progress: ProgressFn = _noop) -> int:
    """Make Chroma and BM25 match the catalog again; returns how many chunks were re-embedded.

    Unfindable vectors are deleted before they are written again, so HNSW inserts them
    afresh. Call it holding the writer lock.
    """
    if found.orphan_vectors:
        index.vectors.delete(found.orphan_vectors)
    redo = sorted(set(found.missing_vectors) | set(found.unfindable_vectors))
    if found.unfindable_vectors:
        index.vectors.delete(found.unfindable_vectors)
    ids, pids, texts = index.catalog.all_chunks()
    by_id = {cid: (pid, text) for cid, pid, text in zip(ids, pids, texts, strict=True)}
    step = 256
    for start in range(0, len(redo), step):
        part = [cid for cid in redo[start : start + step] if cid in by_id]
        papers = index.catalog.get_many({by_id[cid][0] for cid in part})
        vectors = index.embedder.embed([by_id[cid][1] for cid in part])
        metadatas: list[dict[str, str | int | float | bool]] = []
        for cid in part:
            pid = by_id[cid][0]
            paper = papers.get(pid)
            seq = int(cid.rsplit("#", 1)[1]) if "#" in cid and cid.rsplit("#", 1)[1].isdigit() else 0
            metadatas.append({"paper_id": pid, "seq": seq, "title": (paper.title if paper else "")[:500]})
        index.vectors.upsert(part, vectors, [by_id[cid][1] for cid in part], metadatas)
        on_progress("repair", min(start + step, len(redo)), len(redo))
    if found.bm25_missing or found.bm25_orphans or found.bm25_stale:
        bm25.rebuild(index.catalog, index.config.bm25_dir)
    if redo:  # the vector snapshot was read from the damaged Chroma: the next search reads it afresh
        shutil.rmtree(index.config.dense_dir, ignore_errors=True)
    return len(redo)
