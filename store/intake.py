"""The one way papers enter the index, whoever asks: the CLI (`ingest`, `fetch`), the TUI's
background ingest (F5) and the brief's fetch-if-empty.

Parsing needs no lock; writing takes the data dir's writer lock (``store.locks``) so that two
writers never interleave, and says who holds it through ``on_wait`` while it waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from store.index import Index
from store.ingest import IngestReport, ProgressFn, _noop, ingest_papers, load_files
from store.locks import writer_lock
from store.papers import Paper


def add_papers(
    index: Index,
    papers: list[Paper],
    *,
    what: str,
    report: IngestReport | None = None,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
    on_progress: ProgressFn = _noop,
    lexical_only: bool = False,
) -> IngestReport:
    """Upsert ``papers`` under the writer lock; ``what`` names this writer in others' messages.

    ``lexical_only`` writes the catalog and BM25 and leaves the vectors to ``index embed``.
    """
    with writer_lock(index.config.index_dir, what, wait=wait, on_wait=on_wait):
        return ingest_papers(
            index, papers, report or IngestReport(), on_progress=on_progress, lexical_only=lexical_only
        )


def add_files(
    index: Index,
    paths: Iterable[Path],
    *,
    what: str = "ingest",
    year: int | None = None,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
    on_progress: ProgressFn = _noop,
    lexical_only: bool = False,
) -> IngestReport:
    """Parse ``paths`` (a bad file is skipped with its reason in the report), then :func:`add_papers`."""
    report = IngestReport()
    papers = load_files(paths, report, year=year, on_progress=on_progress)
    return add_papers(
        index, papers, what=what, report=report, wait=wait, on_wait=on_wait, on_progress=on_progress,
        lexical_only=lexical_only,
    )
