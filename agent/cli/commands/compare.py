"""``paperbrief compare``: 2 to 6 papers side by side, every cell grounded in its own abstract.

Papers are resolved (ids, fuzzy titles, ``--query``) before the model is even built, so a
typo costs nothing and fails with one line and exit code 2. The table then prints as a
rich table on a terminal, as Markdown with ``--format md``, or as JSON with ``--json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from agent.cli.commands.index import JsonFlag, open_index
from agent.cli.console import UsageError, err, out, print_json, print_warning
from agent.safe_text import markdown_answer, plain, text

if TYPE_CHECKING:  # the pipeline and the model load inside the command (see commands/__init__)
    from agent.compare.pipeline import Comparison
    from agent.llm.base import LLM
    from agent.settings import Settings
    from store.index import Index
    from store.papers import Paper

CompareFormat = Literal["table", "md", "json"]
_FORMATS: tuple[str, ...] = ("table", "md", "json")


def render_table(c: Comparison) -> Group:
    """The comparison for a terminal: one column per paper, quotes in italics, gaps dimmed."""
    from rich.markdown import Markdown

    from agent.types import run_footer

    table = Table(show_lines=True, expand=True)
    table.add_column("", style="bold", max_width=14)
    for p in c.papers:
        header = Text.assemble((f"[{p.n}] ", "bold cyan"), text(p.title, "bold"), text("\n" + p.paper_id, "dim"))
        table.add_column(header)
    for row in c.rows:
        cells = [
            text(cell.text, "dim" if cell.mode == "not_stated" else "italic" if cell.mode == "extractive" else "")
            for cell in row.cells
        ]
        table.add_row(row.label, *cells)
    parts: list[object] = [table, Text("How they relate", style="bold"), Markdown(markdown_answer(c.summary))]
    if c.summary_mode == "from_table":
        parts.append(Text("(built from the table; the model's summary did not pass the checks)", style="dim"))
    footer = run_footer(plain(c.model), c.strategy, c.usage, c.cost_usd, c.latency_ms)
    footer += " · italics are quotes from the abstracts"
    parts.append(Text("\n" + footer, style="dim"))
    return Group(*parts)  # type: ignore[arg-type]


def compare_command(
    ctx: typer.Context,
    papers: Annotated[
        list[str] | None,
        typer.Argument(help="2 to 6 papers: arXiv ids, arXiv URLs, or words of their titles (fuzzy)."),
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Pick (more) papers by searching for this.")
    ] = None,
    n: Annotated[int, typer.Option("-n", help="How many papers in all when --query picks them (2-6).")] = 4,
    model: Annotated[
        str | None, typer.Option("--model", help="Chat model name, or a .gguf file for a local model.")
    ] = None,
    json_out: JsonFlag = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table (terminal), md (Markdown) or json.")] = "table",
) -> None:
    """Compare papers side by side: problem, approach, data, results, limitations, and how they relate."""
    from agent.cli.context import state
    from agent.compare.select import select_papers
    from agent.runtime import build_llm

    settings = state(ctx).settings
    chosen = _format(fmt, json_out)
    with open_index(ctx) as index:
        selected = select_papers(
            index, papers or [], query=query, n=n, min_similarity=settings.retrieval.abstain_threshold
        )
        llm = build_llm(settings, model)
        comparison = _run([s.paper for s in selected], index, llm, settings, query, live=chosen != "json")
    if chosen == "json":
        print_json(comparison.to_json())
        return
    for warning in comparison.warnings:
        print_warning(warning)
    if chosen == "md":
        from agent.compare.render import comparison_markdown

        out.print(plain(comparison_markdown(comparison)), markup=False, highlight=False, soft_wrap=True, emoji=False)
    else:
        out.print(render_table(comparison))


def _format(fmt: str, json_out: bool) -> CompareFormat:
    value = fmt.strip().lower()
    if value not in _FORMATS:
        raise UsageError(f"--format must be one of {', '.join(_FORMATS)} (got {fmt!r})")
    if json_out and value not in ("table", "json"):
        raise UsageError(f"--json and --format {value} ask for different outputs; give one")
    return "json" if json_out else value  # type: ignore[return-value]


def _run(
    papers: list[Paper], index: Index, llm: LLM, settings: Settings, query: str | None, *, live: bool
) -> Comparison:
    """Drive the events: a status line on stderr counting cells (or tokens), then the result.

    Warnings are not printed here: the caller prints ``comparison.warnings`` once, after
    the table (or leaves them inside the JSON).
    """
    from agent.compare.pipeline import ASPECTS, CellFilled, Compared, Selected, compare_papers_events
    from agent.types import Token

    total = len(papers) * len(ASPECTS)
    filled = tokens = 0
    comparison: Comparison | None = None
    show = live and err.is_terminal
    status = err.status(f"Comparing {len(papers)} papers with {llm.name}…") if show else None
    if status:
        status.start()
    try:
        for event in compare_papers_events(papers, index=index, llm=llm, query=query, prices=settings.llm.prices):
            if isinstance(event, Selected):
                total = len(event.papers) * len(ASPECTS)
            elif isinstance(event, Token):
                tokens += 1
            elif isinstance(event, CellFilled):
                filled += 1
            elif isinstance(event, Compared):
                comparison = event.comparison
            if status:
                detail = f"{filled}/{total} cells" if filled else f"{tokens} tokens" if tokens else "starting"
                status.update(f"Comparing {len(papers)} papers with {llm.name}… {detail}")
    finally:
        if status:
            status.stop()
    assert comparison is not None
    return comparison


def register(app: typer.Typer) -> None:
    """Add ``compare`` to the ``paperbrief`` app."""
    app.command("compare")(compare_command)
