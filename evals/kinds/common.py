"""What every case kind shares: the run it belongs to, the suite in progress, typed record helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypedDict

from agent.ask.pipeline import Strategy
from agent.prompts import PromptRef
from agent.settings import Settings
from agent.types import Source
from evals.cache import CachedLLM
from evals.cases import AskCase, BriefCase, CaseFile, CompareCase
from store.index import Index

Case = AskCase | CompareCase | BriefCase
Metrics = dict[str, float | None]


class PromptJson(TypedDict):
    name: str
    version: str
    hash: str


class CaseRecord(TypedDict, total=False):
    """One case's entry in ``results.json`` (every kind fills the first block; the rest depends on the kind)."""

    id: str
    kind: str
    prompts: list[PromptJson]
    missing: dict[str, Any]
    metrics: Metrics
    error: str
    skipped: str
    cache: dict[str, int]
    question: str
    expected: list[dict[str, str]]
    answer: str
    warnings: list[str]
    # ask
    should_abstain: bool
    needs_review: bool
    raw: str
    mode: str
    abstained: bool
    retrieved: list[str]
    sources: list[dict[str, Any]]
    cited: list[str]
    invalid_citations: list[int]
    answer_citations: list[str]
    sentences: list[dict[str, Any]]
    rewrites: list[dict[str, Any]]  # quote-then-write calls: quote, rewrite, ok, reason
    invented_links: list[str]
    judge_unsupported: list[str]
    # compare
    strategy: str


class RunContext(Protocol):
    """The parts of a :class:`evals.runner.Runner` a case kind uses."""

    settings: Settings
    prompts: dict[str, PromptRef]

    @property
    def llm(self) -> CachedLLM: ...

    @property
    def judge_llm(self) -> CachedLLM | None: ...

    @property
    def prompts_dir(self) -> Path | None: ...

    @property
    def strategy(self) -> Strategy: ...


@dataclass
class Suite:
    """A suite while it runs: its cases' records, and what groundedness needs afterwards."""

    spec: CaseFile
    index: Index
    records: list[CaseRecord] = field(default_factory=list)
    sources: dict[str, list[Source]] = field(default_factory=dict)


def ks(k: int) -> list[int]:
    return sorted({1, 3, k} if k >= 3 else {1, k})


def ref_json(ref: PromptRef) -> PromptJson:
    return {"name": ref.name, "version": ref.version, "hash": ref.hash}


def error_record(case: Case, message: str) -> CaseRecord:
    return {"id": case.id, "kind": case.kind, "error": message, "prompts": [], "missing": {}, "metrics": {}}
