"""Hugging Face Daily Papers JSON: the API (``GET /api/daily_papers``) and the curated dict.

The API answers a list of items ``{"paper": {...}, "publishedAt", "title", ...}``;
fields have been added over the years (2024: no ``submittedOnDailyAt``; 2026:
``ai_summary``, ``ai_keywords``, ``githubRepo``, ``organization``), so everything
but a title and an abstract is optional and read defensively. A single item (one
paper's endpoint) is accepted too.

The curated format (paperexplorer, ``papers.json``) is a dict arXiv id ->
``{url, title, authors, abstract, publication_date, upvotes}``. Its
``publication_date`` is really arXiv's submission timestamp (its extract.py asks
the arXiv API), but it is the only date there, so it serves as listing date too.

Errors name the JSON path (``file.json:[3].paper.title: missing``) so a person can
find the offending item in a 1 MB file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from store.errors import SourceError
from store.papers import Paper, normalize_arxiv_id, paper_id_for
from store.text import (
    check_abstract,
    location_for,
    normalize_text,
    normalize_title,
    parse_iso_date,
)

HF_PAPERS_URL = "https://huggingface.co/papers/"
ARXIV_ABS_URL = "https://arxiv.org/abs/"


def _at(where: str, path: str) -> str:
    """``file.json`` + ``[3].paper.title`` -> ``file.json:[3].paper.title``."""
    return f"{where}:{path}" if path else where


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _require_text(obj: Mapping[str, object], keys: tuple[str, ...], where: str, path: str) -> str:
    """The first of ``keys`` present as a non-empty string, else a SourceError naming the field."""
    for key in keys:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise SourceError(
                _at(where, _join(path, key)), f"expected a string, got {type(value).__name__}"
            )
        if value.strip():
            return value
    raise SourceError(_at(where, _join(path, keys[0])), "missing")


def _optional_str(obj: Mapping[str, object], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _optional_int(obj: Mapping[str, object], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _optional_date(obj: Mapping[str, object], key: str, where: str, path: str) -> date | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    return parse_iso_date(value, _at(where, _join(path, key)))


def _author_names(value: object) -> tuple[str, ...]:
    """API authors are ``{"name": ...}`` objects, curated ones plain strings; keep the names."""
    if not isinstance(value, list):
        return ()
    names: list[str] = []
    for author in value:
        raw = author.get("name") if isinstance(author, Mapping) else author
        if isinstance(raw, str) and raw.strip():
            names.append(normalize_title(raw))
    return tuple(names)


def _keywords(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        dict.fromkeys(normalize_title(k) for k in value if isinstance(k, str) and k.strip())
    )


def _url_for(arxiv_id: str | None, hf_id: str | None) -> str | None:
    if arxiv_id:
        return ARXIV_ABS_URL + arxiv_id
    return HF_PAPERS_URL + hf_id if hf_id else None


def parse_daily_item(
    item: object,
    *,
    source: str,
    where: str,
    path: str = "",
    listing_date: date | None = None,
) -> Paper:
    """One API item (``{"paper": {...}, ...}``) to a Paper; ``path`` locates it in the document."""
    if not isinstance(item, Mapping):
        raise SourceError(_at(where, path), f"expected an object, got {type(item).__name__}")
    paper = item.get("paper")
    if not isinstance(paper, Mapping):
        problem = "missing" if paper is None else f"expected an object, got {type(paper).__name__}"
        raise SourceError(_at(where, _join(path, "paper")), problem)
    ppath = _join(path, "paper")
    # The item repeats title/summary at top level; the paper's own copy is canonical.
    title = normalize_title(
        _title_from(paper, ppath, where) or _require_text(item, ("title",), where, ppath)
    )
    abstract = normalize_text(_require_text(paper, ("summary", "abstract"), where, ppath))
    check_abstract(abstract, _at(where, _join(ppath, "summary")))
    hf_id = _optional_str(paper, "id")
    arxiv_id = normalize_arxiv_id(hf_id)
    listed = (
        listing_date
        or _optional_date(paper, "submittedOnDailyAt", where, ppath)
        or _optional_date(item, "submittedOnDailyAt", where, path)
        or _optional_date(item, "publishedAt", where, path)
    )
    return Paper(
        id=paper_id_for(title, arxiv_id),
        title=title,
        abstract=abstract,
        authors=_author_names(paper.get("authors")),
        published=_optional_date(paper, "publishedAt", where, ppath),
        listing_dates=(listed,) if listed else (),
        sources=(source,),
        url=_url_for(arxiv_id, hf_id),
        upvotes=_optional_int(paper, "upvotes"),
        keywords=_keywords(paper.get("ai_keywords")),
        arxiv_id=arxiv_id,
    )


def _title_from(paper: Mapping[str, object], ppath: str, where: str) -> str | None:
    """The paper's title if present (type-checked); None lets the item-level title stand in."""
    if paper.get("title") is None:
        return None
    return _require_text(paper, ("title",), where, ppath)


