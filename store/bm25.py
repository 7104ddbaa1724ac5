"""Lexical search over the same chunks as the dense index: bm25s segments with one global IDF.

bm25s has no incremental add, and rebuilding 100k chunks for every day of new papers
costs the corpus, not the day. So the index is a short list of immutable *segments*,
each a bm25s index over the chunks that a range of catalog generations added
(``lo < added <= hi``). Bringing it in step with the catalog:

* chunks added since the saved generation become one new segment (cost ∝ the day);
* chunks deleted or replaced since are masked out of their old segment (a count
  per segment finds which ones changed, so untouched segments cost one query);
* more than ``MAX_SEGMENTS`` segments, or a segment mostly masked, are merged or
  rebuilt, cheapest first, so queries stay fast and the work stays amortised.

Scores are made comparable across segments by swapping each segment's baked-in IDF
for the IDF over all segments (bm25s stores ``idf * tf-part`` per posting, and the
number of postings of a term is its document frequency), so a small new segment ranks
like the rest. Segments are written to fresh folders and named by a manifest that is
replaced atomically, under a file lock; anything unreadable is simply rebuilt from the
catalog, which is what keeps BM25 in step with Chroma even after a crash. The arrays
are memory-mapped, so a search process loads a 75k-paper index in milliseconds.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock

from store.bm25_tokens import tokenize, tokenize_ids
from store.catalog import Catalog

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
_MANIFEST = "manifest.json"
MAX_SEGMENTS = 8
_MASKED_REBUILD = 0.3  # rebuild a segment once this share of its rows is gone


def _idf(df: np.ndarray | float, n: int) -> np.ndarray:
    """bm25s' default (Lucene) IDF."""
    return np.log1p((n - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class Postings:
    """What a query reads of a saved bm25s index: the vocabulary and the CSC score arrays.

    Read from bm25s' own files (memory-mapped) rather than through ``bm25s.BM25.load``:
    importing bm25s, and scipy behind it, would cost every search process about 0.15 s.
    """

    vocab: dict[str, int]
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray

    @classmethod
    def read(cls, path: Path) -> Postings:
        vocab = json.loads((path / "vocab.index.json").read_text(encoding="utf-8"))
        arrays = (np.load(path / f"{n}.csc.index.npy", mmap_mode="r") for n in ("data", "indices", "indptr"))
        data, indices, indptr = arrays
        return cls(vocab, data, indices, indptr)


@dataclass
class Segment:
    """One immutable bm25s index over the chunks added in generations ``(lo, hi]``."""

    name: str
    lo: int
    hi: int
    terms: Postings | None  # None for an empty segment
    chunk_ids: np.ndarray  # fixed-width unicode, row order
    paper_ids: np.ndarray
    masked: set[int]  # rows deleted or replaced since the segment was built
    by_paper: tuple[np.ndarray, np.ndarray] | None = None  # (row order sorting paper ids, those ids sorted)

    @property
    def rows(self) -> int:
        return len(self.chunk_ids)

    @property
    def live(self) -> int:
        return self.rows - len(self.masked)

    def rows_of(self, wanted: np.ndarray) -> np.ndarray:
        """Rows (sorted, masked ones left out) of the papers in ``wanted``, a sorted id array.

        A binary search per wanted paper in the segment's paper-sorted order (saved at build,
        memory-mapped), so a week's thousand papers cost a thousand lookups, not a pass over 75k.
        """
        if self.by_paper is None:  # a segment built before the order was saved: sort once per process
            order = np.argsort(np.asarray(self.paper_ids), kind="stable")
            self.by_paper = (order, np.asarray(self.paper_ids)[order])
        order, sorted_ids = self.by_paper
        lo = np.searchsorted(sorted_ids, wanted, side="left")
        counts = np.searchsorted(sorted_ids, wanted, side="right") - lo
        total = int(counts.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        rows = np.sort(np.asarray(order)[starts + np.arange(total)].astype(np.int64))
        if self.masked:
            rows = rows[~np.isin(rows, np.fromiter(self.masked, dtype=np.int64))]
        return rows

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, stored scores) of the chunks containing ``term``."""
        if self.terms is None:
            return None
        col = self.terms.vocab.get(term)
        if col is None:
            return None
        start, end = int(self.terms.indptr[col]), int(self.terms.indptr[col + 1])
        if start == end:
            return None
        return self.terms.indices[start:end], self.terms.data[start:end]

    @classmethod
    def build(cls, directory: Path, rows: list[tuple[str, str, str, int]], lo: int, hi: int) -> Segment:
        """Index ``rows`` (id, paper id, text, added) and save them under a fresh folder."""
        name = f"seg-{lo}-{hi}-{uuid.uuid4().hex[:8]}"
        path = directory / name
        path.mkdir(parents=True)
        terms = None
        if rows:
            import bm25s  # only to build: queries read the saved arrays (see Postings)

            retriever = bm25s.BM25()
            retriever.index(tokenize_ids([r[2] for r in rows]), show_progress=False)
            retriever.save(str(path), show_progress=False)
            terms = Postings.read(path)
        chunk_ids = np.array([r[0] for r in rows] or [""], dtype=str)[: len(rows)]
        paper_ids = np.array([r[1] for r in rows] or [""], dtype=str)[: len(rows)]
        np.save(path / "chunk_ids.npy", chunk_ids)
        np.save(path / "paper_ids.npy", paper_ids)
        order = np.argsort(paper_ids, kind="stable").astype(np.int32)
        np.save(path / "paper_order.npy", order)
        np.save(path / "paper_sorted.npy", paper_ids[order])
        return cls(name, lo, hi, terms, chunk_ids, paper_ids, set(), (order, paper_ids[order]))

    @classmethod
    def load(cls, directory: Path, entry: dict[str, object]) -> Segment:
        name = str(entry["name"])
        path = directory / name
        chunk_ids = np.load(path / "chunk_ids.npy", mmap_mode="r")
        paper_ids = np.load(path / "paper_ids.npy", mmap_mode="r")
        terms = Postings.read(path) if len(chunk_ids) else None
        masked = {int(i) for i in entry.get("masked", [])}  # type: ignore[attr-defined]
        by_paper = None
        if (path / "paper_order.npy").exists():
            order = np.load(path / "paper_order.npy", mmap_mode="r")
            by_paper = (order, np.load(path / "paper_sorted.npy", mmap_mode="r"))
        return cls(name, int(entry["lo"]), int(entry["hi"]), terms, chunk_ids, paper_ids, masked, by_paper)  # type: ignore[call-overload]

    def entry(self) -> dict[str, object]:
        return {"name": self.name, "lo": self.lo, "hi": self.hi, "rows": self.rows, "masked": sorted(self.masked)}


@dataclass
class Bm25Index:
    """The segments in generation order, in step with the catalog's ``generation``."""

    segments: list[Segment]
    generation: int

    @property
    def size(self) -> int:
        return sum(s.live for s in self.segments)

    def chunk_ids(self) -> list[str]:
        """Every chunk id the index can return (masked rows left out), for ``index check``."""
        return [str(s.chunk_ids[i]) for s in self.segments for i in range(s.rows) if i not in s.masked]

    def top(self, query: str, n: int, allowed: Collection[str] | None = None) -> list[tuple[str, str, float]]:
        """The ``n`` best chunks as (chunk id, paper id, score), best first; only papers in ``allowed``.

        Unfiltered, work is proportional to the postings of the query's terms. With a date
        window (``allowed``) it is proportional to the window: the allowed papers' rows are
        found by binary search and each is looked up in each term's (row-sorted) postings,
        so a week's search never touches the other 74,000 papers' scores.
        """
        terms = tokenize([query])[0] if query.strip() else []
        if not terms or n <= 0:
            return []
        total = sum(s.live for s in self.segments)
        hits = [[s.postings(t) for t in terms] for s in self.segments]
        df: dict[str, int] = {}
        for seg_hits in hits:
            for t, p in zip(terms, seg_hits, strict=True):
                if p is not None:
                    df[t] = df.get(t, 0) + len(p[0])
        wanted = np.array(sorted(allowed), dtype=str) if allowed is not None else None
        values: list[np.ndarray] = []
        where: list[np.ndarray] = []
        for si, (seg, seg_hits) in enumerate(zip(self.segments, hits, strict=True)):
            if not any(p is not None for p in seg_hits):
                continue
            ratios = [
                None if p is None else float(_idf(df[t], total) / max(float(_idf(len(p[0]), seg.rows)), 1e-9))
                for t, p in zip(terms, seg_hits, strict=True)
            ]
            if wanted is None:
                rows, scores = self._score_all(seg, seg_hits, ratios)
            else:
                rows, scores = self._score_rows(seg.rows_of(wanted), seg_hits, ratios)
            values.append(scores)
            where.append((np.int64(si) << 32) | rows)
        if not values:
            return []
        flat, keys = np.concatenate(values), np.concatenate(where)
        if len(flat) > n:  # only the n best need sorting
            part = np.argpartition(-flat, n - 1)[:n]
            flat, keys = flat[part], keys[part]
        out: list[tuple[str, str, float]] = []
        for k in np.argsort(-flat, kind="stable"):
            seg, row = self.segments[int(keys[k] >> 32)], int(keys[k] & 0xFFFFFFFF)
            out.append((str(seg.chunk_ids[row]), str(seg.paper_ids[row]), float(flat[k])))
        return out

    @staticmethod
    def _score_all(
        seg: Segment, seg_hits: list[tuple[np.ndarray, np.ndarray] | None], ratios: list[float | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores) of every matched row of ``seg``: postings added into one dense array."""
        scores = np.zeros(seg.rows, dtype=np.float32)
        for p, ratio in zip(seg_hits, ratios, strict=True):
            if p is not None and ratio is not None:  # a term's postings name each row once
                scores[p[0]] += np.asarray(p[1], dtype=np.float32) * ratio
        if seg.masked:
            scores[np.fromiter(seg.masked, dtype=np.int64)] = 0.0
        rows = np.flatnonzero(scores > 0)
        return rows.astype(np.int64), scores[rows]

    @staticmethod
    def _score_rows(
        rows: np.ndarray, seg_hits: list[tuple[np.ndarray, np.ndarray] | None], ratios: list[float | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores) of the matched rows among ``rows``: a binary search per row and term."""
        scores = np.zeros(len(rows), dtype=np.float32)
        if len(rows):
            for p, ratio in zip(seg_hits, ratios, strict=True):
                if p is None or ratio is None:
                    continue
                posting_rows, stored = p
                at = np.minimum(np.searchsorted(posting_rows, rows), len(posting_rows) - 1)
                found = np.asarray(posting_rows[at]) == rows
                scores[found] += np.asarray(stored[at[found]], dtype=np.float32) * ratio
        keep = scores > 0
        return rows[keep], scores[keep]

    def scores(self, query: str) -> dict[str, float]:
        """Every matching chunk's score by chunk id (for tests and evals; search uses :meth:`top`)."""
        return {cid: s for cid, _pid, s in self.top(query, n=10**9)}


# --- persistence and refresh ---------------------------------------------------------


def _read_manifest(directory: Path) -> dict[str, object] | None:
    try:
        data = json.loads((directory / _MANIFEST).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def load(directory: Path) -> Bm25Index | None:
    """The saved index, or None when absent or unreadable (it is then rebuilt)."""
    manifest = _read_manifest(directory)
    if manifest is None:
        return None
    try:
        segments = [Segment.load(directory, e) for e in manifest["segments"]]  # type: ignore[attr-defined]
        return Bm25Index(segments, int(manifest["generation"]))  # type: ignore[call-overload]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("BM25 index at %s unusable (%s); rebuilding", directory, exc)
        return None


def _save(directory: Path, index: Bm25Index) -> None:
    manifest = {"generation": index.generation, "segments": [s.entry() for s in index.segments]}
    tmp = directory / f".{_MANIFEST}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(manifest), encoding="utf-8")
    os.replace(tmp, directory / _MANIFEST)
    keep = {s.name for s in index.segments}
    for child in directory.iterdir():  # segments no manifest names any more, and a pre-segment index
        if child.name not in keep and child.name != _MANIFEST and not child.name.endswith(".lock"):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            elif not child.name.startswith(f".{_MANIFEST}."):
                child.unlink(missing_ok=True)


def _remask(catalog: Catalog, seg: Segment) -> None:
    """Mask the rows whose chunk is gone (deleted, or replaced by a newer row) since the build."""
    if catalog.count_chunks_added_between(seg.lo, seg.hi) == seg.live:
        return
    alive = catalog.chunk_ids_added_between(seg.lo, seg.hi)
    seg.masked = {i for i in range(seg.rows) if str(seg.chunk_ids[i]) not in alive}


def _merge_plan(segments: list[Segment]) -> int | None:
    """Index of the first of two adjacent segments to merge (smallest pair), if there are too many."""
    if len(segments) <= MAX_SEGMENTS:
        return None
    sizes = [a.live + b.live for a, b in itertools.pairwise(segments)]
    return sizes.index(min(sizes))


def refresh(catalog: Catalog, directory: Path) -> Bm25Index:
    """The index matching the catalog's current generation, doing only the work that changed."""
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory / "write.lock")):
        with catalog.snapshot():
            generation = catalog.generation
            index = load(directory)
            if index is not None and index.generation == generation:
                return index
            if index is None or index.generation > generation:  # absent, broken, or another catalog's
                rows = catalog.chunks_added_after(-1)
                segments = [Segment.build(directory, rows, -1, generation)] if rows else []
            else:
                segments = index.segments
                for seg in segments:
                    _remask(catalog, seg)
                fresh = catalog.chunks_added_after(index.generation)
                if fresh:
                    segments.append(Segment.build(directory, fresh, index.generation, generation))
                segments = [
                    Segment.build(directory, catalog.chunks_added_between(s.lo, s.hi), s.lo, s.hi)
                    if s.masked and len(s.masked) > _MASKED_REBUILD * s.rows
                    else s
                    for s in segments
                    if s.live > 0
                ]
                while (at := _merge_plan(segments)) is not None:
                    a, b = segments[at], segments[at + 1]
                    merged = Segment.build(directory, catalog.chunks_added_between(a.lo, b.hi), a.lo, b.hi)
                    segments[at : at + 2] = [merged]
        index = Bm25Index(segments, generation)
        _save(directory, index)
        return index


def rebuild(catalog: Catalog, directory: Path) -> Bm25Index:
    """Build the whole index again from the catalog (``index check --repair``)."""
    (directory / _MANIFEST).unlink(missing_ok=True)
    return refresh(catalog, directory)


def load_or_build(catalog: Catalog, directory: Path) -> Bm25Index:
    """Kept for callers of the single-index API: same as :func:`refresh`."""
    return refresh(catalog, directory)


def segment_stats(index: Bm25Index) -> dict[str, int]:
    return {"segments": len(index.segments), "rows": sum(s.rows for s in index.segments), "live": index.size}

