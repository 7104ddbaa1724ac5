"""The weekly brief: what was listed in a window, grouped into themes, summarised, ranked, compared.

``brief_events`` is the core every front end shares; it yields ``Stage`` and
``Progressed`` events for progress bars, ``Notice`` for anything worth telling,
and ends with ``BriefDone`` carrying the :class:`~agent.brief.types.Brief`.
``build_brief`` runs it to the end. Stages:

1. **select** the papers *listed* in the window (listing dates, not submission
   dates); when the index has none, fetch the window from Hugging Face Daily
   Papers and ingest it, or fail with one line naming ``paperbrief ingest``;
2. **vectors**: each paper's stored chunk-0 vector from Chroma (re-embedding a
   1,000-paper week costs minutes on a laptop CPU; reading it back, well under a second);
3. **themes**: deterministic clustering (``agent.brief.themes``), outliers in "Other";
4. **TL;DRs** (map): cached per paper, batched for capable models, concurrent for
   API providers (``concurrency``), serialised for the local model;
5. **names, syntheses, highlights** (reduce): one call names all themes, one call
   per theme synthesises it from its TL;DRs, one explains the highlights;
6. **trends**: the previous window's papers counted against this window's themes.

Model errors that survive the provider's retries propagate as ``LLMError``; every
TL;DR finished before them is already cached, so a re-run resumes.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np

from agent.brief.cache import BriefCache
from agent.brief.caller import BriefCaller
from agent.brief.reduce import (
    SynthItem,
    ThemeInput,
    explain_highlights,
    name_themes,
    synthesize,
)
from agent.brief.themes import (
    OTHER,
    Clustering,
    assign,
    breadth,
    centrality,
    cluster_papers,
    keyword_name,
    match_thresholds,
    min_theme_size,
    theme_keywords,
)
from agent.brief.tldr import Tldr, extractive_tldr, plan_batches, summarise_batch, summarise_one
from agent.brief.types import (
    Brief,
    BriefDone,
    BriefEvent,
    BriefPaper,
    BriefTheme,
    Highlight,
    Progressed,
    Provenance,
    Stage,
    Synthesis,
    TrendRow,
    Trends,
)
from agent.brief.weeks import Window
from agent.errors import UserError
from agent.llm.base import LLM
from agent.llm.pricing import PriceTable
from agent.prompts import load_prompt
from agent.types import Notice, run_to_end
from store.chunking import chunk_id
from store.index import Index
from store.papers import Paper

#: In ``auto`` mode a small local model writes TL;DRs for at most this many papers
#: (highlights first, then the most central of each theme); the rest are quoted.
#: SmolLM2-135M takes ~0.5-1 s a paper on a laptop CPU and its output often fails
#: the checks anyway, so a whole 1,000-paper week would cost 15 minutes for little.
SMALL_MODEL_TLDRS = 40
ARXIV_ABS = "https://arxiv.org/abs/"
INGEST_HINT = "paperbrief ingest PATH..."


class BriefError(UserError):
    """A brief that cannot be made (no papers, offline): one line, exit code 2."""

    title = "No brief for that week"
    hint = "pick another window, or ingest its papers first"


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


@dataclass(eq=False)
class _Paper:
    """A window paper on its way through the stages."""

    paper: Paper
    vector: np.ndarray
    label: int = OTHER
    centrality: float = 0.0
    breadth: float = 0.0
    tldr: Tldr | None = None
    cached: bool = False


@dataclass(eq=False)
class _Theme:
    key: int
    members: list[_Paper]
    keywords: list[str]
    name: str = ""
    name_source: Literal["model", "keywords", "fixed"] = "keywords"
    synthesis: Synthesis = field(default_factory=lambda: Synthesis("", "none"))


@dataclass(frozen=True)
class _Pick:
    entry: _Paper
    theme: _Theme
    signal: Literal["upvotes", "centrality"]


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


class _Run:
    """One brief being built; each stage is a method yielding its events."""

    def __init__(
        self,
        window: Window,
        index: Index,
        llm: LLM,
        opts: BriefOptions,
        cache: BriefCache,
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
        self.vector_sources = {"chroma": 0, "embedded": 0}
        self.workers = 1 if llm.provider == "local" else max(1, opts.concurrency)

    # --- driver -----------------------------------------------------------------------
    def events(self) -> Iterator[BriefEvent]:
        papers = yield from self._select()
        entries = yield from self._vectors(papers)
        clustering, themes = yield from self._themes(entries)
        named = sum(1 for t in themes if t.key != OTHER)
        picks = _pick_highlights(themes, self._highlight_count(len(entries), named))
        yield from self._tldrs(entries, themes, picks)
        yield from self._names(themes)
        highlights = yield from self._reduce(themes, picks)
        trends = yield from self._trends(clustering, themes)
        yield BriefDone(self._assemble(entries, clustering, themes, highlights, trends))

    def _notice(self, message: str) -> Notice:
        self.warnings.append(message)
        return Notice(message)

    # --- 1. select (and fetch) --------------------------------------------------------
    def _select(self) -> Generator[BriefEvent, None, list[Paper]]:
        papers = _window_papers(self.index, self.window)
        if papers:
            return papers
        where = f"{self.window.label} ({self.window.since}..{self.window.until})"
        if not self.opts.fetch:
            raise BriefError(f"no papers listed in {where} in the index: add them with `{INGEST_HINT}`")
        found = yield from self._fetch()
        if not found:
            raise BriefError(
                f"no papers listed in {where}: neither the index nor Hugging Face has any; "
                f"add papers with `{INGEST_HINT}`"
            )
        papers = _window_papers(self.index, self.window)
        if not papers:
            raise BriefError(f"no papers listed in {where} after fetching; add papers with `{INGEST_HINT}`")
        return papers

    def _fetch(self) -> Generator[BriefEvent, None, list[Paper]]:
        from store.errors import FetchError, SourceError
        from store.intake import add_papers
        from store.sources.fetch_hf import days_between, fetch_hf_days

        today = self.opts.today or date.today()
        try:
            days = days_between(self.window.since, min(self.window.until, today))
        except ValueError as exc:  # a window longer than a fetch may span
            raise BriefError(f"no papers listed in {self.window.label} in the index, and {exc}") from None
        found: list[Paper] = []
        yield Stage("fetch", "Fetching from Hugging Face", len(days))
        # Offline is an expected answer here, said in one line at the end: the HTTP client's
        # per-retry warnings would only repeat it (they still show with --verbose).
        http_log = logging.getLogger("store.sources.http")
        level = http_log.level
        if not http_log.isEnabledFor(logging.INFO):
            http_log.setLevel(logging.ERROR)
        try:
            for _day, papers in fetch_hf_days(self.index.config.http, days):
                found.extend(papers)
                yield Progressed("fetch", 1, f"{len(found):,} papers")
        except (FetchError, SourceError) as exc:
            reason = " ".join(str(exc).split())
            reason = reason if len(reason) <= 120 else reason[:119] + "…"
            raise BriefError(
                f"no papers listed in {self.window.label} in the index, and Hugging Face is unreachable "
                f"(offline? {reason}): add papers with `{INGEST_HINT}`"
            ) from None
        finally:
            http_log.setLevel(level)
        if not found:
            return []
        yield Stage("ingest", "Indexing fetched papers", len(found))
        # the same ingest service (and writer lock) as `paperbrief ingest`: cron + a manual ingest
        add_papers(self.index, found, what="brief fetch", on_wait=logging.getLogger(__name__).warning)
        yield Progressed("ingest", len(found))
        self.fetched = len(found)
        return found

    # --- 2. vectors -------------------------------------------------------------------
    def _vectors(self, papers: list[Paper]) -> Generator[BriefEvent, None, list[_Paper]]:
        yield Stage("vectors", "Reading paper vectors", len(papers))
        vectors = self._paper_vectors(papers)
        yield Progressed("vectors", len(papers))
        return [_Paper(p, v) for p, v in zip(papers, vectors, strict=True)]

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
    def _themes(self, entries: list[_Paper]) -> Generator[BriefEvent, None, tuple[Clustering, list[_Theme]]]:
        yield Stage("themes", "Clustering into themes", 1)
        matrix = np.stack([e.vector for e in entries])
        clustering = cluster_papers(matrix)
        cent, bread = centrality(matrix, clustering), breadth(matrix, clustering)
        texts = [f"{e.paper.title}. {e.paper.title}. {e.paper.abstract}" for e in entries]
        keywords = theme_keywords(texts, clustering.labels)
        for e, label, c, b in zip(entries, clustering.labels, cent, bread, strict=True):
            e.label, e.centrality, e.breadth = int(label), float(c), float(b)
        themes: list[_Theme] = []
        for key in [*range(clustering.n_themes), OTHER]:
            members = sorted((e for e in entries if e.label == key), key=lambda e: (-e.centrality, e.paper.id))
            if members:
                themes.append(_Theme(key, members, keywords.get(key, [])))
        yield Progressed("themes", 1, f"{clustering.n_themes} themes")
        return clustering, themes

    def _highlight_count(self, papers: int, themes: int) -> int:
        if self.opts.highlights is not None:
            return min(papers, self.opts.highlights)
        return min(papers, max(3, min(5, themes)))

    # --- 4. TL;DRs (map) --------------------------------------------------------------
    def _tldrs(self, entries: list[_Paper], themes: list[_Theme], picks: list[_Pick]) -> Iterator[BriefEvent]:
        small = self.llm.is_small
        prompt = load_prompt("brief_tldr" if small else "brief_tldr_batch")
        yield Stage("tldrs", "Writing TL;DRs", len(entries))
        if self.opts.tldrs == "extractive":
            for e in entries:
                e.tldr = Tldr(extractive_tldr(e.paper), "extractive", "extractive TL;DRs were asked for")
            yield Progressed("tldrs", len(entries), "quoted from abstracts")
            return
        self.caller.note_prompt(prompt)
        key = {"model": self.llm.name, "prompt": prompt.name, "version": prompt.version}
        hits = self.cache.get_tldrs((e.paper.text_hash for e in entries), **key)
        todo: list[_Paper] = []
        for e in entries:
            hit = hits.get(e.paper.text_hash)
            if hit is not None:
                e.tldr, e.cached = Tldr(hit.tldr, hit.mode, "cached"), True
            else:
                todo.append(e)
        if len(entries) - len(todo):
            yield Progressed("tldrs", len(entries) - len(todo), "cached")
        cap = self.opts.max_model_tldrs
        if cap is None and small and self.opts.tldrs == "auto":
            cap = SMALL_MODEL_TLDRS
        # the cap is per brief: TL;DRs already cached count against it, so a re-run adds none
        limit = None if cap is None else max(0, cap - (len(entries) - len(todo)))
        if limit is not None and len(todo) > limit:
            order = _priority(themes, picks)
            todo_ids = {id(e) for e in todo}
            chosen = [e for e in order if id(e) in todo_ids][:limit]
            keep = {id(e) for e in chosen}
            skipped = [e for e in todo if id(e) not in keep]
            for e in skipped:
                e.tldr = Tldr(extractive_tldr(e.paper), "extractive", "beyond the model TL;DR limit")
            yield self._notice(
                f"{self.llm.name} writes TL;DRs for at most {cap} papers a brief (highlights and the most central "
                f"of each theme); {len(skipped)} are quoted from their abstracts"
            )
            yield Progressed("tldrs", len(skipped))
            todo = [e for e in todo if id(e) in keep]
        temp = self.opts.temperature
        if small:
            jobs = [[e] for e in todo]

            def run(batch: list[_Paper]) -> list[Tldr]:
                return [summarise_one(self.caller, prompt, batch[0].paper, temp)]
        else:
            by_id = {e.paper.id: e for e in todo}
            batches = plan_batches(
                [e.paper for e in todo], prompt, context_window=self.llm.context_window, batch_size=self.opts.batch_size
            )
            jobs = [[by_id[p.id] for p in batch] for batch in batches]

            def run(batch: list[_Paper]) -> list[Tldr]:
                return summarise_batch(self.caller, prompt, [e.paper for e in batch], temp)

        retry: list[_Paper] = []
        for batch, tldrs in self._pool(jobs, run):
            failed = [e for e, t in zip(batch, tldrs, strict=True) if t.mode != "model" and len(batch) > 1]
            for e, t in zip(batch, tldrs, strict=True):
                e.tldr = t
            retry.extend(failed)
            done = [e for e in batch if all(e is not f for f in failed)]
            self._store(done, key)
            yield Progressed("tldrs", len(done))
        if retry:  # a batch answer that skipped or botched a paper: one more try, alone
            for batch, tldrs in self._pool([[e] for e in retry], run):
                batch[0].tldr = tldrs[0]
                self._store(batch, key)
                yield Progressed("tldrs", 1, "retried")
        quoted = sum(1 for e in entries if e.tldr and e.tldr.mode == "extractive")
        if quoted and self.opts.tldrs != "extractive":
            yield self._notice(f"{quoted} of {len(entries)} TL;DRs are quoted from abstracts (no model text)")
        if self.caller.model_failures:
            yield self._notice(
                f"the model failed on {self.caller.model_failures} call(s), so those parts are quoted: "
                f"{self.caller.model_error}"
            )

    def _store(self, entries: Sequence[_Paper], key: dict[str, str]) -> None:
        # quotes that stand in for a failed model process are not the model's verdict: don't keep them
        lost = self.caller.model_failures > 0
        rows = [
            (e.paper.text_hash, e.tldr.text, e.tldr.mode)
            for e in entries
            if e.tldr is not None and not (lost and e.tldr.mode == "extractive")
        ]
        if rows:
            self.cache.put_tldrs(rows, **key)

    def _pool(
        self, jobs: Sequence[list[_Paper]], run: Callable[[list[_Paper]], list[Tldr]]
    ) -> Iterator[tuple[list[_Paper], list[Tldr]]]:
        """Run ``jobs`` on ``self.workers`` threads, yielding results as they finish (main thread)."""
        if not jobs:
            return
        if self.workers == 1:
            for job in jobs:
                yield job, run(job)
            return
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="brief")
        try:
            pending: dict[Future[list[Tldr]], list[_Paper]] = {pool.submit(run, job): job for job in jobs}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    job = pending.pop(future)
                    yield job, future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # --- 5. names, syntheses, highlights (reduce) ----------------------------------------
    def _names(self, themes: list[_Theme]) -> Iterator[BriefEvent]:
        named = [t for t in themes if t.key != OTHER]
        for t in themes:
            t.name = "Other" if t.key == OTHER else keyword_name(t.keywords)
            t.name_source = "fixed" if t.key == OTHER else "keywords"
        if not named:
            return
        yield Stage("names", "Naming themes", 1)
        inputs = [ThemeInput(t.key, t.keywords, [e.paper.title for e in t.members[:6]]) for t in named]
        names = name_themes(
            self.caller, inputs, small=self.llm.is_small,
            context_window=self.llm.context_window, temperature=self.opts.temperature,
        )
        taken = {n.casefold() for n in names.values()}
        for t in named:
            if t.key in names:
                t.name, t.name_source = names[t.key], "model"
            elif t.name.casefold() in taken:
                t.name = f"{t.name} ({t.key + 1})"
        yield Progressed("names", 1)

    def _reduce(self, themes: list[_Theme], picks: list[_Pick]) -> Generator[BriefEvent, None, list[Highlight]]:
        named = [t for t in themes if t.key != OTHER]
        explain = bool(picks) and not self.llm.is_small
        yield Stage("syntheses", "Synthesising themes", len(named) + int(explain))
        for t in themes:
            if t.key == OTHER:
                t.synthesis = Synthesis("", "none", note="papers that fit no theme above")
        temp = self.opts.temperature

        def synth(theme: _Theme) -> Synthesis:
            items = [SynthItem(i, e.paper.title, e.tldr.text if e.tldr else "") for i, e in enumerate(theme.members, 1)]
            return synthesize(
                self.caller, theme.name, items,
                small=self.llm.is_small, context_window=self.llm.context_window, temperature=temp,
            )

        def why() -> dict[int, str]:
            items = [
                {
                    "n": i,
                    "title": p.entry.paper.title,
                    "tldr": p.entry.tldr.text if p.entry.tldr else "",
                    "theme": p.theme.name,
                    "signal": _signal_text(p),
                }
                for i, p in enumerate(picks, 1)
            ]
            return explain_highlights(self.caller, items, temperature=temp)

        reasons: dict[int, str] = {}
        if self.workers == 1:
            for t in named:
                t.synthesis = synth(t)
                yield Progressed("syntheses", 1, t.name)
            if explain:
                reasons = why()
                yield Progressed("syntheses", 1, "highlights")
        else:
            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="brief") as pool:
                futures: dict[Future[object], _Theme | None] = {pool.submit(synth, t): t for t in named}
                if explain:
                    futures[pool.submit(why)] = None
                pending = set(futures)
                try:
                    while pending:
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in finished:
                            theme = futures[future]
                            result = future.result()
                            if theme is None:
                                reasons = result  # type: ignore[assignment]
                            else:
                                theme.synthesis = result  # type: ignore[assignment]
                            yield Progressed("syntheses", 1, theme.name if theme else "highlights")
                finally:
                    for future in pending:
                        future.cancel()
        quoted = [t.name for t in named if t.synthesis.mode == "extractive"]
        if quoted:
            yield self._notice(f"{len(quoted)} of {len(named)} theme syntheses are quoted TL;DRs (model output failed)")
        everyone = [e.breadth for t in themes for e in t.members]
        bridge = float(np.percentile(everyone, 75)) if everyone else 1.0
        return [_highlight(p, reasons.get(i), bridge) for i, p in enumerate(picks, 1)]

    # --- 6. trends --------------------------------------------------------------------
    def _trends(self, clustering: Clustering, themes: list[_Theme]) -> Generator[BriefEvent, None, Trends]:
        previous = self.window.previous()
        papers = _window_papers(self.index, previous)
        if not papers:
            return Trends(previous, 0, [])
        yield Stage("trends", "Comparing with the previous window", 1)
        vectors = self._paper_vectors(papers)
        labels = assign(vectors, clustering, _thresholds(themes, clustering))
        rows: list[TrendRow] = []
        for t in themes:
            if t.key == OTHER:
                continue
            before = int(np.count_nonzero(labels == t.key))
            rows.append(TrendRow(t.name, len(t.members), before, _status(len(t.members), before)))
        unmatched = np.flatnonzero(labels == OTHER)
        if len(unmatched) >= 3:
            gone = cluster_papers(vectors[unmatched])
            texts = [f"{papers[i].title}. {papers[i].abstract}" for i in unmatched]
            words = theme_keywords(texts, gone.labels)
            floor = min_theme_size(len(papers))
            for key in range(gone.n_themes):
                size = len(gone.members(key))
                if size >= floor:
                    rows.append(TrendRow(keyword_name(words.get(key, [])), 0, size, "gone"))
        order = {"new": 0, "grew": 1, "shrank": 2, "gone": 3, "steady": 4}
        rows.sort(key=lambda r: (order[r.status], -abs(r.change), r.theme))
        yield Progressed("trends", 1)
        return Trends(previous, len(papers), rows)

    # --- assembly -----------------------------------------------------------------------
    def _assemble(
        self,
        entries: list[_Paper],
        clustering: Clustering,
        themes: list[_Theme],
        highlights: list[Highlight],
        trends: Trends,
    ) -> Brief:
        out_themes = [
            BriefTheme(
                t.key, t.name, t.name_source, t.keywords,
                [_brief_paper(i, e) for i, e in enumerate(t.members, 1)],
                t.synthesis,
            )
            for t in themes
        ]
        modes = {"model": 0, "extractive": 0, "cached": 0}
        for e in entries:
            if e.tldr:
                modes[e.tldr.mode] = modes.get(e.tldr.mode, 0) + 1
            modes["cached"] += int(e.cached)
        usage = self.caller.usage
        provenance = Provenance(
            window=self.window,
            papers=len(entries),
            themes=sum(1 for t in themes if t.key != OTHER),
            model=self.llm.name,
            provider=self.llm.provider,
            prompts=dict(sorted(self.caller.prompts.items())),
            corpus_hash=corpus_hash(e.paper for e in entries),
            generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=time.perf_counter() - self.started,
            llm_calls=self.caller.calls,
            reused_calls=self.caller.reused,
            tldrs=modes,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=self.caller.cost,
            llm_wall_s=self.caller.llm_wall_s(),
            clustering={
                "method": "ward + silhouette",
                "k": clustering.chosen_k,
                "candidates": [list(c) for c in clustering.candidates],
                "other": int(np.count_nonzero(clustering.labels == OTHER)),
                "embedding_model": self.index.config.embedding.model_id,
                "vectors": dict(self.vector_sources),
            },
            fetched=self.fetched,
            model_failures=self.caller.model_failures,
            model_error=self.caller.model_error,
        )
        return Brief(self.window, out_themes, highlights, trends, provenance, list(self.warnings))


# --- helpers -------------------------------------------------------------------------------


def _window_papers(index: Index, window: Window) -> list[Paper]:
    """Papers listed in the window, in id order (stable input to clustering and caches)."""
    return sorted(index.catalog.list_papers(window.since, window.until), key=lambda p: p.id)


def corpus_hash(papers: Iterator[Paper] | Sequence[Paper]) -> str:
    """What the brief was made from: the window's paper ids and text hashes, order-free."""
    lines = sorted(f"{p.id}:{p.text_hash}" for p in papers)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def paper_url(paper: Paper) -> str | None:
    if paper.url:
        return paper.url
    return ARXIV_ABS + paper.arxiv_id if paper.arxiv_id else None


