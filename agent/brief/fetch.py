"""Filling an empty window from Hugging Face Daily Papers before giving up on it.

Offline is an expected answer here: the failure is returned as a source error
(for the run-health line and the one-line error), not raised from the middle of
a fetch, and the HTTP client's per-retry warnings are quietened because they
would only repeat it (they still show with ``--verbose``).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import replace
from datetime import date

from agent.brief.types import BriefEvent, Progressed, Stage
from agent.brief.weeks import Window
from agent.errors import UserError
from store.index import Index
from store.papers import Paper

INGEST_HINT = "paperbrief ingest PATH..."


class BriefError(UserError):
    """A brief that cannot be made (no papers, offline): one line, exit code 2."""

    title = "No brief for that week"
    hint = "pick another window, or ingest its papers first"


def fetch_window(
    index: Index, window: Window, today: date
) -> Generator[BriefEvent, None, tuple[list[Paper], list[str]]]:
    """Fetch and ingest the window's HF listings; returns the papers found and the source errors."""
    from store.errors import FetchError, SourceError
    from store.intake import add_papers
    from store.sources.fetch_hf import days_between, fetch_hf_days

    try:
        days = days_between(window.since, min(window.until, today))
    except ValueError as exc:  # a window longer than a fetch may span
        raise BriefError(f"no papers listed in {window.label} in the index, and {exc}") from None
    found: list[Paper] = []
    errors: list[str] = []
    yield Stage("fetch", "Fetching from Hugging Face", len(days))
    # offline is an expected answer here, said in one line at the end: the per-retry lines would
    # only repeat it, so they go out at INFO (shown with --verbose)
    config = replace(index.config.http, retry_log_level=logging.INFO)
    try:
        for _day, papers in fetch_hf_days(config, days):
            found.extend(papers)
            yield Progressed("fetch", 1, f"{len(found):,} papers")
    except (FetchError, SourceError) as exc:
        reason = " ".join(str(exc).split())
        errors.append(reason if len(reason) <= 120 else reason[:119] + "…")
    if found:
        yield Stage("ingest", "Indexing fetched papers", len(found))
        # the same ingest service (and writer lock) as `paperbrief ingest`: cron + a manual ingest
        add_papers(index, found, what="brief fetch", on_wait=logging.getLogger(__name__).warning)
        yield Progressed("ingest", len(found))
    return found, errors
