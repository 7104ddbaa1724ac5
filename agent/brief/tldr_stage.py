"""The map stage of a brief: a TL;DR per paper, cached, batched, pooled (a mixin of the run).

Kept apart from the driver in :mod:`agent.brief.pipeline` because it is the one
stage with its own scheduling: cached TL;DRs first, a cap on model TL;DRs for
small models (highlights and the most central papers first), batches for capable
models, a thread pool for API providers, and one retry alone for a paper a batch
answer skipped or botched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from agent.brief.cache import BriefCache
from agent.brief.caller import BriefCaller
from agent.brief.picks import priority
from agent.brief.tldr import Tldr, extractive_tldr, plan_batches, summarise_batch, summarise_one
from agent.brief.types import BriefEvent, Progressed, Stage
from agent.brief.work import Pick, WorkPaper, WorkTheme
from agent.llm.base import LLM
from agent.prompts import load_prompt
from agent.types import Notice

if TYPE_CHECKING:
    from agent.brief.pipeline import BriefOptions

#: In ``auto`` mode a small local model writes TL;DRs for at most this many papers
#: (highlights first, then the most central of each theme); the rest are quoted.
#: SmolLM2-135M takes ~0.5-1 s a paper on a laptop CPU and its output often fails
#: the checks anyway, so a whole 1,000-paper week would cost 15 minutes for little.
SMALL_MODEL_TLDRS = 40


class TldrStage:
    """The TL;DR stage; :class:`agent.brief.pipeline._Run` provides these attributes."""

    llm: LLM
    opts: BriefOptions
    cache: BriefCache
    caller: BriefCaller
    workers: int

    def _notice(self, message: str) -> Notice:
        raise NotImplementedError

    # --- 4. TL;DRs (map) --------------------------------------------------------------
    def _tldrs(self, entries: list[WorkPaper], themes: list[WorkTheme], picks: list[Pick]) -> Iterator[BriefEvent]:
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
        todo: list[WorkPaper] = []
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
            order = priority(themes, picks)
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

            def run(batch: list[WorkPaper]) -> list[Tldr]:
                return [summarise_one(self.caller, prompt, batch[0].paper, temp)]
        else:
            by_id = {e.paper.id: e for e in todo}
            batches = plan_batches(
                [e.paper for e in todo], prompt, context_window=self.llm.context_window, batch_size=self.opts.batch_size
            )
            jobs = [[by_id[p.id] for p in batch] for batch in batches]

            def run(batch: list[WorkPaper]) -> list[Tldr]:
                return summarise_batch(self.caller, prompt, [e.paper for e in batch], temp)

        retry: list[WorkPaper] = []
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

    def _store(self, entries: Sequence[WorkPaper], key: dict[str, str]) -> None:
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
        self, jobs: Sequence[list[WorkPaper]], run: Callable[[list[WorkPaper]], list[Tldr]]
    ) -> Iterator[tuple[list[WorkPaper], list[Tldr]]]:
        """Run ``jobs`` on ``self.workers`` threads, yielding results as they finish (main thread)."""
        if not jobs:
            return
        if self.workers == 1:
            for job in jobs:
                yield job, run(job)
            return
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="brief")
        try:
            pending: dict[Future[list[Tldr]], list[WorkPaper]] = {pool.submit(run, job): job for job in jobs}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    job = pending.pop(future)
                    yield job, future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _run_jobs(self, jobs: list[tuple[WorkTheme | None, object]]) -> Iterator[tuple[WorkTheme | None, object]]:
        """The reduce stage's calls (syntheses, highlight reasons), pooled like TL;DRs: serially
        for the local model, else on ``self.workers`` threads, yielding as each finishes."""
        if self.workers == 1:
            for theme, fn in jobs:
                yield theme, fn()  # type: ignore[operator]
            return
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="brief") as pool:
            futures: dict[Future[object], WorkTheme | None] = {pool.submit(fn): t for t, fn in jobs}  # type: ignore[arg-type]
            pending = set(futures)
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        yield futures[future], future.result()
            finally:
                for future in pending:
                    future.cancel()
