"""Ingest: files or fetched papers into the index, idempotent and crash-safe.

Lexical first: a paper is searchable by BM25 as soon as it is in the catalog, and its
dense vectors follow. Order of writes, chosen so that a kill at any moment leaves an
index that answers queries and a re-run that completes it without duplicates:

1. per batch of papers, commit the records and chunk rows (marked "not embedded") to
   the catalog in one transaction;
2. bring BM25 up to date (only the new chunks are indexed, see ``store.bm25``);
3. unless ``lexical_only``: delete the vectors of chunks that no longer exist, then
   embed pending chunks in batches, upsert them into Chroma under stable chunk ids (a
   repeat is a no-op) and mark them embedded.

Step 3 is :func:`embed_pending`, which ``paperbrief index embed`` also runs: it always
resumes where the last run stopped. Search uses whatever vectors exist
(``Catalog.dense_coverage``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

from store.catalog import StoredPaper
from store.chunking import Chunk, chunk_paper
from store.errors import SourceError
from store.index import Index
from store.papers import Paper, dedupe, merge_papers, title_key

SUFFIXES = (".txt", ".json", ".jsonl", ".ndjson", ".csv", ".xml", ".atom")
BATCH_PAPERS = 256
EMBED_BATCH = 256  # chunks embedded, upserted and marked per step of embed_pending


@dataclass
class IngestReport:
    """What a run did, for the summary table and ``--json``."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks_written: int = 0
    chunks_pending: int = 0
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
            "chunks_pending": self.chunks_pending,
            "files": self.files_ok,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "title_changes": self.title_changes,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Progress:
    """A progress tick; counts are cumulative.

    ``stage`` is 'parse' (files), 'catalog' (papers written, searchable lexically),
    'index' (BM25) or 'embed' (``done`` of ``total`` pending chunks have vectors).
    """

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
    replaced_id: str | None  # a title-hash record superseded by an arXiv id
    new: bool = False  # nothing stored under this id or title: no old rows to clear


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


def _plan(index: Index, paper: Paper, stored: StoredPaper | None, report: IngestReport) -> _Planned | None:
    """What to write for ``paper`` given its ``stored`` record (``Catalog.find_stored``), if anything."""
    cfg = index.config
    if stored is None:
        _note_title_change(report, None, paper)
        report.new += 1
        return _Planned(paper, chunk_paper(paper, size=cfg.chunk_size, overlap=cfg.chunk_overlap), None, new=True)
    merged = merge_papers(stored.paper, paper)
    _note_title_change(report, stored.paper, merged)
    if merged.content_hash == stored.content_hash and merged.id == stored.paper.id:
        report.unchanged += 1
        return None
    report.updated += 1
    moved = merged.id != stored.paper.id
    if merged.text_hash == stored.text_hash and not moved:
        return _Planned(merged, None, None)
    chunks = chunk_paper(merged, size=cfg.chunk_size, overlap=cfg.chunk_overlap)
    return _Planned(merged, chunks, stored.paper.id if moved else None)


def _write_batch(index: Index, planned: list[_Planned]) -> int:
    """Records and chunk rows in one transaction; old chunks' vectors are queued for deletion."""
    with index.catalog.transaction() as db:
        for p in planned:
            if p.replaced_id:
                index.catalog.remove(db, p.replaced_id)
        index.catalog.put_many(db, [(p.paper, p.chunks, p.new) for p in planned])
    return sum(len(p.chunks) for p in planned if p.chunks)


def embed_pending(index: Index, *, on_progress: ProgressFn = _noop, limit: int | None = None) -> int:
    """Give every chunk without a vector its vector (at most ``limit``); returns how many were written.

    Resumable by construction: a chunk is marked embedded only after its vector is in
    Chroma, and upserts under stable ids make a repeat harmless.
    """
    catalog = index.catalog
    stale = catalog.stale_vector_ids()
    if stale:
        index.vectors.delete(stale)
        catalog.clear_stale_vectors(stale)
    pending = catalog.count_pending()
    total = pending if limit is None else min(limit, pending)
    done = 0
    on_progress(Progress("embed", 0, total, 0))
    while done < total:
        rows = catalog.pending_chunks(min(EMBED_BATCH, total - done))
        if not rows:
            break
        texts = [r[3] for r in rows]
        base = done

        def tick(n: int, base: int = base) -> None:
            on_progress(Progress("embed", base + n, total, base + n))

        vectors = index.embedder.embed(texts, on_batch=tick)
        titles = catalog.titles(r[1] for r in rows)
        ids = [r[0] for r in rows]
        index.vectors.upsert(
            ids,
            vectors,
            texts,
            [{"paper_id": pid, "seq": seq, "title": titles.get(pid, "")[:500]} for _, pid, seq, _ in rows],
        )
        catalog.mark_embedded(ids)
        done += len(rows)
        on_progress(Progress("embed", done, total, done))
    if done and index.config.retrieval.dense_snapshot:
        index.dense()  # Chroma is open now: the next search reads the new vectors without it
    return done


def ingest_papers(
    index: Index,
    papers: list[Paper],
    report: IngestReport | None = None,
    *,
    on_progress: ProgressFn = _noop,
    lexical_only: bool = False,
) -> IngestReport:
    """Upsert ``papers`` (duplicates merged): catalog and BM25 first, then (unless ``lexical_only``) vectors."""
    report = report or IngestReport()
    started = time.perf_counter()
    unique = dedupe(papers)
    total = len(unique)
    chunks_new = 0
    done = 0
    for start in range(0, total, BATCH_PAPERS):
        batch = unique[start : start + BATCH_PAPERS]
        stored = index.catalog.find_stored_many(batch)
        planned = [p for p in map(partial(_plan, index, report=report), batch, stored) if p is not None]
        if planned:
            chunks_new += _write_batch(index, planned)
        done += len(batch)
        on_progress(Progress("catalog", done, total, chunks_new))
    on_progress(Progress("index", 0, 1, chunks_new))
    index.bm25()  # bring BM25 up to date now, not at the first query: papers are searchable from here
    on_progress(Progress("index", 1, 1, chunks_new))
    if not lexical_only:
        report.chunks_written += embed_pending(index, on_progress=on_progress)
    report.chunks_pending = index.catalog.count_pending()
    report.seconds += time.perf_counter() - started
    return report


def ingest_paths(
    index: Index,
    paths: Iterable[Path],
    *,
    year: int | None = None,
    today: date | None = None,
    on_progress: ProgressFn = _noop,
    lexical_only: bool = False,
) -> IngestReport:
    report = IngestReport()
    started = time.perf_counter()
    papers = load_files(paths, report, year=year, today=today, on_progress=on_progress)
    report.seconds = time.perf_counter() - started
    return ingest_papers(index, papers, report, on_progress=on_progress, lexical_only=lexical_only)
