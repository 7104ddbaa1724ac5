"""The weekly brief: what was listed in a window, grouped into themes, summarised, ranked, compared.

``brief_events`` is the core every front end shares; it yields ``Stage`` and
``Progressed`` events for progress bars, ``Notice`` for anything worth telling,
and ends with ``BriefDone`` carrying the :class:`~agent.brief.types.Brief`.
``build_brief`` runs it to the end. Stages:

1. **select** the papers *listed* in the window (listing dates, not submission
   dates); when the index has none, fetch the window from Hugging Face Daily
   Papers and ingest it, or fail with one line giving the likely reason
   (weekend or holiday, source not updated yet, filters) and naming ``paperbrief ingest``;
2. **vectors**: each paper's stored chunk-0 vector from Chroma (re-embedding a
   1,000-paper week costs minutes on a laptop CPU; reading it back, well under a second);
3. **themes**: deterministic clustering (``agent.brief.themes``), big themes split
   (``balance``), outliers in "Other", labelled by key phrases (``agent.brief.labels``);
4. **TL;DRs** (map, ``agent.brief.tldr_stage``): cached per paper, batched for
   capable models, concurrent for API providers, serialised for the local model;
5. **names, syntheses, highlights** (reduce): skipped for a small model whose
   measured pass rate is low (``agent.brief.tasks``), and said so in the provenance;
6. **reader**: interests and stars rank themes and fill "For you" (``store.affinity``);
7. **trends**: the previous window's papers counted against this window's themes.

Model errors that survive the provider's retries propagate as ``LLMError``; every
TL;DR finished before them is already cached, so a re-run resumes.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, Literal

import numpy as np

from agent.brief import assemble
from agent.brief.cache import BriefCache
from agent.brief.caller import BriefCaller
from agent.brief.fetch import INGEST_HINT, BriefError, fetch_window
from agent.brief.health import empty_reason, paper_status, run_health
from agent.brief.labels import key_phrases, theme_label, valid_label
from agent.brief.picks import (
    for_you_entry,
    highlight,
    pick_for_you,
    pick_highlights,
    rank_themes,
    reasons,
    signal_text,
)
from agent.brief.reduce import (
    SynthItem,
    ThemeInput,
    explain_highlights,
    extractive_synthesis,
    name_themes,
    synthesize,
)
from agent.brief.tasks import TASK_LABELS, skipped_tasks
from agent.brief.themes import OTHER, Clustering, balance, breadth, centrality, cluster_papers, theme_keywords
from agent.brief.tldr_stage import TldrStage
from agent.brief.types import (
    Brief,
    BriefDone,
    BriefEvent,
    Highlight,
    Progressed,
    Provenance,
    Stage,
    Synthesis,
    Trends,
)
from agent.brief.weeks import Window
from agent.brief.work import Pick, WorkPaper, WorkTheme
from agent.llm.base import LLM
from agent.llm.pricing import PriceTable
from agent.types import Notice, run_to_end
from store.affinity import Affinity
from store.chunking import chunk_id
from store.index import Index
from store.papers import Paper

__all__ = ["INGEST_HINT", "BriefError", "BriefOptions", "brief_events", "build_brief"]
#: Novelty is judged against this many earlier weeks of listings.
NOVELTY_WEEKS = 4


@dataclass(frozen=True)
class BriefOptions:
    """How to build a brief; the defaults suit a weekly run."""

    fetch: bool = True  # fetch an empty window from Hugging Face first
    concurrency: int = 4  # parallel requests to an API provider (the local model is serialised)
    tldrs: Literal["auto", "model", "extractive"] = "auto"
    max_model_tldrs: int | None = None  # cap on model-written TL;DRs (None: all, or SMALL_MODEL_TLDRS)
    batch_size: int = 10  # papers per TL;DR call for capable models
    highlights: int | None = None  # None: 3 to 5, by the number of themes
    temperature: float = 0.0
    today: date | None = None
    for_everyone: bool = False  # ignore the reader's interests and stars
    affinity: Affinity | None = None  # the reader's; None: read from the data dir


def brief_events(
    window: Window,
    *,
    index: Index,
    llm: LLM,
    options: BriefOptions | None = None,
    cache: BriefCache | None = None,
    prices: PriceTable | None = None,
) -> Iterator[BriefEvent]:
    """Build the brief for ``window``, yielding events (see the module docstring)."""
    opts = options or BriefOptions()
    own = cache is None
    store = cache or BriefCache.for_data_dir(index.config.data_dir)
    try:
        yield from _Run(window, index, llm, opts, store, prices).events()
    finally:
        if own:
            store.close()


def build_brief(window: Window, **kwargs: Any) -> Brief:
    """Run ``brief_events`` to the end and return the brief (for scripts, benchmarks, tests)."""
    return run_to_end(brief_events(window, **kwargs), BriefDone).brief


class _Run(TldrStage):
    """One brief being built; each stage is a method yielding its events."""

    def __init__(
        self, window: Window, index: Index, llm: LLM, opts: BriefOptions, cache: BriefCache,
        prices: PriceTable | None,
    ) -> None:
        self.window = window
        self.index = index
        self.llm = llm
        self.opts = opts
        self.cache = cache
        self.caller = BriefCaller(llm, cache, prices=prices)
        self.started = time.perf_counter()
        self.warnings: list[str] = []
        self.fetched = 0
        self.source_errors: list[str] = []
        self.vector_sources = {"chroma": 0, "embedded": 0}
        self.workers = 1 if llm.provider == "local" else max(1, opts.concurrency)
        self.skipped = skipped_tasks(llm)
        self.affinity: Affinity | None = None

    # --- driver -----------------------------------------------------------------------
    def events(self) -> Iterator[BriefEvent]:
        papers = yield from self._select()
        entries = yield from self._vectors(papers)
        clustering, themes = yield from self._themes(entries)
        yield from self._reader(entries)
        named = sum(1 for t in themes if t.key != OTHER)
        picks = pick_highlights(themes, self._highlight_count(len(entries), named))
        yield from self._tldrs(entries, themes, picks)
        yield from self._names(themes)
        earlier = self._novelty(entries)
        highlights = yield from self._reduce(themes, picks, earlier)
        previous = self.window.previous()
        before = assemble.window_papers(self.index, previous)
        if before:
            yield Stage("trends", "Comparing with the previous window", 1)
        trends = assemble.trends(previous, before, self._paper_vectors(before), clustering, themes)
        if before:
            yield Progressed("trends", 1)
        yield BriefDone(self._assemble(entries, clustering, rank_themes(themes), highlights, trends))

    def _notice(self, message: str) -> Notice:
        self.warnings.append(message)
        return Notice(message)

    # --- 1. select (and fetch) --------------------------------------------------------
    def _select(self) -> Generator[BriefEvent, None, list[Paper]]:
        papers = assemble.window_papers(self.index, self.window)
        if papers:
            return papers
        where = f"{self.window.label} ({self.window.since}..{self.window.until})"
        today = self.opts.today or date.today()
        if self.opts.fetch:
            found, errors = yield from fetch_window(self.index, self.window, today)
            self.fetched, self.source_errors = len(found), errors
            papers = assemble.window_papers(self.index, self.window)
            if papers:
                return papers
        newest = self.index.catalog.listing_range()[1]
        why = empty_reason(self.window, today=today, newest=newest)
        tried = "the index" + (" and Hugging Face" if self.opts.fetch else "")
        offline = f"; Hugging Face is unreachable (offline? {self.source_errors[0]})" if self.source_errors else ""
        raise BriefError(
            f"no papers listed in {where} in {tried}: likely {why}{offline}; add papers with `{INGEST_HINT}`"
        )

    # --- 2. vectors -------------------------------------------------------------------
    def _vectors(self, papers: list[Paper]) -> Generator[BriefEvent, None, list[WorkPaper]]:
        yield Stage("vectors", "Reading paper vectors", len(papers))
        vectors = self._paper_vectors(papers)
        yield Progressed("vectors", len(papers))
        return [
            WorkPaper(p, v, status=paper_status(p, self.window)) for p, v in zip(papers, vectors, strict=True)
        ]

    def _paper_vectors(self, papers: Sequence[Paper]) -> np.ndarray:
        """Each paper's chunk-0 vector from Chroma; the few missing there are embedded now."""
        if not papers:
            return np.zeros((0, 0), dtype=np.float32)
        stored = self.index.vectors.get_vectors([chunk_id(p.id, 0) for p in papers])
        missing = [p for p in papers if chunk_id(p.id, 0) not in stored]
        if missing:
            fresh = self.index.embedder.embed([f"{p.title}\n\n{p.abstract}" for p in missing])
            stored.update({chunk_id(p.id, 0): v for p, v in zip(missing, fresh, strict=True)})
        self.vector_sources["chroma"] += len(papers) - len(missing)
        self.vector_sources["embedded"] += len(missing)
        return np.stack([stored[chunk_id(p.id, 0)] for p in papers]).astype(np.float32)

    # --- 3. themes --------------------------------------------------------------------
    def _themes(
        self, entries: list[WorkPaper]
    ) -> Generator[BriefEvent, None, tuple[Clustering, list[WorkTheme]]]:
        yield Stage("themes", "Clustering into themes", 1)
        matrix = np.stack([e.vector for e in entries])
        clustering = balance(matrix, cluster_papers(matrix))
        cent, bread = centrality(matrix, clustering), breadth(matrix, clustering)
        texts = [f"{e.paper.title}. {e.paper.title}. {e.paper.abstract}" for e in entries]
        keywords = theme_keywords(texts, clustering.labels)
        phrases = key_phrases(texts, clustering.labels)
        for e, label, c, b in zip(entries, clustering.labels, cent, bread, strict=True):
            e.label, e.centrality, e.breadth = int(label), float(c), float(b)
        themes: list[WorkTheme] = []
        for key in [*range(clustering.n_themes), OTHER]:
            members = sorted((e for e in entries if e.label == key), key=lambda e: (-e.centrality, e.paper.id))
            if members:
                themes.append(WorkTheme(key, members, keywords.get(key, []), phrases.get(key, [])))
        yield Progressed("themes", 1, f"{clustering.n_themes} themes")
        return clustering, themes

    def _highlight_count(self, papers: int, themes: int) -> int:
        if self.opts.highlights is not None:
            return min(papers, self.opts.highlights)
        return min(papers, max(3, min(5, themes)))

    # --- reader: interests and stars ----------------------------------------------------
    def _reader(self, entries: list[WorkPaper]) -> Iterator[BriefEvent]:
        if self.opts.for_everyone:
            return
        self.affinity = self.opts.affinity or Affinity.for_index(self.index)
        if self.affinity is None:
            return
        yield Stage("reader", "Ranking by your interests", 1)
        for e, match in zip(entries, self.affinity.score(np.stack([e.vector for e in entries])), strict=True):
            e.match = match
        yield Progressed("reader", 1)

    def _novelty(self, entries: list[WorkPaper]) -> int:
        """Compare the window with up to ``NOVELTY_WEEKS`` earlier weeks; returns how many papers that was."""
        since = self.window.since - timedelta(days=7 * NOVELTY_WEEKS)
        earlier = [
            p for p in self.index.catalog.list_papers(since, self.window.since - timedelta(days=1))
            if p.first_listed is not None and p.first_listed < self.window.since
        ]
        mine = {e.paper.id for e in entries}
        earlier = [p for p in earlier if p.id not in mine]
        return assemble.novelty(entries, earlier, self._paper_vectors)

    # --- 5. names, syntheses, highlights (reduce) ----------------------------------------
    def _names(self, themes: list[WorkTheme]) -> Iterator[BriefEvent]:
        named = [t for t in themes if t.key != OTHER]
        for t in themes:
            t.name = "Other" if t.key == OTHER else theme_label(t.phrases or t.keywords)
            t.name_source = "fixed" if t.key == OTHER else "keywords"
        taken: set[str] = set()
        for t in named:  # two themes with one label: number the later ones
            if t.name.casefold() in taken:
                t.name = f"{t.name} ({t.key + 1})"
            taken.add(t.name.casefold())
        if not named or "theme_name" in self.skipped:
            return
        yield Stage("names", "Naming themes", 1)
        inputs = [ThemeInput(t.key, t.phrases or t.keywords, [e.paper.title for e in t.members[:6]]) for t in named]
        names = name_themes(
            self.caller, inputs, small=self.llm.is_small,
            context_window=self.llm.context_window, temperature=self.opts.temperature,
        )
        taken = {t.name.casefold() for t in named}
        for t in named:
            name = names.get(t.key)
            if name and valid_label(name) and name.casefold() not in taken - {t.name.casefold()}:
                taken.discard(t.name.casefold())
                t.name, t.name_source = name, "model"
                taken.add(name.casefold())
        yield Progressed("names", 1)

    def _reduce(
        self, themes: list[WorkTheme], picks: list[Pick], earlier: int
    ) -> Generator[BriefEvent, None, list[Highlight]]:
        named = [t for t in themes if t.key != OTHER]
        skip_synth = "synthesis" in self.skipped
        explain = bool(picks) and not self.llm.is_small
        yield Stage("syntheses", "Synthesising themes", (0 if skip_synth else len(named)) + int(explain))
        temp = self.opts.temperature
        for t in themes:
            if t.key == OTHER:
                t.synthesis = Synthesis("", "none", note="papers that fit no theme above")
            elif skip_synth:
                items = [_synth_item(i, e) for i, e in enumerate(t.members, 1)]
                t.synthesis = extractive_synthesis(items, note=f"syntheses skipped ({self.skipped['synthesis']})")

        def synth(theme: WorkTheme) -> Synthesis:
            items = [_synth_item(i, e) for i, e in enumerate(theme.members, 1)]
            return synthesize(
                self.caller, theme.name, items,
                small=self.llm.is_small, context_window=self.llm.context_window, temperature=temp,
            )

        def why() -> dict[int, str]:
            items = [
                {"n": i, "title": p.entry.paper.title, "tldr": p.entry.tldr.text if p.entry.tldr else "",
                 "theme": p.theme.name, "signal": signal_text(p)}
                for i, p in enumerate(picks, 1)
            ]
            return explain_highlights(self.caller, items, temperature=temp)

        jobs: list[tuple[WorkTheme | None, object]] = [] if skip_synth else [(t, partial(synth, t)) for t in named]
        if explain:
            jobs.append((None, why))
        reasons_by_n: dict[int, str] = {}
        for theme, result in self._run_jobs(jobs):
            if theme is None:
                reasons_by_n = result  # type: ignore[assignment]
            else:
                theme.synthesis = result  # type: ignore[assignment]
            yield Progressed("syntheses", 1, theme.name if theme else "highlights")
        quoted = [t.name for t in named if t.synthesis.mode == "extractive" and not skip_synth]
        if quoted:
            yield self._notice(f"{len(quoted)} of {len(named)} theme syntheses are quoted TL;DRs (model output failed)")
        everyone = [e.breadth for t in themes for e in t.members]
        bridge = float(np.percentile(everyone, 75)) if everyone else 1.0
        voted = sorted((e.paper.upvotes for t in themes for e in t.members if e.paper.upvotes is not None),
                       reverse=True)
        out = []
        for i, p in enumerate(picks, 1):
            rank = voted.index(p.entry.paper.upvotes) + 1 if p.entry.paper.upvotes is not None else 0
            parts = reasons(p, rank=rank, themes=themes, bridge=bridge, earlier=earlier)
            out.append(highlight(p, reasons_by_n.get(i), parts))
        return out

    # --- assembly -----------------------------------------------------------------------
    def _assemble(
        self, entries: list[WorkPaper], clustering: Clustering, themes: list[WorkTheme],
        highlights: list[Highlight], trends: Trends,
    ) -> Brief:
        modes = {"model": 0, "extractive": 0, "cached": 0}
        for e in entries:
            if e.tldr:
                modes[e.tldr.mode] = modes.get(e.tldr.mode, 0) + 1
            modes["cached"] += int(e.cached)
        provenance = Provenance(
            window=self.window,
            papers=len(entries),
            themes=sum(1 for t in themes if t.key != OTHER),
            model=self.llm.name,
            provider=self.llm.provider,
            prompts=dict(sorted(self.caller.prompts.items())),
            corpus_hash=assemble.corpus_hash(e.paper for e in entries),
            generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=time.perf_counter() - self.started,
            llm_calls=self.caller.calls,
            reused_calls=self.caller.reused,
            tldrs=modes,
            prompt_tokens=self.caller.usage.prompt_tokens,
            completion_tokens=self.caller.usage.completion_tokens,
            cost_usd=self.caller.cost,
            llm_wall_s=self.caller.llm_wall_s(),
            clustering=assemble.clustering_record(clustering, self.index.config.embedding.model_id,
                                                  self.vector_sources),
            fetched=self.fetched,
            model_failures=self.caller.model_failures,
            model_error=self.caller.model_error,
            skipped={TASK_LABELS.get(k, k): v for k, v in self.skipped.items()},
        )
        health = run_health([e.paper for e in entries], self.window, fetched=self.fetched,
                            source_errors=self.source_errors)
        health.newest_listing = self.index.catalog.listing_range()[1]
        return Brief(
            self.window, assemble.brief_themes(themes), highlights, trends, provenance, list(self.warnings),
            health=health,
            for_you=[for_you_entry(p) for p in pick_for_you(themes)] if self.affinity is not None else [],
            interests=[n for n, k in zip(self.affinity.names, self.affinity.kinds, strict=True) if k == "interest"]
            if self.affinity is not None else [],
        )


def _synth_item(i: int, e: WorkPaper) -> SynthItem:
    return SynthItem(i, e.paper.title, e.tldr.text if e.tldr else "")
