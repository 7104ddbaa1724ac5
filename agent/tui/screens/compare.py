"""The comparison table: aspects down, papers across, filled cell by cell as the checks pass.

Runs ``agent.compare.pipeline.compare_events`` (what ``paperbrief compare`` runs) in a thread
worker and renders its events: ``Selected`` sets up the columns, ``Token`` moves the
progress line, ``CellFilled`` fills a cell, ``Compared`` adds the summary and footer.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, LoadingIndicator, Markdown, Static
from textual.worker import get_current_worker

from agent.compare.pipeline import ASPECTS, CellFilled, Compared, CompareEvent, Comparison, Selected
from agent.compare.render import comparison_markdown
from agent.safe_text import markdown_answer, markdown_parser
from agent.safe_text import text as safe_text
from agent.tui.base import app_of, pump
from agent.tui.errors import explain
from agent.tui.widgets.bars import StatusBar
from agent.types import Notice, Token, run_footer

log = logging.getLogger(__name__)
_ASPECT_WIDTH = 12


def cell_text(text: str, mode: str) -> Text:
    """A cell as shown: quotes from the abstract in italics, "not stated" dimmed."""
    if mode == "not_stated":
        return Text("not stated", style="dim italic")
    if mode == "extractive":  # already a verbatim quote (in quotation marks): italics mark it as such
        return safe_text(text, "italic")
    return safe_text(text)


class CompareScreen(Screen[None]):
    """Compare the papers named by ``selectors`` (ids or titles)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("e", "export", "Export Markdown"),
        Binding("y", "copy", "Copy"),
    ]

    class Event(Message):
        def __init__(self, event: CompareEvent) -> None:
            super().__init__()
            self.event = event

    class Failed(Message):
        def __init__(self, error: BaseException) -> None:
            super().__init__()
            self.error = error

    def __init__(self, selectors: list[str]) -> None:
        super().__init__(id="compare")
        self.selectors = selectors
        self.comparison: Comparison | None = None
        self._columns: list[str] = []
        self._tokens = 0

    def compose(self) -> ComposeResult:
        yield Static(f"[b]Comparing {len(self.selectors)} papers[/]", classes="screen-title")
        with VerticalScroll(id="compare-body"):
            yield LoadingIndicator(id="compare-loading")
            yield Static("Finding the papers…", id="compare-status", markup=False)
            table: DataTable[object] = DataTable(id="compare-table", cursor_type="cell", show_cursor=True)
            yield table
            yield Markdown("", id="compare-summary", parser_factory=markdown_parser)
            yield Static("", id="compare-meta", classes="answer-meta", markup=False)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#compare-table").display = False
        self._run(list(self.selectors))

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _run(self, selectors: list[str]) -> None:
        from agent.compare.pipeline import compare_events

        worker = get_current_worker()
        session = app_of(self).session
        try:
            llm = session.llm()
            with session.index() as index:
                events = compare_events(selectors, index=index, llm=llm, prices=session.settings.llm.prices)
                pump(events, lambda event: self.post_message(self.Event(event)))
        except Exception as exc:
            log.warning("compare failed", exc_info=True)
            if not worker.is_cancelled:
                self.post_message(self.Failed(exc))

    async def on_compare_screen_event(self, message: Event) -> None:
        event = message.event
        status = self.query_one("#compare-status", Static)
        model = app_of(self).session.model_name or "the model"
        if isinstance(event, Selected):
            self._setup(event)
            status.update(f"Reading {len(event.papers)} abstracts with {model}…")
        elif isinstance(event, Token):
            self._tokens += 1
            status.update(f"Writing the comparison with {model}… {self._tokens} tokens")
        elif isinstance(event, CellFilled):
            self._fill(event)
        elif isinstance(event, Notice):
            log.info("compare notice: %s", event.message)
        elif isinstance(event, Compared):
            await self._finish(event.comparison)

    def _setup(self, event: Selected) -> None:
        table = self.query_one("#compare-table", DataTable)
        table.clear(columns=True)
        room = max(20, (self.size.width - _ASPECT_WIDTH - 6) // len(event.papers) - 2)
        table.add_column("", key="aspect", width=_ASPECT_WIDTH)
        self._columns = [p.paper_id for p in event.papers]
        for p in event.papers:
            title = p.title if len(p.title) <= room - 4 else p.title[: room - 5] + "…"
            table.add_column(safe_text(f"[{p.n}] {title}", "bold"), key=p.paper_id, width=room)
        self._rows({a.key: [Text("…", style="dim") for _ in event.papers] for a in ASPECTS})
        table.display = True

    def _rows(self, cells: dict[str, list[Text]]) -> None:
        """(Re)build the rows: row heights are measured when a row is added, so final cells are re-added."""
        table = self.query_one("#compare-table", DataTable)
        table.clear()
        for aspect in ASPECTS:
            table.add_row(Text(aspect.label, style="bold"), *cells[aspect.key], key=aspect.key, height=None)

    def _fill(self, event: CellFilled) -> None:
        table = self.query_one("#compare-table", DataTable)
        if event.cell.paper_id in self._columns:
            table.update_cell(event.aspect, event.cell.paper_id, cell_text(event.cell.text, event.cell.mode),
                              update_width=False)

    async def _finish(self, comparison: Comparison) -> None:
        self.comparison = comparison
        table = self.query_one("#compare-table", DataTable)
        self._rows({row.aspect: [cell_text(c.text, c.mode) for c in row.cells] for row in comparison.rows})
        table.move_cursor(row=0, column=1)
        self.query_one("#compare-loading").display = False
        warnings = comparison.warnings
        more = f" (+{len(warnings) - 2} more)" if len(warnings) > 2 else ""
        self.query_one("#compare-status", Static).update("⚠ " + "; ".join(warnings[:2]) + more if warnings else "")
        note = "\n\n_(built from the table: the model's summary did not pass the checks)_"
        await self.query_one("#compare-summary", Markdown).update(
            "### How they relate\n\n"
            + markdown_answer(comparison.summary)
            + (note if comparison.summary_mode == "from_table" else "")
        )
        c = comparison
        meta = run_footer(c.model, c.strategy, c.usage, c.cost_usd, c.latency_ms if app_of(self).show_latency else None)
        self.query_one("#compare-meta", Static).update(
            meta + "   —   italics are quotes from the abstract · Enter opens a paper"
        )
        app_of(self).record_usage(comparison.usage, comparison.cost_usd)
        table.focus()

    async def on_compare_screen_failed(self, message: Failed) -> None:
        problem = explain(message.error, app_of(self).secrets)
        self.query_one("#compare-loading").display = False
        self.query_one("#compare-status", Static).update(f"✗ {problem.message}")
        self.notify(problem.text, title=problem.title, severity="error", timeout=10)

    @on(DataTable.CellSelected, "#compare-table")
    def _open_paper(self, event: DataTable.CellSelected) -> None:
        column = event.cell_key.column_key.value
        if column and column != "aspect":
            app_of(self).open_paper(str(column))

    def action_close(self) -> None:
        self.workers.cancel_group(self, "compare")
        self.dismiss()

    def _markdown(self) -> str | None:
        if self.comparison is None:
            self.notify("The comparison is not finished yet.", severity="warning")
            return None
        return comparison_markdown(self.comparison)

    def action_copy(self) -> None:
        text = self._markdown()
        if text:
            self.app.copy_to_clipboard(text)
            self.notify("Comparison copied to the clipboard as Markdown.")

    def action_export(self) -> None:
        text = self._markdown()
        if not text:
            return
        target = Path.cwd() / ("paperbrief-compare-" + "-".join(self._columns[:3]) + ".md")
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.notify(explain(exc).text, title="Export failed", severity="error")
            return
        self.notify(f"Saved to {target}", title="Comparison exported")
