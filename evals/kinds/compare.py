"""``compare`` cases: the comparison table through ``agent.compare.pipeline``, scored by the facts per column."""

from __future__ import annotations

import time
from typing import Any

from agent.compare.pipeline import compare
from agent.compare.select import SelectionError
from evals.cases import CompareCase
from evals.kinds.common import CaseRecord, Metrics, RunContext, Suite, error_record, ref_json
from evals.metrics import phrase_found, show_phrase


def compare_case(run: RunContext, suite: Suite, case: CompareCase, papers: list[tuple[str, str]]) -> CaseRecord:
    started = time.perf_counter()
    try:
        result = compare(
            [pid for pid, _ in papers], index=suite.index, llm=run.llm, prices=run.settings.llm.prices
        )
    except SelectionError as exc:
        return error_record(case, str(exc))
    wall_ms = (time.perf_counter() - started) * 1000.0
    for ref in result.prompts:
        run.prompts[ref.name] = ref
    columns: dict[str, list[str]] = {pid: [] for pid, _ in papers}
    modes: list[str] = []
    for row in result.rows:
        for cell in row.cells:
            columns.setdefault(cell.paper_id, []).append(cell.text)
            modes.append(cell.mode)
    missing: dict[str, list[str]] = {}
    found = total = 0
    for spec_paper, (pid, title) in zip(case.papers, papers, strict=True):
        text = " ".join(columns.get(pid, []))
        for fact in spec_paper.facts:
            total += 1
            if phrase_found(text, fact):
                found += 1
            else:
                missing.setdefault(title, []).append(show_phrase(fact))
    metrics: Metrics = {
        "compare.facts": found / total if total else None,
        "compare.generative_cells": modes.count("generative") / len(modes) if modes else None,
        "compare.stated_cells": 1 - modes.count("not_stated") / len(modes) if modes else None,
        "compare.summary_generative": float(result.summary_mode == "generative"),
        "latency_ms": wall_ms,
        "tokens.prompt": float(result.usage.prompt_tokens),
        "tokens.completion": float(result.usage.completion_tokens),
        "cost.usd": result.cost_usd,
    }
    return {
        "id": case.id,
        "kind": "compare",
        "question": "compare: " + " | ".join(t for _, t in papers),
        "expected": [{"id": pid, "title": t} for pid, t in papers],
        "answer": _comparison_text(result.to_json()),
        "strategy": result.strategy,
        "missing": {"facts": missing},
        "warnings": result.warnings,
        "prompts": [ref_json(r) for r in result.prompts],
        "metrics": metrics,
    }


def _comparison_text(data: dict[str, Any]) -> str:
    lines = []
    titles = {p["paper_id"]: p["title"] for p in data.get("papers", [])}
    for row in data.get("rows", []):
        for cell in row.get("cells", []):
            title = titles.get(cell["paper_id"], cell["paper_id"])
            lines.append(f"{row.get('label', row.get('aspect'))} · {title}: {cell['text']}")
    if data.get("summary"):
        lines.append(f"Summary: {data['summary']}")
    return "\n".join(lines)