def _brief_paper(n: int, e: _Paper) -> BriefPaper:
    tldr = e.tldr or Tldr(extractive_tldr(e.paper), "extractive")
    mode: Literal["model", "extractive"] = "model" if tldr.mode == "model" else "extractive"
    p = e.paper
    return BriefPaper(
        n, p.id, p.title, paper_url(p), tldr.text, mode, p.listing_dates, p.upvotes, e.centrality, e.cached
    )


def _thresholds(themes: list[_Theme], clustering: Clustering) -> np.ndarray:
    members = [e for t in themes for e in t.members]
    if not members:
        return np.zeros(0, dtype=np.float32)
    vectors = np.stack([e.vector for e in members])
    labelled = Clustering(np.array([e.label for e in members]), clustering.centroids)
    return match_thresholds(vectors, labelled)


def _status(current: int, previous: int) -> Literal["new", "grew", "shrank", "steady"]:
    """``new`` when absent before; ``grew``/``shrank`` by at least 2 papers and 25%; else ``steady``."""
    if previous == 0:
        return "new"
    step = max(2, math.ceil(previous * 0.25))
    if current - previous >= step:
        return "grew"
    if previous - current >= step:
        return "shrank"
    return "steady"


def _pick_highlights(themes: list[_Theme], count: int) -> list[_Pick]:
    """The papers to read first: most upvoted when HF upvotes are known, else central and broad.

    At most two per theme, so one busy theme cannot fill the list; without upvotes,
    the best paper of each of the largest themes, scored by centrality plus half its breadth.
    """
    if count <= 0:
        return []
    named = [t for t in themes if t.key != OTHER] or themes
    picks: list[_Pick] = []
    per_theme: dict[int, int] = {}
    voted = sorted(
        ((e, t) for t in themes for e in t.members if e.paper.upvotes is not None),
        key=lambda pair: (-(pair[0].paper.upvotes or 0), -pair[0].centrality, pair[0].paper.id),
    )
    for e, t in voted:
        if len(picks) >= count:
            break
        if per_theme.get(t.key, 0) < 2:
            picks.append(_Pick(e, t, "upvotes"))
            per_theme[t.key] = per_theme.get(t.key, 0) + 1
    chosen = {id(p.entry) for p in picks}
    rounds = 0
    while len(picks) < count and rounds < 3:
        for t in named:
            if len(picks) >= count:
                break
            best = max(
                (e for e in t.members if id(e) not in chosen),
                key=lambda e: (e.centrality + 0.5 * e.breadth, e.paper.id),
                default=None,
            )
            if best is not None and per_theme.get(t.key, 0) <= rounds:
                picks.append(_Pick(best, t, "centrality"))
                chosen.add(id(best))
                per_theme[t.key] = per_theme.get(t.key, 0) + 1
        rounds += 1
    return picks


