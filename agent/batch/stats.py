"""Counts and latencies of a batch run, for the progress line and the closing summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from agent.batch.io import BatchInput, Job
from agent.batch.output import ResumePlan
from agent.llm.base import Usage


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
    model_failed: int = 0  # answered with quotes because the local model process failed
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
            self.model_failed += bool(result.record.get("model_error"))
        else:
            self.failed += 1
            if len(self.errors) < 20:
                self.errors.append((result.job.id, str(result.record["error"])))
        self.prompt_tokens += result.usage.prompt_tokens
        self.completion_tokens += result.usage.completion_tokens
        self.cost_usd += result.cost_usd


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
        "model_failed": stats.model_failed,
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
