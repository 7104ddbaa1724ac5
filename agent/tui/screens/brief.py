"""The weekly brief: pick a week, generate it with a progress bar, read it, export it.

Generation runs ``agent.brief.pipeline.brief_events`` (what ``paperbrief brief`` runs) in a
thread worker; its ``Stage`` and ``Progressed`` events drive the progress bar and the
line under it, ``BriefDone`` is rendered with the same Markdown template the CLI
writes, and ``e`` / ``h`` export that Markdown or the one-file HTML.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Markdown, ProgressBar, Select, Static
from textual.worker import get_current_worker

from agent.brief.types import Brief, BriefDone, BriefEvent, Progressed, Stage
from agent.brief.weeks import Window, WindowError, parse_week, week_window
from agent.llm.base import Usage
from agent.safe_text import markdown_parser
from agent.tui.base import app_of, pump
from agent.tui.errors import explain
from agent.tui.widgets.bars import NavBar, StatusBar
from agent.types import Notice, run_footer

log = logging.getLogger(__name__)

EMPTY = (
    "Pick a week above and press **g** to generate its brief: the papers listed that week grouped into "
    "themes, what is new in each (cited), the highlights and how the themes moved since the week before.\n\n"
    "Generating reads every abstract of the week with the model, so it takes a while on a local model; "
    "**Esc** stops it."
)


def parse_window(text: str) -> Window:
    """``2025-W11`` or any day of the week (``2025-03-12``) to that ISO week."""
    text = text.strip()
    try:
        return parse_week(text)
    except WindowError:
        pass
    try:
        return week_window(date.fromisoformat(text))
    except ValueError:
        raise WindowError(f"{text!r} is not a week: use YYYY-Www (2025-W11) or a day (2025-03-12)") from None


def week_label(window: Window, papers: int | None = None) -> str:
    end = f"{window.until:%d}" if window.until.month == window.since.month else f"{window.until:%b %d}"
    span = f"{window.since:%b %d}–{end}"
    count = f" · {papers:,} papers" if papers is not None else ""
    return f"{window.label} · {span}{count}"


class BriefScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "generate", "Generate"),
        Binding("e", "export('md')", "Export Markdown"),
        Binding("h", "export('html')", "Export HTML"),
        Binding("escape", "cancel", "Stop"),
    ]

    class Event(Message):
        def __init__(self, event: BriefEvent) -> None:
            super().__init__()
            self.event = event

    class Failed(Message):
        def __init__(self, error: BaseException) -> None:
            super().__init__()
            self.error = error

    def __init__(self) -> None:
        super().__init__(id="brief")
        self.brief: Brief | None = None
        self.running = False
        self._windows: dict[str, Window] = {}
        self._pending: str | None = None
        self._stage = ""

    def compose(self) -> ComposeResult:
        yield NavBar("brief")
        with Horizontal(id="brief-controls"):
            yield Select[str]([], prompt="Week", id="brief-week", allow_blank=True)
            yield Button("Generate  g", id="generate", variant="primary")
            yield Button("Markdown  e", id="export-md")
            yield Button("HTML  h", id="export-html")
        yield ProgressBar(id="brief-progress", show_eta=False)
        yield Static("", id="brief-status", markup=False)
        with VerticalScroll(id="brief-body"):
            yield Markdown(EMPTY, id="brief-view", parser_factory=markdown_parser)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#brief-progress").display = False
        self.load_weeks()
        if self._pending:
            self.generate_for(self._pending)

    def on_screen_resume(self) -> None:
        self.load_weeks()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running
        if action == "generate":
            return not self.running
        if action == "export":
            return self.brief is not None
        return True

    # --- weeks -----------------------------------------------------------------------
    def load_weeks(self) -> None:
        """The weeks that have listings, newest first, with their paper counts."""
        catalog = app_of(self).session.catalog
        select = self.query_one("#brief-week", Select)
        current = select.value
        options: list[tuple[str, str]] = []
        self._windows = {}
        for monday in app_of(self).session.listing_weeks():
            window = week_window(monday)
            count = len(catalog.paper_ids_in_window(window.since, window.since + timedelta(days=6)))
            self._windows[window.label] = window
            options.append((week_label(window, count), window.label))
        select.set_options(options)
        if isinstance(current, str) and current in self._windows:
            select.value = current
        elif options:
            select.value = options[0][1]
        if not options and self.brief is None:
            self.query_one("#brief-status", Static).update(
                "No listed papers yet → press F5 to ingest papers, or /brief 2025-W11 to fetch a week."
            )

    def _chosen(self) -> Window | None:
        value = self.query_one("#brief-week", Select).value
        return self._windows.get(value) if isinstance(value, str) else None

    def generate_for(self, text: str) -> None:
        """``/brief WEEK``: choose that week (even one not in the index yet) and generate it."""
        if not self.query("#brief-week"):  # not composed yet: on_mount picks it up
            self._pending = text
            return
        self._pending = None
        try:
            window = parse_window(text)
        except WindowError as exc:
            self.notify(str(exc), title="Brief", severity="warning")
            return
        select = self.query_one("#brief-week", Select)
        if window.label not in self._windows:
            self._windows[window.label] = window
            options = [(week_label(w), label) for label, w in self._windows.items()]
            select.set_options(options)
        select.value = window.label
        self.action_generate()

    # --- generating ------------------------------------------------------------------
    @on(Button.Pressed, "#generate")
    def action_generate(self) -> None:
        window = self._chosen()
        if window is None:
            self.notify("Pick a week first (ingest papers with F5 if the list is empty).", severity="warning")
            return
        if self.running:
            return
        self.running = True
        self.refresh_bindings()
        bar = self.query_one("#brief-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.query_one("#brief-status", Static).update(f"Starting the brief for {window.label}…")
        self._generate(window)

    @work(thread=True, exclusive=True, group="brief", exit_on_error=False)
    def _generate(self, window: Window) -> None:
        from agent.brief.pipeline import BriefOptions, brief_events

        worker = get_current_worker()
        session = app_of(self).session
        try:
            llm = session.llm()
            options = BriefOptions(concurrency=session.settings.llm.concurrency)
            with session.index() as index:
                events = brief_events(window, index=index, llm=llm, options=options, prices=session.settings.llm.prices)
                pump(events, lambda event: self.post_message(self.Event(event)))
        except Exception as exc:
            log.warning("brief failed", exc_info=True)
            if not worker.is_cancelled:
                self.post_message(self.Failed(exc))

    async def on_brief_screen_event(self, message: Event) -> None:
        if not self.running:
            return  # stopped: the worker's last events are dropped
        event = message.event
        bar = self.query_one("#brief-progress", ProgressBar)
        status = self.query_one("#brief-status", Static)
        if isinstance(event, Stage):
            bar.update(total=event.total or None, progress=0)
            self._stage = f"{event.label}…"
            status.update(self._stage)
        elif isinstance(event, Progressed):
            bar.advance(event.advance)
            if event.detail:
                status.update(f"{self._stage} {event.detail}")
        elif isinstance(event, Notice):
            log.info("brief notice: %s", event.message)
        elif isinstance(event, BriefDone):
            await self._show(event.brief)

    async def _show(self, brief: Brief) -> None:
        from agent.brief.render import render_markdown

        self.brief = brief
        self.running = False
        self.refresh_bindings()
        self.query_one("#brief-progress").display = False
        p = brief.provenance
        latency = round(p.seconds * 1000) if app_of(self).show_latency else None
        usage = Usage(p.prompt_tokens, p.completion_tokens)
        line = f"{brief.window.label}: {p.papers:,} papers in {p.themes} themes · " + run_footer(
            p.model, "", usage, p.cost_usd, latency
        )
        if brief.warnings:
            line += f" · ⚠ {len(brief.warnings)} note{'s' if len(brief.warnings) != 1 else ''} at the end"
        self.query_one("#brief-status", Static).update(line)
        await self.query_one("#brief-view", Markdown).update(render_markdown(brief))
        body = self.query_one("#brief-body", VerticalScroll)
        body.scroll_home(animate=False)
        body.focus()  # arrows and PageUp/PageDown read the brief
        app_of(self).record_usage(Usage(p.prompt_tokens, p.completion_tokens), p.cost_usd)
        if p.fetched:
            app_of(self).refresh_paper_count()
            self.load_weeks()

    async def on_brief_screen_failed(self, message: Failed) -> None:
        self.running = False
        self.refresh_bindings()
        self.query_one("#brief-progress").display = False
        problem = explain(message.error, app_of(self).secrets)
        self.query_one("#brief-status", Static).update(f"✗ {problem.message}")
        self.notify(problem.text, title=problem.title, severity="error", timeout=10)

    def action_cancel(self) -> None:
        if not self.running:
            return
        self.running = False
        self.workers.cancel_group(self, "brief")
        self.refresh_bindings()
        self.query_one("#brief-progress").display = False
        self.query_one("#brief-status", Static).update("Stopped (Esc). Press g to start again.")

    # --- export ----------------------------------------------------------------------
    @on(Button.Pressed, "#export-md")
    def _export_md(self) -> None:
        self.action_export("md")

    @on(Button.Pressed, "#export-html")
    def _export_html(self) -> None:
        self.action_export("html")

    def action_export(self, fmt: str) -> None:
        from agent.brief.render import render_html, render_markdown

        if self.brief is None:
            self.notify("Generate a brief first (g).", severity="warning")
            return
        text = render_html(self.brief) if fmt == "html" else render_markdown(self.brief)
        target = Path.cwd() / f"paperbrief-brief-{self.brief.window.label}.{fmt}"
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.notify(explain(exc).text, title="Export failed", severity="error")
            return
        self.notify(f"Saved to {target}", title="Brief exported")
