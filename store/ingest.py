"""Ingest: files or fetched papers into the index, idempotent and crash-safe.

Order of writes for each batch of papers, chosen so that a kill at any moment leaves
an index that answers queries and a re-run that completes it without duplicates:

1. chunk and embed the papers whose text changed;
2. upsert their vectors into Chroma under stable chunk ids (a repeat is a no-op),
   then delete the vectors of chunks that no longer exist;
3. commit the records and chunk rows to the catalog in one transaction.

The catalog only ever describes papers whose vectors are written, and BM25 is
rebuilt from the catalog at the end (or lazily at the next query after a crash).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from store.chunking import Chunk, chunk_paper
from store.errors import SourceError
from store.index import Index
from store.papers import Paper, dedupe, merge_papers, title_key

SUFFIXES = (".txt", ".json", ".jsonl", ".ndjson", ".csv", ".xml", ".atom")
BATCH_PAPERS = 256


@dataclass
class IngestReport:
    """What a run did, for the summary table and ``--json``."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks_written: int = 0
    files_ok: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    title_changes: list[str] = field(default_factory=list)  # one warning per id that gained a title
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)

    def to_json(self) -> dict[str, object]:
        return {
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "chunks_written": self.chunks_written,
            "files": self.files_ok,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "title_changes": self.title_changes,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Progress:
    """A progress tick: ``stage`` is 'parse', 'embed' or 'index'; counts are cumulative."""

    stage: str
    done: int
    total: int
    chunks: int = 0


ProgressFn = Callable[[Progress], None]


def _noop(_: Progress) -> None:
    return None


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus every known file type under named directories."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not p.name.startswith(".")
                and p.name.lower().removesuffix(".gz").endswith(SUFFIXES)
                and p.name.lower() != "readme.md"
            )
        else:
            out.append(path)
    return out


def load_files(
    paths: Iterable[Path],
    report: IngestReport,
    *,
    year: int | None = None,
    today: date | None = None,
    on_progress: ProgressFn = _noop,
) -> list[Paper]:
    """Parse every file; a bad file is skipped with its one-line reason, the others go on."""
    from store.sources.files import load_file

    files = expand_paths(paths)
    papers: list[Paper] = []
    for i, path in enumerate(files, 1):
        if not path.exists():
            report.skipped.append((str(path), f"{path}: no such file"))
        else:
            try:
                papers.extend(load_file(path, year=year, today=today))
                report.files_ok.append(str(path))
            except SourceError as exc:
                report.skipped.append((str(path), str(exc)))
            except OSError as exc:
                report.skipped.append((str(path), f"{path}: {exc.strerror or exc}"))
        on_progress(Progress("parse", i, len(files)))
    return papers


@dataclass
class _Planned:
    paper: Paper
    chunks: list[Chunk] | None  # None: text unchanged, keep stored chunks
    stale_chunk_ids: list[str]
    replaced_id: str | None  # a title-hash record superseded by an arXiv id


def _titles(paper: Paper) -> set[str]:
    return {title_key(t) for t in (*paper.previous_titles, paper.title)}


def _note_title_change(report: IngestReport, stored: Paper | None, merged: Paper) -> None:
    """Warn (once per id and new title) when a sighting brought a title this record did not have."""
    if not merged.previous_titles or (stored is not None and _titles(stored) == _titles(merged)):
        return
    report.title_changes.append(
        f"{merged.id} was seen again with a different title: {merged.previous_titles[-1]!r} and now "
        f"{merged.title!r} (both kept in its record)"
    )


def _plan(index: Index, paper: Paper, report: IngestReport) -> _Planned | None:
    stored = index.catalog.find_stored(paper)
    cfg = index.config
    if stored is None:
        _note_title_change(report, None, paper)
        report.new += 1
        return _Planned(paper, chunk_paper(paper, size=cfg.chunk_size, overlap=cfg.chunk_overlap), [], None)
    merged = merge_papers(stored.paper, paper)
    _note_title_change(report, stored.paper, merged)
    if merged.content_hash == stored.content_hash and merged.id == stored.paper.id:
        report.unchanged += 1
        return None
    report.updated += 1
    moved = merged.id != stored.paper.id
    if merged.text_hash == stored.text_hash and not moved:
        return _Planned(merged, None, [], None)
    chunks = chunk_paper(merged, size=cfg.chunk_size, overlap=cfg.chunk_overlap)
    keep = {c.id for c in chunks}
    stale = [cid for cid in stored.chunk_ids if cid not in keep]
    return _Planned(merged, chunks, stale, stored.paper.id if moved else None)


def _write_batch(index: Index, planned: list[_Planned], on_chunks: Callable[[int], None]) -> int:
    to_embed = [c for p in planned if p.chunks for c in p.chunks]
    if to_embed:
        vectors = index.embedder.embed([c.text for c in to_embed], on_batch=on_chunks)
        titles = {p.paper.id: p.paper.title for p in planned}
        index.vectors.upsert(
            [c.id for c in to_embed],
            vectors,
            [c.text for c in to_embed],
            [{"paper_id": c.paper_id, "seq": c.seq, "title": titles[c.paper_id][:500]} for c in to_embed],
        )
    stale = [cid for p in planned for cid in p.stale_chunk_ids]
    if stale:
        index.vectors.delete(stale)
    with index.catalog.transaction() as db:
        for p in planned:
            if p.replaced_id:
                index.catalog.remove(db, p.replaced_id)
            index.catalog.put(db, p.paper, p.chunks)
    return len(to_embed)


def ingest_papers(
    index: Index,
    papers: list[Paper],
    report: IngestReport | None = None,
    *,
    on_progress: ProgressFn = _noop,
) -> IngestReport:
    """Upsert ``papers`` (duplicates merged) into the index and bring BM25 in step."""
    report = report or IngestReport()
    started = time.perf_counter()
    unique = dedupe(papers)
    total = len(unique)
    chunks_done = 0

    def tick_chunks(n: int) -> None:
        on_progress(Progress("embed", done, total, chunks_done + n))

    done = 0
    for start in range(0, total, BATCH_PAPERS):
        batch = unique[start : start + BATCH_PAPERS]
        planned = [p for p in (_plan(index, paper, report) for paper in batch) if p is not None]
        if planned:
            chunks_done += _write_batch(index, planned, tick_chunks)
        done += len(batch)
        on_progress(Progress("embed", done, total, chunks_done))
    report.chunks_written += chunks_done
    on_progress(Progress("index", 0, 1, chunks_done))
    index.bm25()  # rebuild now, not at the first query
    on_progress(Progress("index", 1, 1, chunks_done))
    report.seconds += time.perf_counter() - started
    return report


def ingest_paths(
    index: Index,
    paths: Iterable[Path],
    *,
    year: int | None = None,
    today: date | None = None,
    on_progress: ProgressFn = _noop,
) -> IngestReport:
    report = IngestReport()
    started = time.perf_counter()
    papers = load_files(paths, report, year=year, today=today, on_progress=on_progress)
    report.seconds = time.perf_counter() - started
    return ingest_papers(index, papers, report, on_progress=on_progress)
