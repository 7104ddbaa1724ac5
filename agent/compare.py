"""Side-by-side comparison of 2 to 6 papers, every cell grounded in that paper's own abstract.

``compare_events`` resolves the papers (ids, fuzzy titles or a query, see
``agent.select``) and yields ``Selected``, then ``Token`` / ``CellFilled`` / ``Notice``
while the table fills, and ends with ``Compared`` carrying the checked
:class:`Comparison`. ``compare`` collects it; ``render_markdown`` prints it.

Two strategies, chosen by the model's size:

* **table** (capable models): one call returns the whole table and the "how they
  relate" summary as JSON. It is parsed and validated: every paper and every aspect must
  be there, ``"not stated"`` is allowed, and any number a cell quotes must appear in that
  paper's title or abstract. A cell that fails (missing, degenerate, or with a number
  the abstract does not contain) is replaced by the abstract's sentence that best fits the
  aspect, quoted, or by "not stated" when no sentence fits: a fabricated number means the
  model's wording of that cell cannot be trusted, while a verbatim quote can be checked
  by anyone. A reply that is not a JSON table at all makes every cell extractive.
* **cells** (small models, or a window too small for all abstracts): one short call per
  cell, one abstract and one aspect at a time; each answer goes through the same checks
  plus a lexical grounding check (small models drift off the abstract), with the same
  extractive fallback.

The summary comes from the model when it passes the degeneration and number checks;
otherwise a deterministic one is built from the table (abstract similarity and which
papers state results), so the user never sees a small model's garbage.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from typing import Any, Literal

from agent.compare_grounding import (
    ASPECT_KEYS,
    ASPECTS,
    BY_KEY,
    NOT_STATED,
    check_cell,
    check_summary,
    clean_cell,
    is_not_stated,
    quote_cells,
)
from agent.llm.base import LLM, Finished, TextDelta, Usage
from agent.llm.budget import count_messages, count_tokens, prompt_budget, trim_to_tokens
from agent.llm.calllog import LoggedLLM, PromptRef
from agent.llm.pricing import PriceTable, cost_usd
from agent.prompts import Prompt, load_prompt
from agent.quality import repetition_ratio
from agent.select import MAX_PAPERS, MIN_PAPERS, SelectionError, select_papers
from agent.types import Notice, Token
from store.embeddings import VectorEmbeddings
from store.index import Index
from store.papers import Paper

CellMode = Literal["generative", "extractive", "not_stated"]
Strategy = Literal["table", "cells"]
SummaryMode = Literal["generative", "from_table"]

# --- tuning (see the module docstring) ------------------------------------------------
_TABLE_BASE_TOKENS = 320  # the summary and JSON punctuation
_TABLE_TOKENS_PER_PAPER = 260  # five short cells
_MIN_TABLE_ABSTRACT_TOKENS = 96  # below this per paper, the cell-by-cell strategy is used instead
_CELL_TOKENS = 48
_SMALL_SUMMARY_TOKENS = 96
_RELATED = 0.55  # abstract cosine above which two papers count as working on the same problem
_NEARBY = 0.35
_LOOP_CHECK_EVERY = 24


# --- results and events --------------------------------------------------------------


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

# --- the deterministic summary -------------------------------------------------------------


def _refs(ns: Sequence[int]) -> str:
    marks = [f"[{n}]" for n in ns]
    return marks[0] if len(marks) == 1 else ", ".join(marks[:-1]) + " and " + marks[-1]


def summary_from_table(papers: Sequence[Paper], rows: Sequence[Row], embedder: VectorEmbeddings) -> str:
    """How the papers relate, from their abstracts' similarity and the filled table (no model text)."""
    vectors = embedder.embed([f"{p.title}. {p.abstract}" for p in papers])
    sims = vectors @ vectors.T
    n = len(papers)
    pairs = [(i, j, float(sims[i, j])) for i, j in combinations(range(n), 2)]
    close = [(i, j) for i, j, s in pairs if s >= _RELATED]
    mean = sum(s for _, _, s in pairs) / len(pairs)
    if n == 2:
        kind = (
            "address closely related problems, so their approaches can be compared directly"
            if close
            else "touch related topics but address different problems"
            if mean >= _NEARBY
            else "address different problems; they are not competing methods"
        )
        lines = [f"[1] and [2] {kind}."]
    elif close:
        lines = ["Closely related: " + "; ".join(_refs([i + 1, j + 1]) for i, j in close) + "."]
        alone = [k + 1 for k in range(n) if all(k not in pair for pair in close)]
        if alone:
            verb = "addresses a different problem" if len(alone) == 1 else "address other problems"
            lines.append(f"{_refs(alone)} {verb}.")
    else:
        lines = [
            "These papers touch related topics but address different problems."
            if mean >= _NEARBY
            else "These papers address different problems; they are not competing methods."
        ]
    results = next(r for r in rows if r.aspect == "results")
    stated = [i + 1 for i, c in enumerate(results.cells) if c.mode != "not_stated"]
    missing = [i + 1 for i, c in enumerate(results.cells) if c.mode == "not_stated"]
    if stated and missing:
        lines.append(f"{_refs(stated)} state results in the abstract; {_refs(missing)} state none.")
    elif not stated:
        lines.append("None of the abstracts states a result.")
    return " ".join(lines)


