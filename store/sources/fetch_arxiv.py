"""Live fetcher for the arXiv API (Atom feeds), by category and date range or by id.

arXiv's API pages with ``start``/``max_results`` and reports ``totalResults``;
it asks clients to wait three seconds between calls (``HttpConfig.min_interval_s``
defaults to that). Results are sorted newest first, so papers submitted while a
crawl runs shift later pages by a few places: ids already yielded are dropped
rather than stored twice. A bad query does not fail with a plain status: arXiv
answers HTTP 400 with an Atom feed whose single entry explains the error, and
that explanation is what the user sees.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime

from store.config import HttpConfig
from store.errors import FetchError, SourceError
from store.papers import Paper
from store.scrub import server_message
from store.sources.arxiv_atom import AtomPage, parse_atom
from store.sources.http import PoliteClient, open_client, safe_url

log = logging.getLogger(__name__)

SOURCE = "arxiv-api"
#: arXiv refuses pages larger than this.
MAX_PAGE_SIZE = 2000
#: ``cs.CL``, ``math.AG``, ``astro-ph``, ``astro-ph.CO``, ``cond-mat.mes-hall``, ``q-bio.NC``.
_CATEGORY = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.(?:[A-Z]{2}|[a-z]+(?:-[a-z]+)*))?$")
_ATOM = "{http://www.w3.org/2005/Atom}"


def validate_category(category: str) -> str:
    """Return ``category`` if it has arXiv's shape, else raise a ``ValueError`` saying so.

    The category goes straight into a search query, so a typo like ``cs CL`` or
    ``cs.CL OR x`` would otherwise silently search for something else.
    """
    if not isinstance(category, str) or not _CATEGORY.fullmatch(category):
        raise ValueError(f"arXiv category {category!r} is not of the form archive.SUBJECT "
                         "(e.g. cs.CL, math.AG) or archive (e.g. astro-ph, hep-th)")
    return category


def search_query(category: str, since: date, until: date) -> str:
    """The arXiv ``search_query`` for one category submitted between two days, both included."""
    return (f"cat:{validate_category(category)} AND submittedDate:"
            f"[{since:%Y%m%d}0000 TO {until:%Y%m%d}2359]")


def fetch_arxiv(
    config: HttpConfig,
    *,
    category: str,
    since: date,
    until: date | None = None,
    page_size: int = 100,
    max_results: int | None = None,
    client: PoliteClient | None = None,
) -> Iterator[list[Paper]]:
    """Yield one list of papers per page, newest submissions first.

    Stops when ``totalResults`` is reached, when a page comes back empty, or once
    ``max_results`` papers have been yielded. ``until`` defaults to today (UTC).
    Raises ``ValueError`` for a bad category or range before any request is sent,
    ``FetchError`` when arXiv is unreachable or answers an API error.
    """
    until = until or datetime.now(UTC).date()
    if since > until:
        raise ValueError(f"since ({since.isoformat()}) is after until ({until.isoformat()})")
    _check_sizes(page_size, max_results)
    query = search_query(category, since, until)
    with open_client(config, client) as http:
        yield from _paginate(http, config.arxiv_url, query, page_size, max_results)


def _check_sizes(page_size: int, max_results: int | None) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    if max_results is not None and max_results < 0:
        raise ValueError(f"max_results must be >= 0 or None, not {max_results}")


def _paginate(http: PoliteClient, url: str, query: str, page_size: int,
              max_results: int | None) -> Iterator[list[Paper]]:
    """Walk the pages of one query, advancing ``start`` by what each page actually held."""
    start, yielded = 0, 0
    seen: set[str] = set()
    while max_results is None or yielded < max_results:
        want = page_size if max_results is None else min(page_size, max_results - yielded)
        page = _get_page(http, url, {
            "search_query": query, "start": start, "max_results": want,
            "sortBy": "submittedDate", "sortOrder": "descending",
        })
        if not page.papers:
            if start < page.total_results:
                log.warning("arXiv returned an empty page at start=%d of %d results; stopping",
                            start, page.total_results)
            return
        start += len(page.papers)
        left = None if max_results is None else max_results - yielded
        fresh = _unseen(page.papers, seen, limit=left)
        if fresh:
            yielded += len(fresh)
            yield fresh
        if start >= page.total_results:
            return


def _unseen(papers: list[Paper], seen: set[str], limit: int | None = None) -> list[Paper]:
    """Up to ``limit`` papers whose id has not been yielded yet (pages shift as papers arrive)."""
    fresh: list[Paper] = []
    for paper in papers:
        if limit is not None and len(fresh) >= limit:
            break
        if paper.id in seen:
            log.info("dropping %s: already fetched on an earlier page", paper.id)
            continue
        seen.add(paper.id)
        fresh.append(paper)
    return fresh


def fetch_arxiv_ids(
    config: HttpConfig,
    ids: Sequence[str],
    *,
    batch_size: int = 100,
    client: PoliteClient | None = None,
) -> list[Paper]:
    """Fetch papers by arXiv id (``2104.12255``, ``2104.12255v1``, ``astro-ph/0601001``).

    Ids go in batches of ``batch_size`` per request to keep URLs short. Unknown ids
    are simply absent from the result; a malformed id makes arXiv answer an error,
    raised as ``FetchError("arXiv API error: incorrect id format for abc")``.
    """
    wanted = [_clean_id(raw) for raw in ids]
    if not 1 <= batch_size <= MAX_PAGE_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_PAGE_SIZE}, not {batch_size}")
    papers: list[Paper] = []
    with open_client(config, client) as http:
        for first in range(0, len(wanted), batch_size):
            batch = wanted[first:first + batch_size]
            page = _get_page(http, config.arxiv_url, {
                "id_list": ",".join(batch), "start": 0, "max_results": len(batch),
            })
            papers.extend(page.papers)
    return papers


def _clean_id(raw: str) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text or "," in text or any(ch.isspace() for ch in text):
        raise ValueError(f"{raw!r} is not an arXiv id (expected e.g. 2104.12255 or hep-th/9901001)")
    return text


def _get_page(http: PoliteClient, url: str, params: Mapping[str, object]) -> AtomPage:
    """One API call parsed into a page; arXiv's own error message becomes a ``FetchError``."""
    response = http.get(url, params=params)
    if response.status_code != 200:
        message = arxiv_error_message(response.content)
        if message:
            raise FetchError(f"arXiv API error: {message}")
        reason = server_message(response.content)
        raise FetchError(f"GET {safe_url(response.request.url)} answered HTTP "
                         f"{response.status_code}" + (f": {reason}" if reason else ""))
    try:
        return parse_atom(response.content, source=SOURCE,
                          origin=f"GET {safe_url(response.request.url)}")
    except SourceError:
        message = arxiv_error_message(response.content)
        if message:
            raise FetchError(f"arXiv API error: {message}") from None
        raise


def arxiv_error_message(body: bytes | str) -> str | None:
    """The text of an arXiv error feed (its one entry links to ``/api/errors``), or None.

    Read here, not only in the parser, so an error still reads as arXiv's own words
    whatever the status code and however the parser chooses to report it.
    """
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for entry in root.iter(f"{_ATOM}entry"):
        entry_id = entry.findtext(f"{_ATOM}id") or ""
        if "/api/errors" in entry_id:
            summary = entry.findtext(f"{_ATOM}summary") or entry_id.rpartition("#")[2]
            return " ".join(summary.split())
    return None

