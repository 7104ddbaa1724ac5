"""The weekly brief's structure and the events its pipeline yields.

One structure serves every output: Markdown and HTML render it, JSON is
``Brief.to_json()``; so a script reading the JSON sees exactly what a person
reads. Nothing here knows about terminals or templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from agent.brief.weeks import Window
from agent.types import Notice

TldrMode = Literal["model", "extractive"]
SynthesisMode = Literal["generative", "extractive", "none"]
TrendStatus = Literal["new", "grew", "shrank", "steady", "gone"]
PaperStatus = Literal["new", "revised", "seen"]  # first listed in the window, a new version, listed before


@dataclass
class BriefPaper:
    """One paper as listed under its theme; ``n`` is its number there (what ``[n]`` cites)."""

    n: int
    paper_id: str
    title: str
    url: str | None
    tldr: str
    tldr_mode: TldrMode
    listing_dates: tuple[date, ...] = ()
    upvotes: int | None = None
    centrality: float = 0.0
    cached: bool = False
    status: PaperStatus = "new"
    for_you: str = ""  # why it matches the reader, when it does


    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "paper_id": self.paper_id,
            "title": self.title,
            "url": self.url,
            "tldr": self.tldr,
            "tldr_mode": self.tldr_mode,
            "listing_dates": [d.isoformat() for d in self.listing_dates],
            "upvotes": self.upvotes,
            "centrality": round(self.centrality, 4),
            "status": self.status,
            "for_you": self.for_you or None,
        }


@dataclass
class Synthesis:
    """What is new in a theme, with ``[n]`` citations to the theme's own papers only."""

    text: str
    mode: SynthesisMode
    cited: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    note: str | None = None  # why it is extractive, when it is


@dataclass
class BriefTheme:
    key: int  # clustering label; -1 = Other
    name: str
    name_source: Literal["model", "keywords", "fixed"]
    keywords: list[str]
    papers: list[BriefPaper]
    synthesis: Synthesis

    @property
    def is_other(self) -> bool:
        return self.key < 0

    @property
    def anchor(self) -> str:
        return "other" if self.is_other else f"theme-{self.key + 1}"

    def cited_papers(self) -> list[BriefPaper]:
        by_n = {p.n: p for p in self.papers}
        return [by_n[n] for n in self.synthesis.cited if n in by_n]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "name_source": self.name_source,
            "other": self.is_other,
            "keywords": self.keywords,
            "size": len(self.papers),
            "synthesis": {
                "text": self.synthesis.text,
                "mode": self.synthesis.mode,
                "citations": [{"n": p.n, "paper_id": p.paper_id} for p in self.cited_papers()],
                "removed_citations": self.synthesis.removed,
                "note": self.synthesis.note,
            },
            "papers": [p.to_json() for p in self.papers],
        }


@dataclass
class Highlight:
    paper_id: str
    title: str
    url: str | None
    theme: str
    why: str
    why_source: Literal["model", "data"]
    signal: Literal["upvotes", "centrality", "interest"]
    upvotes: int | None = None
    reasons: list[str] = field(default_factory=list)  # each concrete: a number, interest, bridge or novelty

    def to_json(self) -> dict[str, object]:
        return {
            "paper_id": self.paper_id,
            "title": self.title,
            "url": self.url,
            "theme": self.theme,
            "why": self.why,
            "why_source": self.why_source,
            "signal": self.signal,
            "upvotes": self.upvotes,
            "reasons": self.reasons,
        }


@dataclass
class ForYou:
    """A pick for this reader, with the interest or starred paper it matched."""

    paper_id: str
    title: str
    url: str | None
    theme: str
    why: str
    score: float

    def to_json(self) -> dict[str, object]:
        return {
            "paper_id": self.paper_id, "title": self.title, "url": self.url,
            "theme": self.theme, "why": self.why, "score": round(self.score, 4),
        }