# --- the pipeline ----------------------------------------------------------------------------


class _Run:
    """What one comparison accumulates: usage, warnings and the prompts used."""

    def __init__(self, llm: LLM, index: Index) -> None:
        self.llm = llm
        self.index = index
        self.usage = Usage()
        self.warnings: list[str] = []
        self.prompts: list[PromptRef] = []

    def use(self, prompt: Prompt) -> dict[str, Any]:
        """Record ``prompt`` as used; the keyword arguments that log it with the call (if logged)."""
        if prompt.ref not in self.prompts:
            self.prompts.append(prompt.ref)
        return {"prompt": prompt.ref} if isinstance(self.llm, LoggedLLM) else {}

    def warn(self, message: str) -> Notice:
        self.warnings.append(message)
        return Notice(message)


def _source_text(paper: Paper) -> str:
    return f"{paper.title}\n{paper.abstract}"


def _fallback_cells(run: _Run, paper: Paper, failed: dict[str, str]) -> dict[str, Cell]:
    """Replace failed cells (aspect → reason) with quotes or "not stated"."""
    quotes = quote_cells(paper, [BY_KEY[k] for k in failed], run.index.embedder)
    return {
        key: Cell(paper.id, quote, "extractive") if quote else Cell(paper.id, NOT_STATED, "not_stated")
        for key, quote in quotes.items()
    }


class TableFormatError(ValueError):
    """The model's reply is not a JSON table at all."""


