"""Choosing papers for a comparison (or a brief, or the TUI): by id, by fuzzy title, or by a query.

People name papers the way they remember them: an arXiv id, an abs/pdf URL, a few
words of the title, or a topic. Each selector is tried in that order:

1. **id**: the selector is a catalog id as given, or contains an arXiv id (``2501.00001v2``,
   ``arxiv:2501.00001``, ``https://arxiv.org/abs/2501.00001``), or is a ``t-…`` title hash.
   An id that is not in the index is an error: guessing a title from an id would
   silently compare the wrong paper.
2. **title**: the selector is matched against every indexed title with rapidfuzz's
   ``token_set_ratio`` on folded titles (case, accents, punctuation ignored): word order
   does not matter, a typo costs a few points, and missing title words cost nothing, so
   "coral reef bleaching" finds its paper. (``WRatio`` was tried first and rejected: its
   partial matching scores 86 for any title sharing one word such as "of".) A selector
   that is a substring of a title scores at least ``SUBSTRING_SCORE``. The best match wins
   only when it beats the runner-up by ``MARGIN`` points; otherwise the selector is
   ambiguous and the error lists the candidates.
3. **query** (``query=``): hybrid search fills the selection up to ``n`` papers with the
   best hits that are relevant enough (dense similarity at least ``min_similarity``).

Every failure is a :class:`SelectionError` whose message is one line meant for people.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from agent.errors import UserError
from store.index import Index
from store.papers import Paper, normalize_arxiv_id, title_key
from store.retrieve import search

MIN_PAPERS = 2
MAX_PAPERS = 6
#: A title must score at least this (0-100) to be considered a match at all.
CUTOFF = 80.0
#: The best title must beat the second by this many points, else the selector is ambiguous.
MARGIN = 5.0
#: Score given to a title that contains the selector verbatim (after folding).
SUBSTRING_SCORE = 90.0
_SHOWN_CANDIDATES = 4
_TITLE_HASH = re.compile(r"t-[0-9a-f]{16}")
_ARXIV_PREFIX = re.compile(r"^arxiv:\s*", re.I)
_ARXIV_ONLY = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?")

How = Literal["id", "title", "query"]


class SelectionError(UserError):
    """Papers that cannot be selected as asked: one line for people, exit code 2 in the CLI."""

    title = "Cannot compare"
    hint = "name 2 to 6 papers by id or title, or use --query"


@dataclass(frozen=True)
class Choice:
    """One chosen paper and how it was chosen (``id``, ``title`` or ``query``)."""

    paper: Paper
    how: How
    selector: str


def _short(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def as_paper_id(selector: str) -> str | None:
    """The id a selector spells out (arXiv id, arXiv URL, ``t-`` hash), or None for free text."""
    text = _ARXIV_PREFIX.sub("", selector.strip())
    if _TITLE_HASH.fullmatch(text):
        return text
    if _ARXIV_ONLY.fullmatch(text) or text.lower().startswith(("http://", "https://", "arxiv.org/")):
        return normalize_arxiv_id(text)
    return None


class TitleMatcher:
    """Fuzzy title lookup over the whole catalog, built once per selection.

    Titles are folded with the same ``title_key`` the catalog uses to deduplicate, so
    "Tile-based contrastive loss" and "tile based CONTRASTIVE loss" are the same text.
    """

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.papers = {p.id: p for p in papers}
        self.keys = {p.id: title_key(p.title) for p in papers}

    def scores(self, selector: str, limit: int = 8) -> list[tuple[str, float]]:
        """(paper id, score 0-100), best first; ties broken by id for stable output."""
        key = title_key(selector)
        if not key:
            return []
        found = process.extract(key, self.keys, scorer=fuzz.token_set_ratio, limit=None, processor=None)
        scored = {pid: float(score) for _, score, pid in found}
        for pid, title in self.keys.items():
            if key in title:
                scored[pid] = max(scored.get(pid, 0.0), SUBSTRING_SCORE)
        return sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]

    def match(self, selector: str) -> Paper:
        """The one paper ``selector`` names, or a :class:`SelectionError` listing what it could mean."""
        key = title_key(selector)
        if len(key) < 3:
            raise SelectionError(f"{selector!r} is too short to match a title; give an id or more words")
        exact = [pid for pid, title in self.keys.items() if title == key]
        if len(exact) == 1:
            return self.papers[exact[0]]
        ranked = self.scores(selector)
        good = [(pid, s) for pid, s in ranked if s >= CUTOFF]
        if len(exact) > 1:
            good = [(pid, 100.0) for pid in sorted(exact)]
        if not good:
            near = ", ".join(self._describe(pid) for pid, s in ranked[:3] if s >= CUTOFF - 20)
            hint = f"; closest: {near}" if near else ""
            raise SelectionError(f"no indexed paper matches {selector!r}{hint}")
        top = good[0][1]
        close = [(pid, s) for pid, s in good if s >= top - MARGIN]
        if len(close) == 1:
            return self.papers[close[0][0]]
        listed = "; ".join(self._describe(pid) for pid, _ in close[:_SHOWN_CANDIDATES])
        more = f" (+{len(close) - _SHOWN_CANDIDATES} more)" if len(close) > _SHOWN_CANDIDATES else ""
        raise SelectionError(
            f"{selector!r} matches {len(close)} papers: {listed}{more}; give an id or more of the title"
        )

    def _describe(self, pid: str) -> str:
        return f"{pid} “{_short(self.papers[pid].title)}”"


def resolve(index: Index, selector: str, matcher: TitleMatcher | None = None) -> Choice:
    """One selector (id, URL or title words) to one indexed paper."""
    text = " ".join(selector.split())
    if not text:
        raise SelectionError("an empty paper id or title was given")
    paper = index.catalog.get(text)
    if paper is not None:
        return Choice(paper, "id", selector)
    pid = as_paper_id(text)
    if pid is not None:
        paper = index.catalog.get(pid)
        if paper is None:
            raise SelectionError(f"no paper with id {pid!r} in the index (see `paperbrief papers list`)")
        return Choice(paper, "id", selector)
    matcher = matcher or TitleMatcher(index.catalog.list_papers())
    return Choice(matcher.match(text), "title", selector)


def by_query(index: Index, query: str, k: int, *, min_similarity: float = 0.3) -> list[Paper]:
    """The ``k`` best papers for ``query`` that are relevant enough to be worth comparing.

    Fused scores are relative (the best is always near 1), so relevance is judged by
    the dense cosine similarity; with dense search off, any BM25 match counts.
    """
    if not query.strip():
        raise SelectionError("--query is empty")
    hits = search(index, query, k=k)
    kept = [h for h in hits if (h.dense >= min_similarity if h.dense is not None else (h.bm25 or 0) > 0)]
    papers = index.catalog.get_many(h.paper_id for h in kept)
    return [papers[h.paper_id] for h in kept if h.paper_id in papers]


def select_papers(
    index: Index,
    selectors: Sequence[str],
    *,
    query: str | None = None,
    n: int = 4,
    min_similarity: float = 0.3,
) -> list[Choice]:
    """Resolve ``selectors`` (ids or titles), then fill up to ``n`` papers from ``query``.

    The result has ``MIN_PAPERS`` to ``MAX_PAPERS`` distinct papers, in the order given
    (query hits after the named papers, best first), or a :class:`SelectionError` says why not.
    """
    selectors = list(selectors)
    if not MIN_PAPERS <= n <= MAX_PAPERS:
        raise SelectionError(f"-n must be between {MIN_PAPERS} and {MAX_PAPERS} (got {n})")
    if len(selectors) > MAX_PAPERS:
        raise SelectionError(f"compare takes at most {MAX_PAPERS} papers (got {len(selectors)})")
    if not selectors and not query:
        raise SelectionError(f"name {MIN_PAPERS} to {MAX_PAPERS} papers by id or title, or use --query")
    if len(selectors) < MIN_PAPERS and not query:
        raise SelectionError(
            f"compare needs at least {MIN_PAPERS} papers (got {len(selectors)}); "
            "name another by id or title, or use --query"
        )
    if index.catalog.count_papers() == 0:
        raise SelectionError("the index is empty: run `paperbrief ingest PATH...` first")
    chosen: list[Choice] = []
    matcher: TitleMatcher | None = None
    for selector in selectors:
        if matcher is None and as_paper_id(selector) is None and index.catalog.get(selector.strip()) is None:
            matcher = TitleMatcher(index.catalog.list_papers())
        picked = resolve(index, selector, matcher)
        twin = next((c for c in chosen if c.paper.id == picked.paper.id), None)
        if twin is not None:
            raise SelectionError(f"{twin.selector!r} and {selector!r} name the same paper ({picked.paper.id})")
        chosen.append(picked)
    if query and len(chosen) < n:
        taken = {c.paper.id for c in chosen}
        for paper in by_query(index, query, n + len(chosen), min_similarity=min_similarity):
            if len(chosen) >= n:
                break
            if paper.id not in taken:
                chosen.append(Choice(paper, "query", query))
                taken.add(paper.id)
        if len(chosen) < MIN_PAPERS:
            raise SelectionError(
                f"--query {query!r} found {len(chosen)} relevant paper(s); compare needs at least {MIN_PAPERS}"
            )
    return chosen