@dataclass
class Health:
    """How healthy the run was: the line at the top of every brief.

    ``listed`` papers were listed in the window; of them ``new`` were first listed
    there, ``revised`` came back with a new arXiv version and ``seen`` were listed
    before (trending again). ``filtered`` says what was left out and why;
    ``source_errors`` what a source answered instead of papers; ``reason`` is the
    likely reason a window is empty.
    """

    listed: int
    fetched: int = 0
    new: int = 0
    revised: int = 0
    seen: int = 0
    filtered: dict[str, int] = field(default_factory=dict)
    source_errors: list[str] = field(default_factory=list)
    newest_listing: date | None = None
    reason: str | None = None

    def line(self) -> str:
        parts = [f"{self.listed} listed", f"{self.fetched} fetched", f"{self.new} new"]
        if self.revised:
            parts.append(f"{self.revised} revised")
        parts.append(f"{self.seen} already seen")
        dropped = sum(self.filtered.values())
        parts.append(
            f"{dropped} filtered (" + ", ".join(f"{n} {why}" for why, n in self.filtered.items() if n) + ")"
            if dropped else "0 filtered"
        )
        parts.append(f"{len(self.source_errors)} source errors" if self.source_errors else "no source errors")
        text = "Run health: " + " · ".join(parts)
        if self.source_errors:
            text += " (" + "; ".join(self.source_errors) + ")"
        if self.reason:
            text += f". {self.reason}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "listed": self.listed, "fetched": self.fetched, "new": self.new, "revised": self.revised,
            "seen": self.seen, "filtered": self.filtered, "source_errors": self.source_errors,
            "newest_listing": self.newest_listing.isoformat() if self.newest_listing else None,
            "reason": self.reason, "line": self.line(),
        }


@dataclass
class TrendRow:
    theme: str
    current: int
    previous: int
    status: TrendStatus

    @property
    def change(self) -> int:
        return self.current - self.previous

    def to_json(self) -> dict[str, object]:
        return {
            "theme": self.theme,
            "current": self.current,
            "previous": self.previous,
            "change": self.change,
            "status": self.status,
        }


@dataclass
class Trends:
    """This window's themes counted in the previous window too (``gone``: seen only before)."""

    previous: Window
    previous_papers: int
    rows: list[TrendRow]

    def to_json(self) -> dict[str, object]:
        return {
            "previous_window": self.previous.to_json(),
            "previous_papers": self.previous_papers,
            "themes": [r.to_json() for r in self.rows],
        }


@dataclass
class Provenance:
    """Everything needed to trust, reproduce or price a brief."""

    window: Window
    papers: int
    themes: int
    model: str
    provider: str
    prompts: dict[str, str]  # name -> version
    corpus_hash: str
    generated_at: str
    seconds: float
    llm_calls: int
    reused_calls: int
    tldrs: dict[str, int]  # model / extractive / cached
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    llm_wall_s: float
    clustering: dict[str, object]
    fetched: int = 0
    model_failures: int = 0  # calls lost to a failed local model process (quoted instead)
    model_error: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # model task -> why it was skipped

    @property
    def calls_per_paper(self) -> float:
        return self.llm_calls / self.papers if self.papers else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "window": self.window.to_json(),
            "papers": self.papers,
            "themes": self.themes,
            "model": self.model,
            "provider": self.provider,
            "prompts": self.prompts,
            "corpus_hash": self.corpus_hash,
            "generated_at": self.generated_at,
            "seconds": round(self.seconds, 3),
            "llm_calls": self.llm_calls,
            "reused_calls": self.reused_calls,
            "calls_per_paper": round(self.calls_per_paper, 4),
            "tldrs": self.tldrs,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "cost_usd": round(self.cost_usd, 6),
            "llm_wall_s": round(self.llm_wall_s, 3),
            "clustering": self.clustering,
            "fetched": self.fetched,
            **({"model_failures": self.model_failures, "model_error": self.model_error} if self.model_failures else {}),
            "skipped": self.skipped,
        }


@dataclass
class Brief:
    window: Window
    themes: list[BriefTheme]
    highlights: list[Highlight]
    trends: Trends | None
    provenance: Provenance
    warnings: list[str] = field(default_factory=list)
    health: Health | None = None
    for_you: list[ForYou] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)  # the reader's, when the brief is ranked by them

    @property
    def papers(self) -> list[BriefPaper]:
        return [p for t in self.themes for p in t.papers]

    def to_json(self) -> dict[str, object]:
        return {
            "window": self.window.to_json(),
            "papers": len(self.papers),
            "health": self.health.to_json() if self.health else None,
            "for_you": [f.to_json() for f in self.for_you],
            "interests": self.interests,
            "highlights": [h.to_json() for h in self.highlights],
            "themes": [t.to_json() for t in self.themes],
            "trends": self.trends.to_json() if self.trends else None,
            "provenance": self.provenance.to_json(),
            "warnings": self.warnings,
        }


# --- events --------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """A stage starts: ``total`` steps follow as ``Progressed`` events (0 = one indeterminate step)."""

    name: str
    label: str
    total: int


@dataclass(frozen=True)
class Progressed:
    name: str
    advance: int = 1
    detail: str = ""


@dataclass(frozen=True)
class BriefDone:
    brief: Brief


BriefEvent = Stage | Progressed | Notice | BriefDone