def parse_table(raw: str, papers: Sequence[Paper]) -> tuple[dict[tuple[str, str], str], str | None]:
    """``{(paper_id, aspect): text}`` and the summary from the model's JSON reply.

    Papers are matched by ``paper`` / ``n`` (1-based) or by ``paper_id`` / ``id``; cells that
    are not strings (or lists of strings) count as missing. Raises :class:`TableFormatError`
    when there is no JSON object with a ``papers`` list to read.
    """
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", raw.strip(), flags=re.I)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise TableFormatError("no JSON object in the reply")
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise TableFormatError(f"invalid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(data, dict) or not isinstance(data.get("papers"), list):
        raise TableFormatError("no 'papers' list in the JSON")
    by_n = {str(i): p.id for i, p in enumerate(papers, 1)}
    ids = {p.id for p in papers}
    cells: dict[tuple[str, str], str] = {}
    for item in data["papers"]:
        if not isinstance(item, dict):
            continue
        ref = str(item.get("paper", item.get("n", ""))).strip("[] ")
        pid = by_n.get(ref) or next((str(item[k]) for k in ("paper_id", "id") if str(item.get(k)) in ids), None)
        if pid is None:
            continue
        for key in ASPECT_KEYS:
            value = item.get(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = "; ".join(value)
            if isinstance(value, str) and value.strip():
                cells[(pid, key)] = value
    if not cells:
        raise TableFormatError("the JSON has no cells for these papers")
    summary = data.get("summary")
    return cells, summary if isinstance(summary, str) else None


def _table_strategy(
    run: _Run, papers: Sequence[Paper], abstracts: Sequence[str], max_tokens: int
) -> Generator[CompareEvent, None, tuple[dict[tuple[str, str], Cell], str | None]]:
    """One call for the whole table; yields the raw tokens, then the checked cells."""
    llm = run.llm
    prompt = load_prompt("compare_table")
    entries = [
        {"n": i, "paper_id": p.id, "title": p.title, "abstract": text.replace("</paper>", "</ paper>")}
        for i, (p, text) in enumerate(zip(papers, abstracts, strict=True), 1)
    ]
    messages = prompt.render(papers=entries, aspects=list(ASPECT_KEYS), not_stated=NOT_STATED)
    logged = run.use(prompt)
    parts: list[str] = []
    stream = llm.stream(messages, max_tokens=max_tokens, temperature=0.0, **logged)
    try:
        for event in stream:
            if isinstance(event, TextDelta):
                parts.append(event.text)
                yield Token(event.text)
                if len(parts) % _LOOP_CHECK_EVERY == 0 and repetition_ratio("".join(parts)) > 0.5:
                    yield run.warn("generation stopped early: the model was repeating itself")
                    run.usage = run.usage + Usage(count_messages(messages), len(parts))
                    break
            elif isinstance(event, Finished):
                run.usage = run.usage + event.usage
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()
    try:
        raw_cells, summary = parse_table("".join(parts), papers)
    except TableFormatError as exc:
        yield run.warn(
            f"the model's reply was not a usable table ({exc}); "
            "cells are quoted from the abstracts and the summary is built from the table"
        )
        raw_cells, summary = {}, None
    if raw_cells and summary is None:
        summary = ""  # a table without its summary: reported like any summary that fails the check
    cells: dict[tuple[str, str], Cell] = {}
    for n, paper in enumerate(papers, 1):
        failed: dict[str, str] = {}
        for key in ASPECT_KEYS:
            text = raw_cells.get((paper.id, key))
            if text is None:
                failed[key] = "missing from the model's table"
                continue
            text = clean_cell(text)
            if is_not_stated(text):
                cells[(paper.id, key)] = Cell(paper.id, NOT_STATED, "not_stated")
                continue
            verdict = check_cell(text, _source_text(paper), strict=False, aspect=key)
            if verdict.ok:
                cells[(paper.id, key)] = Cell(paper.id, text, "generative")
            else:
                failed[key] = verdict.reason
        for key, cell in _fallback_cells(run, paper, failed).items():
            cells[(paper.id, key)] = cell
            if raw_cells:  # a wholly unusable reply was reported once above
                shown = "quoted the abstract" if cell.mode == "extractive" else "marked not stated"
                yield run.warn(f"{BY_KEY[key].label} of [{n}] {paper.id}: {failed[key]}; {shown} instead")
    for paper in papers:
        for key in ASPECT_KEYS:
            yield CellFilled(key, cells[(paper.id, key)])
    return cells, summary


def _cells_strategy(run: _Run, papers: Sequence[Paper]) -> Generator[CompareEvent, None, dict[tuple[str, str], Cell]]:
    """One short call per cell (one abstract, one aspect), checked strictly, with the quote fallback."""
    llm = run.llm
    prompt = load_prompt("compare_cell")
    logged = run.use(prompt)
    overhead = count_messages(prompt.render(title="", abstract="", aspect="problem", not_stated=NOT_STATED))
    room = prompt_budget(llm.context_window, _CELL_TOKENS) - overhead
    cells: dict[tuple[str, str], Cell] = {}
    failures = 0
    for paper in papers:
        abstract, cut = trim_to_tokens(paper.abstract.replace("</abstract>", "</ abstract>"), room - 24)
        if cut:
            yield run.warn(f"abstract of {paper.id} trimmed to fit {llm.name}'s window")
        failed: dict[str, str] = {}
        for key in ASPECT_KEYS:
            messages = prompt.render(title=paper.title, abstract=abstract, aspect=key, not_stated=NOT_STATED)
            raw, usage = llm.complete(messages, max_tokens=_CELL_TOKENS, temperature=0.0, stop=["\n\n"], **logged)
            run.usage = run.usage + usage
            text = clean_cell(raw)
            if is_not_stated(text):
                failed[key] = "not stated"  # a small model's "not stated" is checked against the abstract
                continue
            verdict = check_cell(text, _source_text(paper), strict=True, aspect=key)
            if verdict.ok:
                cells[(paper.id, key)] = Cell(paper.id, text, "generative")
                yield CellFilled(key, cells[(paper.id, key)])
            else:
                failed[key] = verdict.reason
                failures += 1
        for key, cell in _fallback_cells(run, paper, failed).items():
            cells[(paper.id, key)] = cell
            yield CellFilled(key, cell)
    if failures:
        total = len(papers) * len(ASPECT_KEYS)
        yield run.warn(
            f"{failures} of {total} cells from {llm.name} failed the quality check; "
            "they are quoted from the abstracts or marked not stated"
        )
    return cells


def _small_summary(run: _Run, papers: Sequence[Paper], cells: dict[tuple[str, str], Cell]) -> str:
    prompt = load_prompt("compare_summary")
    logged = run.use(prompt)

    def short(cell: Cell) -> str:
        return " ".join(cell.text.split()[:40])

    entries = [
        {
            "n": i,
            "title": p.title,
            "problem": short(cells[(p.id, "problem")]),
            "approach": short(cells[(p.id, "approach")]),
        }
        for i, p in enumerate(papers, 1)
    ]
    raw, usage = run.llm.complete(
        prompt.render(papers=entries), max_tokens=_SMALL_SUMMARY_TOKENS, temperature=0.0, stop=["\n\n"], **logged
    )
    run.usage = run.usage + usage
    return raw


def _fit_abstracts(llm: LLM, papers: Sequence[Paper], max_tokens: int) -> tuple[list[str], bool] | None:
    """Abstracts trimmed to share the window equally, whether any was cut; None if they cannot fit usefully."""
    prompt = load_prompt("compare_table")
    overhead = count_messages(prompt.render(papers=[], aspects=list(ASPECT_KEYS), not_stated=NOT_STATED))
    share = (prompt_budget(llm.context_window, max_tokens) - overhead) // len(papers)
    out: list[str] = []
    cut_any = False
    for paper in papers:
        room = share - count_tokens(paper.title) - 24
        if room < _MIN_TABLE_ABSTRACT_TOKENS:
            return None
        text, cut = trim_to_tokens(paper.abstract, room)
        out.append(text + " …" if cut else text)
        cut_any = cut_any or cut
    return out, cut_any


def compare_papers_events(
    papers: Sequence[Paper],
    *,
    index: Index,
    llm: LLM,
    query: str | None = None,
    prices: PriceTable | None = None,
) -> Iterator[CompareEvent]:
    """Compare already chosen ``papers`` (2 to 6, distinct), yielding events (see module docstring)."""
    started = time.perf_counter()
    ids = [p.id for p in papers]
    if not MIN_PAPERS <= len(ids) <= MAX_PAPERS:
        raise SelectionError(f"compare takes {MIN_PAPERS} to {MAX_PAPERS} papers (got {len(ids)})")
    if len(set(ids)) != len(ids):
        raise SelectionError("the same paper is named twice")
    run = _Run(llm, index)
    columns = [ComparedPaper(i, p.id, p.title, p.display_date, p.url) for i, p in enumerate(papers, 1)]
    yield Selected(columns, query)

    max_tokens = _TABLE_BASE_TOKENS + _TABLE_TOKENS_PER_PAPER * len(papers)
    fitted = None if llm.is_small else _fit_abstracts(llm, papers, max_tokens)
    summary_raw: str | None
    if fitted is not None:
        abstracts, cut = fitted
        if cut:
            yield run.warn(f"abstracts trimmed to fit {llm.name}'s window")
        strategy: Strategy = "table"
        cells, summary_raw = yield from _table_strategy(run, papers, abstracts, max_tokens)
    else:
        strategy = "cells"
        cells = yield from _cells_strategy(run, papers)
        summary_raw = None

    rows = [Row(a.key, a.label, [cells[(p.id, a.key)] for p in papers]) for a in ASPECTS]
    if strategy == "cells":
        summary_raw = _small_summary(run, papers, cells)
    summary, reason = check_summary(summary_raw or "", papers, strict=strategy == "cells")
    summary_mode: SummaryMode = "generative"
    if summary is None:
        summary, summary_mode = summary_from_table(papers, rows, index.embedder), "from_table"
        if summary_raw is not None:
            yield run.warn(f"the model's summary failed the check ({reason}); built one from the table")
    comparison = Comparison(
        papers=columns,
        rows=rows,
        summary=summary,
        summary_mode=summary_mode,
        strategy=strategy,
        model=llm.name,
        prompts=run.prompts,
        usage=run.usage,
        cost_usd=cost_usd(llm.name, run.usage, provider=llm.provider, prices=prices),
        latency_ms=int((time.perf_counter() - started) * 1000),
        warnings=run.warnings,
        query=query,
    )
    yield Compared(comparison)


def compare_events(
    selectors: list[str],
    *,
    index: Index,
    llm: LLM,
    query: str | None = None,
    n: int = 4,
    prices: PriceTable | None = None,
    min_similarity: float = 0.3,
) -> Iterator[CompareEvent]:
    """Resolve ``selectors`` (ids, titles) and ``query`` to papers, then compare them.

    Bad selections raise :class:`agent.select.SelectionError` before any model call.
    """
    chosen = select_papers(index, selectors, query=query, n=n, min_similarity=min_similarity)
    yield from compare_papers_events([c.paper for c in chosen], index=index, llm=llm, query=query, prices=prices)


def compare(selectors: list[str], **kwargs: object) -> Comparison:
    """Run ``compare_events`` to the end and return the comparison (for evals, batch, tests)."""
    for event in compare_events(selectors, **kwargs):  # type: ignore[arg-type]
        if isinstance(event, Compared):
            return event.comparison
    raise RuntimeError("compare_events ended without a comparison")


# --- Markdown ----------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(c: Comparison) -> str:
    """The comparison as a GitHub-flavoured Markdown table, the summary, and a footer."""
    header = "| |" + "".join(f" [{p.n}] {_md_cell(p.title)} |" for p in c.papers)
    lines = [f"## Comparison of {len(c.papers)} papers", ""]
    if c.query:
        lines += [f"Papers found for: *{_md_cell(c.query)}*", ""]
    lines += [header, "|---|" + "---|" * len(c.papers)]
    for row in c.rows:
        cells = [
            "_not stated_"
            if cell.mode == "not_stated"
            else f"*{_md_cell(cell.text)}*"
            if cell.mode == "extractive"
            else _md_cell(cell.text)
            for cell in row.cells
        ]
        lines.append(f"| **{row.label}** | " + " | ".join(cells) + " |")
    lines += ["", "### How they relate", "", c.summary]
    if c.summary_mode == "from_table":
        lines += ["", "_(built from the table; the model's summary did not pass the checks)_"]
    lines += ["", "### Papers", ""]
    for p in c.papers:
        when = f" · {p.date.isoformat()}" if p.date else ""
        link = f" · <{p.url}>" if p.url else ""
        lines.append(f"- [{p.n}] {_md_cell(p.title)} · `{p.paper_id}`{when}{link}")
    footer = f"{c.model} · {c.strategy}"
    if c.usage.total_tokens:
        footer += f" · {c.usage.prompt_tokens}+{c.usage.completion_tokens} tokens"
    if c.cost_usd:
        footer += f" · ${c.cost_usd:.4f}"
    footer += f" · {c.latency_ms / 1000:.1f} s"
    lines += ["", f"_Italic quotes are sentences copied from the abstract. {footer}_", ""]
    return "\n".join(lines)


__all__ = [
    "ASPECTS",
    "NOT_STATED",
    "Cell",
    "CellFilled",
    "CompareEvent",
    "Compared",
    "ComparedPaper",
    "Comparison",
    "Row",
    "Selected",
    "SelectionError",
    "check_cell",
    "compare",
    "compare_events",
    "compare_papers_events",
    "render_markdown",
]
