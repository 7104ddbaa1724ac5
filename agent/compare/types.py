"""What a comparison produces: the checked table, its columns and cells, and the events that fill it.

Plain dataclasses with ``to_json``, so the CLI, the TUI, evals and the JSON output share one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from agent.llm.base import Usage
from agent.prompts import PromptRef
from agent.types import Notice, Token

CellMode = Literal["generative", "extractive", "not_stated"]
Strategy = Literal["table", "cells"]
SummaryMode = Literal["generative", "from_table"]


@dataclass(frozen=True)
class ComparedPaper:
    """A column of the table: ``[n]`` in the summary refers to it."""

    n: int
    paper_id: str
    title: str
    date: date | None
    url: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "paper_id": self.paper_id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "url": self.url,
        }


@dataclass(frozen=True)
class Cell:
    """One paper's entry for one aspect, and where its text came from."""

    paper_id: str
    text: str
    mode: CellMode

    def to_json(self) -> dict[str, object]:
        return {"paper_id": self.paper_id, "text": self.text, "mode": self.mode}


@dataclass(frozen=True)
class Row:
    aspect: str
    label: str
    cells: list[Cell]

    def to_json(self) -> dict[str, object]:
        return {"aspect": self.aspect, "label": self.label, "cells": [c.to_json() for c in self.cells]}


@dataclass
class Comparison:
    """A finished, checked comparison: everything needed to show, export, log or evaluate it."""

    papers: list[ComparedPaper]
    rows: list[Row]
    summary: str
    summary_mode: SummaryMode
    strategy: Strategy
    model: str
    prompts: list[PromptRef]
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    latency_ms: int = 0
    warnings: list[str] = field(default_factory=list)
    query: str | None = None

    def cell(self, paper_id: str, aspect: str) -> Cell:
        row = next(r for r in self.rows if r.aspect == aspect)
        return next(c for c in row.cells if c.paper_id == paper_id)

    def to_json(self) -> dict[str, object]:
        return {
            "papers": [p.to_json() for p in self.papers],
            "rows": [r.to_json() for r in self.rows],
            "summary": self.summary,
            "summary_mode": self.summary_mode,
            "strategy": self.strategy,
            "model": self.model,
            "prompts": [{"name": p.name, "version": p.version, "hash": p.hash} for p in self.prompts],
            "usage": {"prompt_tokens": self.usage.prompt_tokens, "completion_tokens": self.usage.completion_tokens},
            "cost_usd": round(self.cost_usd, 8),
            "latency_ms": self.latency_ms,
            "warnings": self.warnings,
            "query": self.query,
        }


@dataclass(frozen=True)
class Selected:
    """The papers were resolved; the table will have one column per paper, in this order."""

    papers: list[ComparedPaper]
    query: str | None


@dataclass(frozen=True)
class CellFilled:
    """One cell is final (checked, or replaced by its fallback)."""

    aspect: str
    cell: Cell


@dataclass(frozen=True)
class Compared:
    comparison: Comparison


CompareEvent = Selected | Token | Notice | CellFilled | Compared
