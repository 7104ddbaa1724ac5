"""Paper records: the one domain type every source produces and the index stores.

A paper is identified by its arXiv id when known (version suffix dropped, so v1 and
v2 are the same paper), else by a stable hash of its normalized title. The same
paper seen in two listings or two sources is merged into one record that keeps
every listing date and every source, which is what lets a weekly brief select
papers by the day they were *listed* rather than submitted.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property

_ARXIV_NEW = re.compile(r"(?<![\w.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\w])")
_ARXIV_OLD = re.compile(r"(?<![\w.])([a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?![\w])")


def normalize_arxiv_id(raw: str | None) -> str | None:
    """Return the version-less arXiv id inside ``raw`` (an id, an abs/pdf URL), or None."""
    if not raw:
        return None
    text = raw.strip()
    m = _ARXIV_NEW.search(text)
    if m:
        return m.group(1)
    m = _ARXIV_OLD.search(text)
    if m:
        return m.group(1)
    return None


_VERSION = re.compile(r"(?<![\w.])(?:\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})v(\d+)(?![\w])")


def arxiv_version(raw: str | None) -> int | None:
    """The version number in ``raw`` (``2503.01234v2`` -> 2), or None when it names no version."""
    m = _VERSION.search(raw.strip()) if raw else None
    return int(m.group(1)) if m else None


_NON_WORD = re.compile(r"[^\w]+")


def title_key(title: str) -> str:
    """Fold a title to the key used to recognise the same paper across sources.

    Case, accents, punctuation and whitespace differ between listings of one paper,
    so they are all folded away.
    """
    if title.isascii():  # NFKD is the identity and nothing combines: skip the per-character pass
        text = title.lower()
    else:
        text = unicodedata.normalize("NFKD", title)
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def title_hash_id(title: str) -> str:
    """Stable id for a paper without an arXiv id: ``t-`` + 16 hex digits of the title key."""
    return "t-" + hashlib.sha1(title_key(title).encode("utf-8")).hexdigest()[:16]


def paper_id_for(title: str, arxiv_id: str | None) -> str:
    """The record id: the arXiv id when known, else the title hash."""
    return arxiv_id if arxiv_id else title_hash_id(title)


@dataclass(frozen=True)
class Paper:
    """One paper, as parsed from a source and as stored in the catalog.

    ``listing_dates`` are the days of the listings (HF daily page, arXiv daily
    listing) the paper appeared on; ``published`` is the author's submission date.
    ``sources`` names where each sighting came from (``hf-page:<file>``,
    ``hf-api``, ``arxiv-api``, ``file:<name>``).
    """

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    published: date | None = None
    listing_dates: tuple[date, ...] = ()
    sources: tuple[str, ...] = ()
    url: str | None = None
    upvotes: int | None = None
    keywords: tuple[str, ...] = ()
    arxiv_id: str | None = None
    categories: tuple[str, ...] = field(default=())
    #: The highest arXiv version seen (``v2`` -> 2), None when no source named one.
    version: int | None = None
    #: Listing days on which a higher version than the one stored before was seen.
    revised_dates: tuple[date, ...] = ()
    previous_titles: tuple[str, ...] = ()
    """Other titles this id was seen with, oldest first (a revised title, or a clash in the data)."""

    @cached_property
    def text_hash(self) -> str:
        """Hash of what gets embedded: a change here means re-chunk and re-embed.

        Cached (the record is frozen): ingest compares and stores it for every paper."""
        return hashlib.sha1(f"{self.title}\n\n{self.abstract}".encode()).hexdigest()

    @cached_property
    def content_hash(self) -> str:
        """Hash of the whole record: a change here means the catalog row is updated (cached, as above)."""
        payload = json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha1(payload.encode()).hexdigest()

    @property
    def first_listed(self) -> date | None:
        return self.listing_dates[0] if self.listing_dates else None

    @property
    def display_date(self) -> date | None:
        """The date people see next to a paper: latest listing, else publication."""
        return self.listing_dates[-1] if self.listing_dates else self.published

    def to_json(self) -> dict[str, object]:
        """The stored form, keys in field order (what ``dataclasses.asdict`` gave, without its deep copies:
        every field is immutable, and ingest calls this twice per paper)."""
        data: dict[str, object] = {
            "id": self.id,
            "title": self.title,
            "abstract": self.abstract,
            "authors": list(self.authors),
            "published": self.published.isoformat() if self.published else None,
            "listing_dates": [d.isoformat() for d in self.listing_dates],
            "sources": list(self.sources),
            "url": self.url,
            "upvotes": self.upvotes,
            "keywords": list(self.keywords),
            "arxiv_id": self.arxiv_id,
            "categories": list(self.categories),
        }
        # written only when known, so records stored before versions were tracked keep their hash
        if self.version is not None:
            data["version"] = self.version
        if self.previous_titles:  # absent when empty, so records written before the field keep their hash
            data["previous_titles"] = list(self.previous_titles)
        if self.revised_dates:
            data["revised_dates"] = [d.isoformat() for d in self.revised_dates]
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Paper:
        def _strs(value: object) -> tuple[str, ...]:
            return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else ()

        def _dates(value: object) -> tuple[date, ...]:
            return tuple(date.fromisoformat(v) for v in _strs(value))

        def _opt(value: object) -> str | None:
            return str(value) if value else None

        published = data.get("published")
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            abstract=str(data.get("abstract") or ""),
            authors=_strs(data.get("authors")),
            published=date.fromisoformat(str(published)) if published else None,
            listing_dates=_dates(data.get("listing_dates")),
            sources=_strs(data.get("sources")),
            url=_opt(data.get("url")),
            upvotes=int(str(data["upvotes"])) if data.get("upvotes") is not None else None,
            keywords=_strs(data.get("keywords")),
            arxiv_id=_opt(data.get("arxiv_id")),
            categories=_strs(data.get("categories")),
            version=int(str(data["version"])) if data.get("version") is not None else None,
            revised_dates=_dates(data.get("revised_dates")),
            previous_titles=_strs(data.get("previous_titles")),
        )


def _union(a: tuple, b: tuple) -> tuple:
    return tuple(dict.fromkeys([*a, *b]))


def merge_papers(old: Paper, new: Paper) -> Paper:
    """Merge two sightings of one paper.

    Dates, sources, authors and keywords are unioned; scalar fields prefer the
    newer sighting when it has a value (a revised abstract replaces the old one),
    except when the new abstract is a truncation of the stored one (listing pages
    sometimes cut abstracts short), and upvotes, where the higher count wins.
    An arXiv id found by either sighting becomes the record's id. A sighting with a
    higher arXiv version than the stored one records its listing days as revisions. A title
    that differs (beyond case and punctuation) is never lost: the replaced one joins
    ``previous_titles``.
    """
    arxiv_id = new.arxiv_id or old.arxiv_id
    abstract = new.abstract or old.abstract
    stem = new.abstract.rstrip(" .…")
    if stem and len(new.abstract) < len(old.abstract) and old.abstract.startswith(stem):
        abstract = old.abstract
    upvotes_seen = [u for u in (old.upvotes, new.upvotes) if u is not None]
    versions = [v for v in (old.version, new.version) if v is not None]
    revised = old.revised_dates
    if old.version is not None and new.version is not None and new.version > old.version:
        # a new version is a revision of a paper already seen, not a new paper
        days = set(new.listing_dates) - set(old.listing_dates) or set(new.listing_dates)
        revised = tuple(sorted(set(revised) | days))
    title = new.title or old.title
    return replace(
        old,
        id=arxiv_id or old.id,
        title=title,
        abstract=abstract,
        authors=new.authors or old.authors,
        published=new.published or old.published,
        listing_dates=tuple(sorted(set(old.listing_dates) | set(new.listing_dates))),
        sources=_union(old.sources, new.sources),
        url=new.url or old.url,
        upvotes=max(upvotes_seen) if upvotes_seen else None,
        keywords=_union(old.keywords, new.keywords),
        arxiv_id=arxiv_id,
        categories=_union(old.categories, new.categories),
        version=max(versions) if versions else None,
        revised_dates=revised,
        previous_titles=_title_history(title, old.previous_titles, new.previous_titles, (old.title, new.title)),
    )


def _title_history(current: str, *seen: tuple[str, ...]) -> tuple[str, ...]:
    """Every title seen, once per title key, oldest first, without the current one."""
    keys = {title_key(current)}
    history: list[str] = []
    for titles in seen:
        for t in titles:
            if t and title_key(t) not in keys:
                keys.add(title_key(t))
                history.append(t)
    return tuple(history)


def dedupe(papers: list[Paper]) -> list[Paper]:
    """Merge duplicates within one batch, by id and by title key, keeping first-seen order."""
    by_key: dict[str, Paper] = {}
    alias: dict[str, str] = {}
    for paper in papers:
        tkey = "title:" + title_key(paper.title)
        key = alias.get(paper.id) or alias.get(tkey) or paper.id
        merged = merge_papers(by_key[key], paper) if key in by_key else paper
        by_key[key] = merged
        alias[paper.id] = alias[tkey] = alias[merged.id] = key
    return list(by_key.values())
