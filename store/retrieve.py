"""Hybrid retrieval: BM25 and dense candidates fused, grouped per paper.

Lexical and dense search fail differently (BM25 misses paraphrases, MiniLM misses
rare exact terms such as model names and datasets), so both run over the same
chunks and their per-paper scores are fused. Two fusion methods are available:

* ``score`` (default): each list's scores are min-max normalised over its candidates
  and combined with weights; a paper missing from one list gets 0 there.
* ``rrf``: weighted reciprocal rank fusion, ``w / (k + rank)``.

The defaults were picked by ``benchmarks/bench_retrieval.py`` on SciFact's *train* qrels;
the test qrels are only used to report the result (see BENCHMARKS.md).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from store.config import RetrievalConfig
from store.errors import StoreError
from store.index import Index

if TYPE_CHECKING:
    from store.dense_snapshot import DenseHit

log = logging.getLogger(__name__)
_DENSE_FILTER_LIMIT = 2000  # beyond this many allowed papers, over-fetch and post-filter


@dataclass(frozen=True)
class Hit:
    """One paper in a result list, with the chunk that matched best as its snippet."""

    paper_id: str
    title: str
    date: date | None
    score: float
    snippet: str
    chunk_id: str
    bm25: float | None = None
    dense: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "paper_id": self.paper_id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "score": round(self.score, 6),
            "snippet": self.snippet,
        }


# A signal: paper id -> (score, best chunk id), best first.
Signal = Mapping[str, tuple[float, str]]


def _normalise(signal: Signal) -> dict[str, float]:
    if not signal:
        return {}
    values = np.fromiter((s for s, _ in signal.values()), dtype=np.float64)
    lo, hi = float(values.min()), float(values.max())
    span = hi - lo
    if span <= 1e-12:
        return dict.fromkeys(signal, 1.0)
    return {pid: (s - lo) / span for pid, (s, _) in signal.items()}


def fuse(bm25: Signal, dense: Signal, config: RetrievalConfig) -> list[tuple[str, float]]:
    """Fused (paper id, score), best first. Ties break on paper id for stable output."""
    fused: dict[str, float] = {}
    weighted = [(s, w) for s, w in ((bm25, config.bm25_weight), (dense, config.dense_weight)) if w > 0]
    if config.fusion == "rrf":
        for signal, weight in weighted:
            for rank, pid in enumerate(signal):
                fused[pid] = fused.get(pid, 0.0) + weight / (config.rrf_k + rank + 1)
    else:
        for signal, weight in weighted:
            for pid, value in _normalise(signal).items():
                fused[pid] = fused.get(pid, 0.0) + weight * value
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def _per_paper(chunk_scores: list[tuple[str, str, float]], limit: int) -> dict[str, tuple[float, str]]:
    """Best chunk per paper, papers ordered by that best score, at most ``limit``."""
    best: dict[str, tuple[float, str]] = {}
    for cid, pid, score in chunk_scores:
        if pid not in best or score > best[pid][0]:
            best[pid] = (score, cid)
    ordered = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
    return dict(ordered)


def bm25_signal(index: Index, query: str, n: int, allowed: set[str] | None) -> dict[str, tuple[float, str]]:
    rows = index.bm25().top(query, n * 4, allowed)
    return _per_paper(rows, n)


def dense_signal(
    index: Index, query: str, n: int, allowed: set[str] | None, *, snapshot: bool = True
) -> dict[str, tuple[float, str]]:
    if not index.catalog.has_vectors():  # lexical-only so far: don't even open Chroma or the model
        return {}
    vector = index.query_vectors.get(query)
    if vector is None:
        vector = index.embedder.embed([query])[0]
    if snapshot:
        try:
            hits = index.dense().top(vector, n * 3, allowed)
        except OSError as exc:  # a read-only or full data dir: Chroma answers instead
            log.warning("dense snapshot unavailable (%s); querying Chroma", exc)
            hits = chroma_top(index, vector, n, allowed)
    else:
        hits = chroma_top(index, vector, n, allowed)
    return _per_paper([(h.chunk_id, h.paper_id, h.similarity) for h in hits], n)


def chroma_top(index: Index, vector: np.ndarray, n: int, allowed: set[str] | None) -> list[DenseHit]:
    """Nearest chunks from Chroma's HNSW graph: an id filter for small windows, else over-fetch."""
    if allowed is not None and len(allowed) <= _DENSE_FILTER_LIMIT:
        return index.vectors.query(vector, n * 3, paper_ids=allowed)
    hits = index.vectors.query(vector, n * 6)
    return hits if allowed is None else [h for h in hits if h.paper_id in allowed]


