"""A comparison as GitHub-flavoured Markdown: the table, the summary, the papers and a footer."""

from __future__ import annotations

from agent.compare.types import Comparison
from agent.types import run_footer


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def comparison_markdown(c: Comparison) -> str:
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
    footer = run_footer(c.model, c.strategy, c.usage, c.cost_usd, c.latency_ms)
    lines += ["", f"_Italic quotes are sentences copied from the abstract. {footer}_", ""]
    return "\n".join(lines)