def _priority(themes: list[_Theme], picks: list[_Pick]) -> list[_Paper]:
    """Who gets a model TL;DR first when they are capped: highlights, then round-robin by centrality."""
    order = [p.entry for p in picks]
    seen = {id(e) for e in order}
    depth = max((len(t.members) for t in themes), default=0)
    for rank in range(depth):
        for t in themes:
            if rank < len(t.members) and id(t.members[rank]) not in seen:
                order.append(t.members[rank])
                seen.add(id(t.members[rank]))
    return order


def _signal_text(pick: _Pick) -> str:
    if pick.signal == "upvotes":
        return f"{pick.entry.paper.upvotes} upvotes on Hugging Face"
    return f"most representative paper of a theme of {len(pick.theme.members)} papers"


def _highlight(pick: _Pick, why: str | None, bridge: float) -> Highlight:
    p = pick.entry.paper
    return Highlight(
        p.id, p.title, paper_url(p), pick.theme.name,
        why or _data_reason(pick, bridge), "model" if why else "data", pick.signal, p.upvotes,
    )


def _data_reason(pick: _Pick, bridge: float) -> str:
    """Why, from the ranking signal alone (no model text); ``bridge`` is the breadth of the top quarter."""
    size = len(pick.theme.members)
    if pick.signal == "upvotes":
        return f"Among the most upvoted papers on Hugging Face this window ({pick.entry.paper.upvotes} upvotes)."
    also = ", and it also bridges to other themes" if pick.entry.breadth >= bridge else ""
    return f"The most representative paper of “{pick.theme.name}” ({size} papers){also}."
