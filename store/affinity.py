"""How close each paper is to what the reader said they care about: interests and starred papers.

One score serves the brief's "for you" section, ``papers list --for-me`` and the TUI's
sort, so they always agree. Interests are embedded with the index's own embedder (a
few short texts: milliseconds), starred papers are their stored chunk-0 vectors,
and a paper's score is its best cosine to any of them; the one it matched is named
in the reason, so every pick can say *why* it was picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from store.chunking import chunk_id
from store.index import Index
from store.interests import Reader, ReaderStore
from store.papers import Paper

#: Below this cosine a paper does not "match" an interest (all-MiniLM query-to-abstract scale).
MATCH_SIM = 0.35
#: A starred paper is a narrower signal than an interest the reader wrote: discounted a little.
STAR_WEIGHT = 0.9


@dataclass(frozen=True)
class Match:
    score: float
    kind: str  # "interest" | "star" | ""
    what: str  # the interest text, or the starred paper's title

    @property
    def matched(self) -> bool:
        return bool(self.kind) and self.score >= MATCH_SIM

    @property
    def why(self) -> str:
        if not self.kind:
            return ""
        label = "your interest" if self.kind == "interest" else "your starred paper"
        return f"matches {label} “{self.what}” (similarity {self.score:.2f})"


class Affinity:
    """Scores paper vectors against the reader's interests and stars."""

    def __init__(self, anchors: np.ndarray, kinds: list[str], names: list[str]) -> None:
        self.anchors = _unit(anchors)
        self.kinds = kinds
        self.names = names
        self.weights = np.array([STAR_WEIGHT if k == "star" else 1.0 for k in kinds], dtype=np.float32)

    @classmethod
    def for_index(cls, index: Index, reader: Reader | None = None) -> Affinity | None:
        """The reader's affinity from the data dir (None when they set no interests and no stars)."""
        reader = reader if reader is not None else ReaderStore(index.config.data_dir).load()
        if reader.empty:
            return None
        rows: list[np.ndarray] = []
        kinds: list[str] = []
        names: list[str] = []
        if reader.interests:
            rows.extend(index.embedder.embed(list(reader.interests)))
            kinds += ["interest"] * len(reader.interests)
            names += list(reader.interests)
        if reader.stars:
            starred = index.catalog.get_many(reader.stars)
            stored = index.vectors.get_vectors([chunk_id(pid, 0) for pid in starred])
            for pid, paper in starred.items():
                vec = stored.get(chunk_id(pid, 0))
                if vec is not None:
                    rows.append(np.asarray(vec, dtype=np.float32))
                    kinds.append("star")
                    names.append(paper.title)
        if not rows:
            return None
        return cls(np.stack(rows).astype(np.float32), kinds, names)

    def score(self, vectors: np.ndarray) -> list[Match]:
        """One :class:`Match` per row of ``vectors`` (any scale; normalised here)."""
        if len(vectors) == 0:
            return []
        sims = (_unit(np.asarray(vectors, dtype=np.float32)) @ self.anchors.T) * self.weights
        best = sims.argmax(axis=1)
        top = sims[np.arange(len(best)), best]
        return [Match(float(s), self.kinds[b], self.names[b]) for s, b in zip(top, best, strict=True)]

    def score_papers(self, index: Index, papers: Sequence[Paper]) -> list[Match]:
        """Scores for catalog papers, from their stored vectors (embedded now when missing)."""
        if not papers:
            return []
        ids = [chunk_id(p.id, 0) for p in papers]
        stored = index.vectors.get_vectors(ids)
        missing = [p for p, cid in zip(papers, ids, strict=True) if cid not in stored]
        if missing:
            fresh = index.embedder.embed([f"{p.title}\n\n{p.abstract}" for p in missing])
            stored.update({chunk_id(p.id, 0): v for p, v in zip(missing, fresh, strict=True)})
        return self.score(np.stack([np.asarray(stored[cid], dtype=np.float32) for cid in ids]))


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)
