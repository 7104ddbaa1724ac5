"""arXiv API responses (Atom 1.0 feeds), 2016 and 2026 formats alike.

Parsed with the stdlib ``xml.etree.ElementTree``: the responses come from arXiv
or from our own recordings, and Python's expat (2.4+) already refuses
entity-expansion bombs and never fetches external entities. As a cheap extra
guard a feed with a ``<!DOCTYPE`` is rejected outright: arXiv never sends one.
That is why defusedxml is not a dependency.

Listing dates: the API has no announcement date (the day a paper appeared in the
daily listing), only ``published`` (first version submitted) and ``updated``. The
announcement usually follows submission by 0-3 days, so ``published`` is the
closest date available and is used as the single listing date; a later sighting
of the same paper on a real listing adds its true listing date on merge.

arXiv reports API errors as a feed with one entry whose id points at
``/api/errors`` (e.g. ``id_list=abc``); that becomes a SourceError rather than a
paper called "Error".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date

from store.errors import SourceError
from store.papers import Paper, arxiv_version, normalize_arxiv_id, paper_id_for
from store.text import (
    check_abstract,
    location_for,
    normalize_text,
    normalize_title,
    parse_iso_date,
)

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ARXIV_ABS_URL = "https://arxiv.org/abs/"
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


@dataclass(frozen=True)
class AtomPage:
    """One page of API results plus the paging numbers the fetcher needs to ask for the next."""

    papers: list[Paper]
    total_results: int
    start_index: int
    items_per_page: int


def repair_mojibake(body: str) -> str:
    """Undo UTF-8 bytes that were decoded as Latin-1 (``RamÃ­rez`` -> ``Ramírez``).

    HTTP clients that fall back to ISO-8859-1 for ``application/atom+xml`` without a
    charset produce exactly this; the recorded ``{url, status_code, body}`` fixtures
    have it. The round trip only succeeds when every non-ASCII character is such a
    byte and the bytes form valid UTF-8, so correctly decoded text is left alone.
    """
    if body.isascii():
        return body
    try:
        return body.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return body


def _parse_xml(body: str | bytes, where: str) -> ET.Element:
    """Parse the document, turning expat errors into a SourceError with the line number."""
    head = body[:4096]
    if _DOCTYPE.search(head if isinstance(head, bytes) else head.encode("utf-8", "replace")):
        raise SourceError(where, "XML with a DOCTYPE is not accepted (arXiv never sends one)")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise SourceError(
            f"{where}:{line}", f"malformed XML: {reason} (column {column + 1})"
        ) from None


def _text(element: ET.Element | None) -> str:
    return element.text or "" if element is not None else ""


def _int(feed: ET.Element, tag: str, default: int, where: str) -> int:
    raw = _text(feed.find(OPENSEARCH + tag)).strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SourceError(f"{where}:opensearch:{tag}", f"{raw[:30]!r} is not a number") from None


def _check_api_error(entry: ET.Element, where: str) -> None:
    """An entry with an ``/api/errors`` id is arXiv's way of answering 400."""
    entry_id = _text(entry.find(ATOM + "id"))
    if "/api/errors" in entry_id:
        detail = normalize_text(_text(entry.find(ATOM + "summary"))) or entry_id
        raise SourceError(where, f"arXiv API error: {detail}")


def _categories(entry: ET.Element) -> tuple[str, ...]:
    """Primary category first, then the others, without repeats."""
    terms = [el.get("term") for el in entry.findall(ARXIV + "primary_category")]
    terms += [el.get("term") for el in entry.findall(ATOM + "category")]
    return tuple(dict.fromkeys(t.strip() for t in terms if t and t.strip()))


def _entry_date(entry: ET.Element, where: str) -> date | None:
    for tag in ("published", "updated"):
        raw = _text(entry.find(ATOM + tag)).strip()
        if raw:
            return parse_iso_date(raw, f"{where}.{tag}")
    return None


def parse_entry(entry: ET.Element, *, source: str, where: str) -> Paper:
    """One ``<entry>`` to a Paper; ``where`` is e.g. ``feed.xml:entry[3]``."""
    raw_id = _text(entry.find(ATOM + "id")).strip()
    arxiv_id = normalize_arxiv_id(raw_id)
    if not arxiv_id:
        raise SourceError(f"{where}.id", f"{raw_id[:80]!r} is not an arXiv id")
    title = normalize_title(_text(entry.find(ATOM + "title")))
    if not title:
        raise SourceError(f"{where}.title", "missing")
    abstract = normalize_text(_text(entry.find(ATOM + "summary")))
    if not abstract:
        raise SourceError(f"{where}.summary", "missing")
    check_abstract(abstract, f"{where}.summary")
    authors = tuple(
        normalize_title(_text(a.find(ATOM + "name")))
        for a in entry.findall(ATOM + "author")
        if _text(a.find(ATOM + "name")).strip()
    )
    published = _entry_date(entry, where)
    return Paper(
        id=paper_id_for(title, arxiv_id),
        title=title,
        abstract=abstract,
        authors=authors,
        published=published,
        listing_dates=(published,) if published else (),
        sources=(source,),
        # Version-less, so the link shows the latest version, like the record id.
        url=ARXIV_ABS_URL + arxiv_id,
        arxiv_id=arxiv_id,
        categories=_categories(entry),
        version=arxiv_version(raw_id),
    )


def parse_atom(body: str | bytes, *, source: str, origin: str | None = None) -> AtomPage:
    """Parse one arXiv API response into its papers and paging numbers.

    ``origin`` names the file in errors (defaults to ``source``). An API error feed
    raises ``SourceError(source, "arXiv API error: ...")``; an empty feed is a page
    with no papers; malformed XML raises with the line number.
    """
    where = location_for(source, origin)
    if isinstance(body, str):
        body = repair_mojibake(body)
    feed = _parse_xml(body, where)
    if feed.tag != ATOM + "feed":
        raise SourceError(where, f"not an Atom feed (root element is <{feed.tag}>)")
    entries = feed.findall(ATOM + "entry")
    for entry in entries:
        _check_api_error(entry, where)
    papers = [
        parse_entry(entry, source=source, where=f"{where}:entry[{i}]")
        for i, entry in enumerate(entries)
    ]
    return AtomPage(
        papers=papers,
        total_results=_int(feed, "totalResults", len(papers), where),
        start_index=_int(feed, "startIndex", 0, where),
        items_per_page=_int(feed, "itemsPerPage", len(papers), where),
    )
