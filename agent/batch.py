"""Scripted question batches: many questions through ``ask``, in parallel, written as they finish.

The runner answers each :class:`~agent.batch_io.Job` with :func:`agent.ask.ask_events`
(so a batch answer is exactly what ``paperbrief ask --json`` prints) and writes one
line per job to the answers file the moment it is done: ``{"id", "status": "ok",
...Answer.to_json()}`` or ``{"id", "status": "error", "error", "question",
"latency_ms"}``. A failure in one question (a provider error after its retries, a
bad date on its row, anything else it raises) becomes its error line and never
stops the others.

Concurrency: ``concurrency`` worker threads share one model and the heavy,
thread-safe parts of one ``Index`` (the ONNX embedder, the Chroma client, BM25);
each worker reads the catalog through its own SQLite connection
(:class:`WorkerIndex`), because ``Catalog`` wraps one connection that two threads
must not use at once. Measured on 1,000 real abstracts on 2 shared, busy cores:
retrieval alone ran 1.1-1.45x faster than through one shared ``Index`` behind a
lock (Chroma and onnxruntime release the GIL, so retrievals can overlap), and a
whole batch at concurrency 16 against a 0.5 s loopback model was as fast or
faster (1,010 vs 1,003 and 973 vs 806 questions/min in two runs). A fully
separate ``Index`` per worker was the worst: 2.5-15 s to open and warm each,
and 3 GB of memory at 16 workers. Concurrent results matched serial ones
exactly. ``index_lock=True`` keeps the locked variant for comparison.

An API model answers ``concurrency`` questions at once. The local llama.cpp model
generates one answer at a time (``LocalLLM`` takes turns behind its own lock), so
for it the batch uses at most :data:`LOCAL_WORKERS` workers: one generating while
the next question's retrieval runs, never more waiting in line. Retrieval is
~0.1 s against seconds of generation, so the overlap can only gain a little.

Output order is completion order; ids say which line answers which question.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

from agent.ask import AskError, AskOptions, ask_events
from agent.batch_io import BatchInput, Job, JsonlWriter, ResumePlan
from agent.llm.base import LLM, LLMError, Usage
from agent.llm.pricing import PriceTable
from agent.types import Answer, Done, Retrieved
from store.bm25 import Bm25Index
from store.catalog import Catalog
from store.errors import StoreError
from store.index import Index

if TYPE_CHECKING:
    from store.embeddings import VectorEmbeddings
    from store.vectors import VectorStore

#: Workers for the local model: one generating, one retrieving the next question.
LOCAL_WORKERS = 2


class JobError(Exception):
    """A question that cannot run as written (a bad date on its row)."""


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise JobError(f"{name}: {value!r} is not a date (expected YYYY-MM-DD)") from None
    if not 1990 <= day.year <= date.today().year + 1:
        raise JobError(f"{name}: {value} is outside the range of paper listings")
    return day


def job_options(job: Job, base: AskOptions) -> AskOptions:
    """The ask options for one job: its row's ``since``/``until`` replace the batch's own."""
    since = _day(job.since, "since") if job.since is not None else base.since
    until = _day(job.until, "until") if job.until is not None else base.until
    if since and until and since > until:
        raise JobError(f"since {since} is after until {until}")
    return replace(base, since=since, until=until)


class WorkerIndex(Index):
    """``shared`` seen through this worker's own catalog connection.

    The embedder, the Chroma client and BM25 are the shared index's own objects
    (read-only during a batch, and safe across threads); BM25's freshness check
    reads the shared catalog, so it takes ``lock`` (and a rebuild after a
    concurrent ingest happens once, not once per worker).
    """

    def __init__(self, shared: Index, lock: threading.Lock) -> None:
        self.config = shared.config
        self.catalog = Catalog(shared.config.catalog_path)
        self._shared = shared
        self._lock = lock

    @cached_property
    def vectors(self) -> VectorStore:
        return self._shared.vectors

    @cached_property
    def embedder(self) -> VectorEmbeddings:
        return self._shared.embedder

    def bm25(self) -> Bm25Index:
        with self._lock:
            return self._shared.bm25()


def warm_up(index: Index, llm: LLM) -> None:
    """Load what every answer needs before the clock starts (and before threads race for it)."""
    index.bm25()
    if index.vectors.count():
        index.embedder.embed(["warm up"])
    load = getattr(getattr(llm, "inner", llm), "load", None)
    if callable(load):
        load()


def workers_for(llm: LLM, concurrency: int) -> int:
    return min(concurrency, LOCAL_WORKERS) if llm.provider == "local" else concurrency


@dataclass(frozen=True)
class JobResult:
    job: Job
    record: dict[str, Any]
    seconds: float
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0

    @property
    def ok(self) -> bool:
        return self.record["status"] == "ok"


def answer_with_lock(
    question: str,
    *,
    index: Index,
    llm: LLM,
    options: AskOptions,
    prices: PriceTable | None = None,
    index_lock: contextlib.AbstractContextManager[Any] | None = None,
) -> Answer:
    """``ask`` with its index part (up to ``Retrieved``) under ``index_lock``."""
    events = ask_events(question, index=index, llm=llm, options=options, prices=prices)
    try:
        with index_lock or contextlib.nullcontext():
            for event in events:
                if isinstance(event, Done):
                    return event.answer
                if isinstance(event, Retrieved):
                    break
        for event in events:
            if isinstance(event, Done):
                return event.answer
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    raise RuntimeError("ask_events ended without an answer")


def _message(exc: BaseException) -> str:
    if isinstance(exc, LLMError | AskError | StoreError | JobError):
        return " ".join(str(exc).split())
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def answer_job(
    job: Job,
    *,
    index: Index,
    llm: LLM,
    options: AskOptions,
    prices: PriceTable | None = None,
    index_lock: contextlib.AbstractContextManager[Any] | None = None,
) -> JobResult:
    """One job to one output record; never raises for a failed question."""
    started = time.perf_counter()
    try:
        opts = job_options(job, options)
        answer = answer_with_lock(
            job.question, index=index, llm=llm, options=opts, prices=prices, index_lock=index_lock
        )
    except Exception as exc:
        seconds = time.perf_counter() - started
        record = {
            "id": job.id,
            "status": "error",
            "error": _message(exc),
            "question": job.question,
            "latency_ms": int(seconds * 1000),
        }
        return JobResult(job, record, seconds)
    seconds = time.perf_counter() - started
    return JobResult(job, {"id": job.id, "status": "ok", **answer.to_json()}, seconds, answer.usage, answer.cost_usd)


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile (``p`` in 0..100), ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


@dataclass
class BatchStats:
    """Counts and timings of one run, updated as results arrive (for the progress bar too)."""

    total: int = 0
    ok: int = 0
    failed: int = 0
    abstained: int = 0
    extractive: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (id, message), first few

    @property
    def done(self) -> int:
        return self.ok + self.failed

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def per_minute(self) -> float:
        return self.done / self.elapsed_s * 60 if self.elapsed_s > 0 else 0.0

    def add(self, result: JobResult) -> None:
        if result.ok:
            self.ok += 1
            self.latencies_ms.append(result.seconds * 1000)
            self.abstained += bool(result.record.get("abstained"))
            self.extractive += result.record.get("mode") == "extractive"
        else:
            self.failed += 1
            if len(self.errors) < 20:
                self.errors.append((result.job.id, str(result.record["error"])))
        self.prompt_tokens += result.usage.prompt_tokens
        self.completion_tokens += result.usage.completion_tokens
        self.cost_usd += result.cost_usd


class BatchRun:
    """Runs jobs on worker threads and writes each result as it arrives.

    Workers are daemon threads: after an interrupt the main thread writes what has
    finished, and a question still waiting on a model is abandoned (``--resume``
    asks it again) instead of holding the process open.
    """

    def __init__(
        self,
        jobs: list[Job],
        *,
        index: Index,
        llm: LLM,
        writer: JsonlWriter,
        options: AskOptions | None = None,
        concurrency: int = 4,
        prices: PriceTable | None = None,
        on_result: Callable[[JobResult, BatchStats], None] | None = None,
        index_lock: bool = False,
    ) -> None:
        self.jobs = jobs
        self.index = index
        self.llm = llm
        self.writer = writer
        self.options = options or AskOptions()
        self.workers = max(1, min(workers_for(llm, concurrency), len(jobs) or 1))
        self.prices = prices
        self.on_result = on_result
        self.stats = BatchStats(total=len(jobs))
        self.stop = threading.Event()
        self.index_lock = index_lock
        self.load_s = 0.0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._todo: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[JobResult] = queue.SimpleQueue()

    def _work(self) -> None:
        index: Index | None = self.index
        setup_error: Exception | None = None
        if not self.index_lock:
            try:
                index = WorkerIndex(self.index, self._lock)
            except Exception as exc:  # the questions this worker takes fail; the batch goes on
                index, setup_error = None, exc
        try:
            while not self.stop.is_set():
                job = self._todo.get()
                if job is None:
                    return
                if index is None:
                    message = f"cannot open the index: {_message(setup_error or RuntimeError())}"
                    record = {"id": job.id, "status": "error", "error": message, "question": job.question}
                    self._results.put(JobResult(job, record, 0.0))
                    continue
                self._results.put(
                    answer_job(
                        job,
                        index=index,
                        llm=self.llm,
                        options=self.options,
                        prices=self.prices,
                        index_lock=self._lock if self.index_lock else None,
                    )
                )
        finally:
            if index is not None and index is not self.index:
                index.close()

    def _record(self, result: JobResult) -> None:
        self.writer.write(result.record)
        self.stats.add(result)
        if self.on_result is not None:
            self.on_result(result, self.stats)

    def run(self) -> BatchStats:
        started = time.perf_counter()
        if self.jobs:
            warm_up(self.index, self.llm)
        self.load_s = time.perf_counter() - started
        self.stats = BatchStats(total=len(self.jobs))
        for job in self.jobs:
            self._todo.put(job)
        for _ in range(self.workers):
            self._todo.put(None)
        threads = [threading.Thread(target=self._work, name=f"batch-{i}", daemon=True) for i in range(self.workers)]
        self._threads = threads
        for thread in threads:
            thread.start()
        try:
            while self.stats.done < len(self.jobs):
                try:
                    result = self._results.get(timeout=0.5)
                except queue.Empty:
                    if not any(t.is_alive() for t in threads) and self._results.empty():
                        raise RuntimeError("the batch workers stopped before every question was answered") from None
                    continue
                self._record(result)
        except BaseException:
            self.stop.set()
            self._drain()
            raise
        finally:
            self.stats.finished = time.perf_counter()
        for thread in threads:  # each has its stop sentinel: they are on their way out
            thread.join(timeout=5)
        return self.stats

    @property
    def abandoned(self) -> bool:
        """Workers still running (after an interrupt): the process should leave with ``os._exit``,
        since finalizing the interpreter under threads inside native code can crash it."""
        return any(t.is_alive() for t in self._threads)

    def _drain(self) -> None:
        """After an interrupt, keep the answers that already finished."""
        with contextlib.suppress(BaseException):
            while True:
                self._record(self._results.get_nowait())


def summary(
    batch: BatchInput,
    stats: BatchStats,
    *,
    plan: ResumePlan | None = None,
    output: str,
    model: str,
    workers: int,
    load_s: float = 0.0,
    interrupted: bool = False,
) -> dict[str, Any]:
    """The end-of-run numbers, as ``--summary-json`` writes them."""
    p50, p95 = percentile(stats.latencies_ms, 50), percentile(stats.latencies_ms, 95)
    return {
        "input": batch.name,
        "format": batch.format,
        "output": output,
        "model": model,
        "concurrency": workers,
        "rows": batch.rows,
        "questions": len(batch.jobs),
        "duplicates": len(batch.duplicates),
        "invalid": [{"line": line, "error": reason} for line, reason in batch.invalid],
        "already_answered": len(plan.done) if plan else 0,
        "run": stats.total,
        "ok": stats.ok,
        "failed": stats.failed,
        "not_run": stats.total - stats.done,
        "abstained": stats.abstained,
        "extractive": stats.extractive,
        "load_seconds": round(load_s, 3),
        "seconds": round(stats.elapsed_s, 3),
        "questions_per_min": round(stats.per_minute, 2),
        "latency_ms": {
            "p50": round(p50) if p50 is not None else None,
            "p95": round(p95) if p95 is not None else None,
        },
        "tokens": {"prompt": stats.prompt_tokens, "completion": stats.completion_tokens},
        "cost_usd": round(stats.cost_usd, 6),
        "errors": [{"id": i, "error": e} for i, e in stats.errors],
        "interrupted": interrupted,
        "exit_code": exit_code(batch, stats, interrupted=interrupted),
    }


def exit_code(batch: BatchInput, stats: BatchStats, *, interrupted: bool = False) -> int:
    """0 when every question is answered, 1 when any failed or a row was unusable, 130 if interrupted."""
    if interrupted:
        return 130
    return 1 if stats.failed or batch.invalid or stats.done < stats.total else 0
