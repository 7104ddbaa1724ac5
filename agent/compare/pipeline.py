"""Side-by-side comparison of 2 to 6 papers, every cell grounded in that paper's own abstract.

``compare_events`` resolves the papers (ids, fuzzy titles or a query, see
``agent.compare.select``) and yields ``Selected``, then ``Token`` / ``CellFilled`` / ``Notice``
while the table fills, and ends with ``Compared`` carrying the checked
:class:`Comparison`. ``compare`` collects it; ``agent.compare.render`` prints it.

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

import time
from collections.abc import Generator, Iterator, Sequence
from typing import Any

from agent.checks.streaming import LOOP_WARNING, stream_checked
from agent.compare.grounding import (
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
from agent.compare.select import MAX_PAPERS, MIN_PAPERS, SelectionError, select_papers
from agent.compare.summary import summary_from_table
from agent.compare.table import TableFormatError, parse_table
from agent.compare.types import (
    Cell,
    CellFilled,
    Compared,
    ComparedPaper,
    CompareEvent,
    Comparison,
    Row,
    Selected,
    Strategy,
    SummaryMode,
)
from agent.llm.base import LLM, Usage
from agent.llm.budget import count_messages, count_tokens, prompt_budget, trim_to_tokens
from agent.llm.pricing import PriceTable, cost_usd
from agent.prompts import Prompt, PromptRef, load_prompt
from agent.types import Notice, run_to_end
from store.index import Index
from store.papers import Paper

# --- tuning (see the module docstring) ------------------------------------------------
_TABLE_BASE_TOKENS = 320  # the summary and JSON punctuation
_TABLE_TOKENS_PER_PAPER = 260  # five short cells
_MIN_TABLE_ABSTRACT_TOKENS = 96  # below this per paper, the cell-by-cell strategy is used instead
_CELL_TOKENS = 48
_SMALL_SUMMARY_TOKENS = 96


# --- the pipeline ----------------------------------------------------------------------------


class _CompareRun:
    """What one comparison accumulates: usage, warnings and the prompts used."""

    def __init__(self, llm: LLM, index: Index) -> None:
        self.llm = llm
        self.index = index
        self.usage = Usage()
        self.warnings: list[str] = []
        self.prompts: list[PromptRef] = []

    def use(self, prompt: Prompt) -> dict[str, Any]:
        """Record ``prompt`` as used; the keyword arguments that name it to the model call."""
        if prompt.ref not in self.prompts:
            self.prompts.append(prompt.ref)
        return {"prompt": prompt.ref}

    def warn(self, message: str) -> Notice:
        self.warnings.append(message)
        return Notice(message)


def _source_text(paper: Paper) -> str:
    return f"{paper.title}\n{paper.abstract}"


def _fallback_cells(run: _CompareRun, paper: Paper, failed: dict[str, str]) -> dict[str, Cell]:
    """Replace failed cells (aspect → reason) with quotes or "not stated"."""
    quotes = quote_cells(paper, [BY_KEY[k] for k in failed], run.index.embedder)
    return {
        key: Cell(paper.id, quote, "extractive") if quote else Cell(paper.id, NOT_STATED, "not_stated")
        for key, quote in quotes.items()
    }


def _table_strategy(
    run: _CompareRun, papers: Sequence[Paper], abstracts: Sequence[str], max_tokens: int
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
    streamed = yield from stream_checked(llm, messages, max_tokens=max_tokens, **logged)
    if streamed.looped:
        yield run.warn(LOOP_WARNING)
    run.usage = run.usage + streamed.usage
    try:
        raw_cells, summary = parse_table(streamed.text, papers)
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


def _cells_strategy(
    run: _CompareRun, papers: Sequence[Paper]
) -> Generator[CompareEvent, None, dict[tuple[str, str], Cell]]:
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


def _small_summary(run: _CompareRun, papers: Sequence[Paper], cells: dict[tuple[str, str], Cell]) -> str:
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
    run = _CompareRun(llm, index)
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

    Bad selections raise :class:`agent.compare.select.SelectionError` before any model call.
    """
    chosen = select_papers(index, selectors, query=query, n=n, min_similarity=min_similarity)
    yield from compare_papers_events([c.paper for c in chosen], index=index, llm=llm, query=query, prices=prices)


def compare(selectors: list[str], **kwargs: Any) -> Comparison:
    """Run ``compare_events`` to the end and return the comparison (for evals, batch, tests)."""
    return run_to_end(compare_events(selectors, **kwargs), Compared).comparison


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
]
