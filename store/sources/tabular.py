"""Tabular paper files: JSON Lines and CSV, one paper per record.

Columns are ``id, title, abstract, authors, date, url`` plus the aliases real
exports use (the arXiv daily dump has ``first_seen_date`` and ``abs_url``).
``date`` is the day the paper was *listed*, which is what weekly briefs select on.

Ids: a value that is an arXiv id (``2503.11677``, ``arXiv:2503.11677v2``,
``cs/0503050``, an arxiv.org URL) becomes the paper's arXiv id, so it merges with
the same paper from the APIs; any other id is kept verbatim as the record id (a
private corpus's own key); with no id, the title hash is used.

Every error names the line (``papers.jsonl:12``) and, where it is about one value,
the field, so one bad row in 75,000 is easy to find.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from datetime import date

from store.errors import SourceError
from store.papers import Paper, arxiv_version, normalize_arxiv_id, paper_id_for
from store.text import (
    MAX_ABSTRACT_CHARS,
    check_abstract,
    location_for,
    normalize_text,
    normalize_title,
    parse_iso_date,
)

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "arxiv_id", "paper_id", "_id"),
    "title": ("title",),
    "abstract": ("abstract", "summary"),
    "authors": ("authors", "author"),
    "date": ("date", "first_seen_date", "listing_date"),
    "published": ("published", "publication_date"),
    "url": ("url", "abs_url"),
    "categories": ("categories", "category"),
    "keywords": ("keywords",),
    "upvotes": ("upvotes",),
}
"""Canonical field -> accepted column names, in order of preference."""

REQUIRED = ("title", "abstract")
ARXIV_ABS_URL = "https://arxiv.org/abs/"
_ARXIV_ID_SHAPE = re.compile(
    r"^(?:arxiv:)?(?:\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$", re.IGNORECASE
)


def _pick(record: Mapping[str, object], field: str) -> tuple[str, object]:
    """(column name, value) of the first alias present with a non-empty value."""
    for name in ALIASES[field]:
        value = record.get(name)
        if value is not None and value != "" and value != []:
            return name, value
    return ALIASES[field][0], None


def arxiv_id_from(raw: str) -> str | None:
    """The arXiv id if ``raw`` *is* one (or an arxiv.org link), not if it merely contains one."""
    text = raw.strip()
    if _ARXIV_ID_SHAPE.match(text) or "arxiv.org/" in text:
        return normalize_arxiv_id(text)
    return None


def split_list(value: object) -> tuple[str, ...]:
    """A JSON list, or a string separated by ``;`` (preferred, names contain commas) or ``,``."""
    if isinstance(value, list):
        items = [str(v) for v in value if v is not None]
    elif isinstance(value, str):
        sep = ";" if ";" in value else ","
        items = value.split(sep)
    else:
        return ()
    cleaned = (normalize_title(item) for item in items)
    return tuple(dict.fromkeys(item for item in cleaned if item))


def _split_categories(value: object) -> tuple[str, ...]:
    """Categories also come space-separated (``cs.CL cs.AI``), arXiv's own style."""
    if isinstance(value, str) and ";" not in value and "," not in value:
        return tuple(dict.fromkeys(value.split()))
    return split_list(value)


def _text_field(record: Mapping[str, object], field: str, where: str) -> str:
    name, value = _pick(record, field)
    if value is None:
        raise SourceError(where, f"field {field!r} is missing or empty")
    if not isinstance(value, str):
        raise SourceError(where, f"field {name!r} must be text, got {type(value).__name__}")
    return value


def _date_field(record: Mapping[str, object], field: str, where: str) -> date | None:
    name, value = _pick(record, field)
    if value is None:
        return None
    try:
        return parse_iso_date(value, where)
    except SourceError as exc:
        raise SourceError(where, f"field {name!r}: {exc.message}") from None


def _upvotes(record: Mapping[str, object], where: str) -> int | None:
    name, value = _pick(record, "upvotes")
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        raise SourceError(where, f"field {name!r}: {value!r} is not a whole number") from None