def parse_curated_entry(
    key: str, entry: object, *, source: str, where: str, listing_date: date | None = None
) -> Paper:
    """One paperexplorer entry (``id -> {url, title, authors, abstract, ...}``) to a Paper."""
    path = f"[{key!r}]"
    if not isinstance(entry, Mapping):
        raise SourceError(_at(where, path), f"expected an object, got {type(entry).__name__}")
    title = normalize_title(_require_text(entry, ("title",), where, path))
    abstract = normalize_text(_require_text(entry, ("abstract", "summary"), where, path))
    check_abstract(abstract, _at(where, _join(path, "abstract")))
    url = _optional_str(entry, "url")
    arxiv_id = normalize_arxiv_id(key) or normalize_arxiv_id(url)
    published = _optional_date(entry, "publication_date", where, path)
    listed = listing_date or published
    return Paper(
        id=paper_id_for(title, arxiv_id),
        title=title,
        abstract=abstract,
        authors=_author_names(entry.get("authors")),
        published=published,
        listing_dates=(listed,) if listed else (),
        sources=(source,),
        url=_url_for(arxiv_id, None) or url,
        upvotes=_optional_int(entry, "upvotes"),
        arxiv_id=arxiv_id,
    )


def is_curated_dict(data: object) -> bool:
    """A non-empty dict of dicts that have a title: the paperexplorer shape."""
    if not isinstance(data, Mapping) or not data or "paper" in data:
        return False
    first = next(iter(data.values()))
    return isinstance(first, Mapping) and "title" in first


def looks_like_daily(data: object) -> bool:
    """A daily-papers item or a list whose first element is one (cheap shape sniffing)."""
    if isinstance(data, Mapping):
        return "paper" in data
    return (
        isinstance(data, list)
        and bool(data)
        and isinstance(data[0], Mapping)
        and "paper" in data[0]
    )


def parse_hf_daily(
    data: object,
    *,
    source: str,
    listing_date: date | None = None,
    origin: str | None = None,
) -> list[Paper]:
    """Parse decoded Daily Papers JSON (list of items, one item, or the curated dict).

    Listing date: ``listing_date`` if given, else the item's ``submittedOnDailyAt``,
    else its top-level ``publishedAt`` (the time AK posted it on the daily page; the
    paper's own ``publishedAt`` is arXiv's date and becomes ``published``).
    ``origin`` names the file in errors. Raises SourceError with the JSON path.
    """
    where = location_for(source, origin)
    if isinstance(data, list):
        return [
            parse_daily_item(
                item, source=source, where=where, path=f"[{i}]", listing_date=listing_date
            )
            for i, item in enumerate(data)
        ]
    if isinstance(data, Mapping) and "paper" in data:
        return [parse_daily_item(data, source=source, where=where, listing_date=listing_date)]
    if is_curated_dict(data):
        assert isinstance(data, Mapping)
        return [
            parse_curated_entry(
                str(key), entry, source=source, where=where, listing_date=listing_date
            )
            for key, entry in data.items()
        ]
    raise SourceError(
        where,
        f"unexpected JSON shape ({type(data).__name__}): expected a list of daily-papers items "
        '({"paper": {...}}), one item, or a dict of id -> {title, abstract, ...}',
    )
