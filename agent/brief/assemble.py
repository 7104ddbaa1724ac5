"""Turning the working records into the finished brief, and the week-over-week counts.

Kept out of the driver (:mod:`agent.brief.pipeline`) so each module stays small:
these are pure functions of the stages' results.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import numpy as np

from agent.brief.themes import (
    OTHER,
    Clustering,
    assign,
    cluster_papers,
    keyword_name,
    match_thresholds,
    min_theme_size,
    theme_keywords,
)
from agent.brief.tldr import Tldr, extractive_tldr
from agent.brief.types import BriefPaper, BriefTheme, TrendRow, Trends
from agent.brief.weeks import Window
from agent.brief.work import WorkPaper, WorkTheme, paper_url
from store.index import Index
from store.papers import Paper


def window_papers(index: Index, window: Window) -> list[Paper]:
    """Papers listed in the window, in id order (stable input to clustering and caches)."""
    return sorted(index.catalog.list_papers(window.since, window.until), key=lambda p: p.id)


def corpus_hash(papers: Iterator[Paper] | Sequence[Paper]) -> str:
    """What the brief was made from: the window's paper ids and text hashes, order-free."""
    lines = sorted(f"{p.id}:{p.text_hash}" for p in papers)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def brief_paper(n: int, e: WorkPaper) -> BriefPaper:
    tldr = e.tldr or Tldr(extractive_tldr(e.paper), "extractive")
    mode: Literal["model", "extractive"] = "model" if tldr.mode == "model" else "extractive"
    p = e.paper
    return BriefPaper(
        n, p.id, p.title, paper_url(p), tldr.text, mode, p.listing_dates, p.upvotes, e.centrality, e.cached,
        e.status, e.match.why if e.match is not None and e.match.matched else "",
    )


def brief_themes(themes: list[WorkTheme]) -> list[BriefTheme]:
    return [
        BriefTheme(
            t.key, t.name, t.name_source, t.keywords,
            [brief_paper(i, e) for i, e in enumerate(t.members, 1)],
            t.synthesis,
        )
        for t in themes
    ]


def clustering_record(clustering: Clustering, embedding_model: str, vectors: dict[str, int]) -> dict[str, object]:
    """How the themes were made, for the provenance."""
    return {
        "method": "ward + silhouette",
        "k": clustering.chosen_k,
        "candidates": [list(c) for c in clustering.candidates],
        "other": int(np.count_nonzero(clustering.labels == OTHER)),
        "embedding_model": embedding_model,
        "vectors": dict(vectors),
        "split_from": clustering.split_from,
        "justified": clustering.justified,
    }


def trends(
    previous: Window,
    papers: list[Paper],
    vectors: np.ndarray,
    clustering: Clustering,
    themes: list[WorkTheme],
) -> Trends:
    """This window's themes counted in the previous window's ``papers``; unmatched groups are "gone"."""
    if not papers:
        return Trends(previous, 0, [])
    labels = assign(vectors, clustering, _thresholds(themes, clustering))
    rows: list[TrendRow] = []
    for t in themes:
        if t.key == OTHER:
            continue
        before = int(np.count_nonzero(labels == t.key))
        rows.append(TrendRow(t.name, len(t.members), before, trend_status(len(t.members), before)))
    unmatched = np.flatnonzero(labels == OTHER)
    if len(unmatched) >= 3:
        gone = cluster_papers(vectors[unmatched])
        texts = [f"{papers[i].title}. {papers[i].abstract}" for i in unmatched]
        words = theme_keywords(texts, gone.labels)
        floor = min_theme_size(len(papers))
        for key in range(gone.n_themes):
            size = len(gone.members(key))
            if size >= floor:
                rows.append(TrendRow(keyword_name(words.get(key, [])), 0, size, "gone"))
    order = {"new": 0, "grew": 1, "shrank": 2, "gone": 3, "steady": 4}
    rows.sort(key=lambda r: (order[r.status], -abs(r.change), r.theme))
    return Trends(previous, len(papers), rows)


def novelty(
    entries: list[WorkPaper], earlier: list[Paper], vectors_of: Callable[[Sequence[Paper]], np.ndarray]
) -> int:
    """Set each entry's distance to its nearest paper of ``earlier`` weeks; returns how many were compared."""
    if not earlier or not entries:
        return 0
    past = vectors_of(earlier)
    past = past / np.clip(np.linalg.norm(past, axis=1, keepdims=True), 1e-12, None)
    now = np.stack([e.vector for e in entries])
    now = now / np.clip(np.linalg.norm(now, axis=1, keepdims=True), 1e-12, None)
    nearest = (now @ past.T).max(axis=1)
    for e, sim in zip(entries, nearest, strict=True):
        e.novelty = float(1.0 - sim)
    return len(earlier)


def _thresholds(themes: list[WorkTheme], clustering: Clustering) -> np.ndarray:
    members = [e for t in themes for e in t.members]
    if not members:
        return np.zeros(0, dtype=np.float32)
    vectors = np.stack([e.vector for e in members])
    labelled = Clustering(np.array([e.label for e in members]), clustering.centroids)
    return match_thresholds(vectors, labelled)


def trend_status(current: int, previous: int) -> Literal["new", "grew", "shrank", "steady"]:
    """``new`` when absent before; ``grew``/``shrank`` by at least 2 papers and 25%; else ``steady``."""
    if previous == 0:
        return "new"
    step = max(2, math.ceil(previous * 0.25))
    if current - previous >= step:
        return "grew"
    if previous - current >= step:
        return "shrank"
    return "steady"