def record_to_paper(record: Mapping[str, object], *, source: str, where: str) -> Paper:
    """One row (already keyed by column name) to a Paper; ``where`` is ``file:line``."""
    title = normalize_title(_text_field(record, "title", where))
    if not title:
        raise SourceError(where, "field 'title' is empty")
    abstract = normalize_text(_text_field(record, "abstract", where))
    if not abstract:
        raise SourceError(where, "field 'abstract' is empty")
    check_abstract(abstract, where, field="field 'abstract'")
    _, raw_id = _pick(record, "id")
    given_id = str(raw_id).strip() if raw_id is not None else ""
    arxiv_id = arxiv_id_from(given_id) if given_id else None
    _, url_value = _pick(record, "url")
    url = str(url_value).strip() if url_value else None
    if not arxiv_id and url:
        arxiv_id = arxiv_id_from(url)
    listed = _date_field(record, "date", where)
    return Paper(
        id=arxiv_id or given_id or paper_id_for(title, None),
        title=title,
        abstract=abstract,
        authors=split_list(_pick(record, "authors")[1]),
        published=_date_field(record, "published", where),
        listing_dates=(listed,) if listed else (),
        sources=(source,),
        url=url or (ARXIV_ABS_URL + arxiv_id if arxiv_id else None),
        upvotes=_upvotes(record, where),
        keywords=split_list(_pick(record, "keywords")[1]),
        arxiv_id=arxiv_id,
        categories=_split_categories(_pick(record, "categories")[1]),
        version=arxiv_version(given_id) or arxiv_version(url) if arxiv_id else None,
    )


def describe_json_error(exc: json.JSONDecodeError) -> str:
    """``invalid JSON: Expecting ',' delimiter at column 45``, worded right for every message."""
    glue = " " if exc.msg.endswith(" at") else " at "
    return f"invalid JSON: {exc.msg}{glue}column {exc.colno}"


def parse_jsonl(lines: Iterable[str], *, source: str, origin: str | None = None) -> list[Paper]:
    """Parse JSON Lines (one object per line; blank lines skipped). Errors name the line."""
    where = location_for(source, origin)
    papers: list[Paper] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        loc = f"{where}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(loc, describe_json_error(exc)) from None
        except RecursionError:
            raise SourceError(loc, "invalid JSON: nested too deeply") from None
        if not isinstance(record, dict):
            raise SourceError(loc, f"expected a JSON object, got {type(record).__name__}")
        papers.append(record_to_paper(record, source=source, where=loc))
    return papers


def _check_header(fields: list[str] | None, where: str) -> list[str]:
    """Normalized column names; the required ones must all be present."""
    if not fields:
        raise SourceError(f"{where}:1", "CSV has no header row")
    names = [name.strip().lower() for name in fields]
    for required in REQUIRED:
        if not any(alias in names for alias in ALIASES[required]):
            raise SourceError(
                f"{where}:1",
                f"missing required column {required!r} (columns: {', '.join(names)})",
            )
    return names


def parse_csv(text: str, *, source: str, origin: str | None = None) -> list[Paper]:
    """Parse CSV with a header row. Errors name the row's first line and the column."""
    where = location_for(source, origin)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    papers: list[Paper] = []
    try:
        names = _check_header(next(reader, None), where)
        start = reader.line_num + 1
        for row in reader:
            loc = f"{where}:{start}"
            start = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(names):
                raise SourceError(loc, f"{len(row)} fields but the header has {len(names)}")
            papers.append(
                record_to_paper(dict(zip(names, row, strict=False)), source=source, where=loc)
            )
    except csv.Error as exc:
        message = f"malformed CSV: {exc}"
        if "field larger than field limit" in str(exc):
            message = (
                f"a field is over {csv.field_size_limit():,} characters "
                f"(abstracts are limited to {MAX_ABSTRACT_CHARS:,}); the file looks broken"
            )
        raise SourceError(f"{where}:{reader.line_num}", message) from None
    return papers