def embed_queries(index: Index, queries: Collection[str]) -> int:
    """Embed many queries in one batched call, kept for :func:`dense_signal`; returns how many.

    A batch of questions embedded together is sorted by length and padded per batch
    by the embedder, which beats one call per question; searches then find their
    vector ready. Nothing happens when dense search has no vectors to compare with.
    """
    if index.config.retrieval.dense_weight <= 0 or not index.catalog.has_vectors():
        return 0
    todo = sorted({q.strip() for q in queries if q.strip()} - set(index.query_vectors))
    if todo:
        index.query_vectors.update(zip(todo, index.embedder.embed(todo), strict=True))
    return len(todo)


def search(
    index: Index,
    query: str,
    *,
    k: int = 10,
    since: date | None = None,
    until: date | None = None,
    config: RetrievalConfig | None = None,
    paper_ids: Collection[str] | None = None,
) -> list[Hit]:
    """The ``k`` best papers for ``query`` listed in ``[since, until]``, best first.

    ``paper_ids`` restricts the search to those papers (ask about a selection).
    """
    query = query.strip()
    if not query:
        raise StoreError("the search query is empty")
    if since and until and since > until:
        raise StoreError(f"--since {since} is after --until {until}")
    cfg = config or index.config.retrieval
    allowed = index.catalog.paper_ids_in_window(since, until) if (since or until) else None
    if paper_ids is not None:
        allowed = set(paper_ids) if allowed is None else allowed & set(paper_ids)
    if allowed is not None and not allowed:
        return []
    n = max(cfg.candidates, k)
    lexical = bm25_signal(index, query, n, allowed) if cfg.bm25_weight > 0 else {}
    semantic = dense_signal(index, query, n, allowed, snapshot=cfg.dense_snapshot) if cfg.dense_weight > 0 else {}
    ranked = fuse(lexical, semantic, cfg)[:k]
    papers = index.catalog.get_many(pid for pid, _ in ranked)
    best_chunk = {
        pid: (semantic.get(pid) or lexical.get(pid) or (0.0, ""))[1] for pid, _ in ranked
    }
    texts = index.catalog.chunk_texts(c for c in best_chunk.values() if c)
    hits: list[Hit] = []
    for pid, score in ranked:
        paper = papers.get(pid)
        if paper is None:  # vector of a record removed since; the catalog is the truth
            continue
        cid = best_chunk[pid]
        hits.append(
            Hit(
                paper_id=pid,
                title=paper.title,
                date=paper.display_date,
                score=score,
                snippet=_snippet(texts.get(cid, paper.abstract), paper.title),
                chunk_id=cid,
                bm25=lexical[pid][0] if pid in lexical else None,
                dense=semantic[pid][0] if pid in semantic else None,
            )
        )
    return hits


def _snippet(chunk_text: str, title: str, limit: int = 320) -> str:
    body = chunk_text[len(title) :].strip() if chunk_text.startswith(title) else chunk_text.strip()
    if len(body) <= limit:
        return body
    cut = body.rfind(" ", 0, limit)
    return body[: cut if cut > limit // 2 else limit].rstrip(" ,;:") + " …"
