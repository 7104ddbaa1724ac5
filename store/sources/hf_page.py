"""Hugging Face Papers listing pages saved as plain text (the seed format).

A saved page is a few header lines (``new``, ``Subscribe``...), a date line with no
year (``Mar 13``), then paragraphs separated by blank lines: title, abstract,
title, abstract... The page carries no arXiv ids, so papers are keyed by title.

Pairing is structural (a title is always followed by its abstract) with a check
on each paragraph's shape, because a naive "even paragraphs are titles" rule
silently shifts every pair after one abstract that happens to be split in two,
and then every title below it is really an abstract. Shapes, measured on both seed
pages (148 titles of at most 123 characters, none ending in a period; 148
abstracts of at least 1,396 characters, those not ending in a period end in a URL):

* title-shaped: at most 300 characters, no URL, no final period;
* abstract-shaped: anything else.

After an abstract paragraph, a title-shaped paragraph followed by an
abstract-shaped one starts the next paper; an abstract-shaped one continues the
abstract, except a short one followed by a long one (a title ending in a period).
Two title-shaped paragraphs in a row are a title and a very short abstract unless
the first visibly continues a sentence. The tests split every real abstract in
two (mid-sentence, after the first sentence, before the last) and check the
pairing does not move.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from store.errors import SourceError
from store.papers import Paper, paper_id_for
from store.text import (
    check_abstract,
    check_date,
    location_for,
    normalize_text,
    normalize_title,
)

HEADER_LINES = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "subscribe",
        "byak and the research community",
    }
)
"""Page chrome that precedes the date line; compared case-insensitively."""

MAX_TITLE_CHARS = 300
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_DATE_SHAPE = re.compile(r"^(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?$")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?;:)\]}\"'”’]$")
_YEARS_BACK = 8  # enough to reach the previous Feb 29


@dataclass(frozen=True)
class Paragraph:
    """A run of non-blank lines, normalized to one line, with the line it starts on."""

    line: int
    text: str


def split_paragraphs(text: str) -> list[Paragraph]:
    """Split on blank lines, remembering 1-based start lines for error messages."""
    paragraphs: list[Paragraph] = []
    current: list[str] = []
    start = 0
    # Not str.splitlines(): it also breaks on U+2028, form feeds and the like, which
    # would shift line numbers away from what an editor shows.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            if not current:
                start = number
            current.append(raw)
        elif current:
            paragraphs.append(Paragraph(start, normalize_text("\n".join(current))))
            current = []
    if current:
        paragraphs.append(Paragraph(start, normalize_text("\n".join(current))))
    return paragraphs


def looks_like_title(text: str) -> bool:
    """Short, no URL, not ending in a period: what every title on the seed pages looks like."""
    return could_be_title(text) and not text.endswith(".")


def could_be_title(text: str) -> bool:
    """The weaker test (a rare title does end in a period): short and no URL."""
    return len(text) <= MAX_TITLE_CHARS and not _URL.search(text)


def infer_year(month: int, day: int, today: date) -> int:
    """The latest year putting month/day on or before ``today`` (listings are never ahead)."""
    for year in range(today.year, today.year - _YEARS_BACK, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:  # Feb 29 in a common year
            continue
        if candidate <= today:
            return year
    raise ValueError(f"no year with {month}/{day} in the last {_YEARS_BACK} years")


def parse_listing_date(
    para: Paragraph, where: str, *, year: int | None, today: date
) -> date | None:
    """Read a date line like ``Mar 13``; None when the paragraph is not date-shaped at all."""
    m = _DATE_SHAPE.match(para.text)
    if not m:
        return None
    loc = f"{where}:{para.line}"
    month = _MONTHS.get(m.group("month").lower())
    if month is None:
        raise SourceError(loc, f"date line {para.text!r} is not a date (unknown month)")
    day = int(m.group("day"))
    try:
        date(2000, month, day)  # a leap year: only impossible days fail here
        listed = date(year if year is not None else infer_year(month, day, today), month, day)
    except ValueError:
        suffix = f" in {year}" if year is not None else ""
        raise SourceError(loc, f"date line {para.text!r} is not a date{suffix}") from None
    return check_date(listed, loc, today=today)


def _find_date(
    paras: list[Paragraph], where: str, *, year: int | None, today: date
) -> tuple[date, int]:
    """Skip the header chrome; the next paragraph must be the date line. Returns (date, index)."""
    for index, para in enumerate(paras):
        if para.text.casefold() in HEADER_LINES:
            continue
        listed = parse_listing_date(para, where, year=year, today=today)
        if listed is None:
            raise SourceError(
                f"{where}:{para.line}",
                f"no date line: expected a listing date like 'Mar 13' before the first paper, "
                f"found {para.text[:60]!r}",
            )
        return listed, index
    raise SourceError(f"{where}:1", "no date line and no papers: the page is empty")


def _ends_mid_sentence(text: str) -> bool:
    return not _SENTENCE_END.search(text)


def _continues_abstract(prev: Paragraph, para: Paragraph, following: Paragraph | None) -> bool:
    """Is ``para`` (right after an abstract paragraph) more of that abstract, or the next title?

    Every title is followed by its abstract, so a title-shaped paragraph followed by
    an abstract-shaped one is a title, and so is a short period-ending paragraph
    followed by a long one (a title that ends in a period). Two title-shaped
    paragraphs in a row are a title and a very short abstract, unless the first
    visibly continues a sentence (previous paragraph ends without punctuation, this
    one starts in lower case). Anything else is more abstract.
    """
    if looks_like_title(para.text):
        if following is None or looks_like_title(following.text):
            return _ends_mid_sentence(prev.text) and para.text[:1].islower()
        return False
    if following is not None and could_be_title(para.text) and not could_be_title(following.text):
        return para.text[:1].islower()
    return True


def _title_without_abstract(first: Paragraph, after: Paragraph | None) -> bool:
    """Title, title, abstract: the first title lost its abstract (unless ``after`` visibly
    continues ``first``, i.e. one abstract split mid-sentence into two paragraphs)."""
    if after is None or not looks_like_title(first.text) or looks_like_title(after.text):
        return False
    return not (_ends_mid_sentence(first.text) and after.text[:1].islower())


def _pair(paras: list[Paragraph], where: str) -> list[tuple[Paragraph, str, int]]:
    """Group paragraphs into (title, abstract text, abstract line) triples."""
    pairs: list[tuple[Paragraph, str, int]] = []
    i, n = 0, len(paras)
    while i < n:
        title = paras[i]
        if not could_be_title(title.text):
            raise SourceError(
                f"{where}:{title.line}",
                f"expected a paper title but found an abstract-like paragraph "
                f"({len(title.text)} characters): {title.text[:60]!r}",
            )
        if i + 1 >= n:
            raise SourceError(
                f"{where}:{title.line}",
                f"title {title.text[:80]!r} has no abstract (page truncated?)",
            )
        first = paras[i + 1]
        after = paras[i + 2] if i + 2 < n else None
        if _title_without_abstract(first, after):
            raise SourceError(
                f"{where}:{title.line}",
                f"title {title.text[:80]!r} has no abstract: the next paragraph "
                f"(line {first.line}) is another title",
            )
        parts = [first]
        j = i + 2
        while j < n and _continues_abstract(
            parts[-1], paras[j], paras[j + 1] if j + 1 < n else None
        ):
            parts.append(paras[j])
            j += 1
        pairs.append((title, " ".join(p.text for p in parts), first.line))
        i = j
    return pairs


def parse_hf_page(
    text: str,
    *,
    source: str,
    year: int | None = None,
    today: date | None = None,
    origin: str | None = None,
) -> list[Paper]:
    """Parse a saved HF Papers listing page into Papers listed on its date.

    ``year`` pins the listing year; otherwise it is the latest year that puts the
    date on or before ``today``. ``origin`` names the file in error messages
    (defaults to the file name inside ``source``). Raises SourceError, with the line
    number, for a missing or impossible date line, a page without papers, an
    abstract-shaped title or a title without abstract.
    """
    where = location_for(source, origin)
    today = today or date.today()
    paras = split_paragraphs(text.lstrip("\ufeff"))
    listed, date_index = _find_date(paras, where, year=year, today=today)
    body = paras[date_index + 1 :]
    if not body:
        line = paras[date_index].line
        raise SourceError(f"{where}:{line}", "the page lists no papers after its date line")
    papers = []
    for title, abstract, abstract_line in _pair(body, where):
        check_abstract(abstract, f"{where}:{abstract_line}")
        clean_title = normalize_title(title.text)
        papers.append(
            Paper(
                id=paper_id_for(clean_title, None),
                title=clean_title,
                abstract=abstract,
                listing_dates=(listed,),
                sources=(source,),
            )
        )
    return papers
