"""The paperbrief TUI: three screens (chat, papers, brief) over the same agent core as the CLI.

The app owns what the screens share: the :class:`Session` (settings, model, index
access, usage), the conversation store, the status-bar values, background ingest, and
the navigation actions any screen or command can call. Screens render agent events;
nothing here talks to Chroma or an SDK directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen

from agent.conversations import ConversationStore
from agent.llm.base import Usage
from agent.safe_text import plain
from agent.settings import Settings
from agent.tui.errors import explain
from agent.tui.screens.brief import BriefScreen
from agent.tui.screens.chat import ChatScreen
from agent.tui.screens.dialogs import IngestRequest
from agent.tui.screens.papers import PapersScreen
from agent.tui.session import Session

log = logging.getLogger(__name__)

#: Suggested in the ingest dialog while the index is empty (the project's sample pages).
SEEDS = Path("../shared/seeds")


class PaperbriefApp(App[None]):
    """``PaperbriefApp(settings).run()``; tests use ``run_test()`` with ``show_latency=False``."""

    CSS_PATH = "paperbrief.tcss"
    TITLE = "paperbrief"
    #: Installed screens (one instance each, kept alive) that are the bases of the three modes.
    SCREENS: ClassVar[dict[str, Callable[[], Screen[Any]]]] = {
        "chat": ChatScreen,
        "papers": PapersScreen,
        "brief": BriefScreen,
    }
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {"chat": "chat", "papers": "papers", "brief": "brief"}
    DEFAULT_MODE = "chat"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("f2", "switch_mode('chat')", "Chat", show=False),
        Binding("f3", "switch_mode('papers')", "Papers", show=False),
        Binding("f4", "switch_mode('brief')", "Brief", show=False),
        Binding("f5", "ingest", "Ingest"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    model_name: reactive[str] = reactive("")
    paper_count: reactive[int] = reactive(0)
    session_tokens: reactive[int] = reactive(0)
    session_cost: reactive[float] = reactive(0.0)
    activity: reactive[str] = reactive("")

    class IngestProgress(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class IngestDone(Message):
        def __init__(self, summary: str, papers: int, problems: list[str]) -> None:
            super().__init__()
            self.summary, self.papers, self.problems = summary, papers, problems

    class WorkFailed(Message):
        def __init__(self, error: BaseException, title: str | None = None) -> None:
            super().__init__()
            self.error, self.title = error, title

    class ModelReady(Message):
        def __init__(self, name: str, switched: bool) -> None:
            super().__init__()
            self.name, self.switched = name, switched

    def __init__(
        self,
        settings: Settings,
        *,
        model: str | None = None,
        show_latency: bool = True,
        conversations: ConversationStore | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.session = Session(settings, model=model)
        self.conversations = conversations or ConversationStore.for_data_dir(settings.data_dir)
        self.show_latency = show_latency  # off in snapshot tests, which must not show timings
        self.index_generation = 0  # bumped by each ingest, so the papers table knows to reload

    @property
    def secrets(self) -> tuple[str, ...]:
        keys = (self.settings.llm.api_key, self.settings.embedding.api_key)
        return tuple(k.get_secret_value() for k in keys if k is not None)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification shows its text literally: messages quote titles, paths and server errors."""
        super().notify(plain(message), title=plain(title), severity=severity, timeout=timeout, markup=False)

    # --- lifecycle -------------------------------------------------------------------
    def on_mount(self) -> None:
        self.refresh_paper_count()
        self._load_model(None)

    def on_unmount(self) -> None:
        self.session.close()

    def refresh_paper_count(self) -> None:
        try:
            self.paper_count = self.session.catalog.count_papers()
        except Exception as exc:  # an unreadable data dir: say so, keep the app usable
            self.notify(explain(exc).text, title="Index problem", severity="error")

    # --- the model -------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def _load_model(self, name: str | None) -> None:
        """Build (or switch) the model off the UI thread: an API server is asked for its models."""
        try:
            llm = self.session.switch_model(name) if name else self.session.llm()
        except Exception as exc:
            log.warning("model not usable", exc_info=True)
            self.post_message(self.WorkFailed(exc))
            return
        self.post_message(self.ModelReady(llm.name, switched=bool(name)))

    def on_paperbrief_app_model_ready(self, message: ModelReady) -> None:
        self.model_name = message.name
        if message.switched:
            self.notify(f"Now answering with {message.name}.", title="Model")

    def change_model(self, name: str | None) -> None:
        if not name:
            current = self.session.model_name or "not loaded yet"
            self.notify(f"Current model: {current}. Switch with /model NAME (or a .gguf path).", title="Model")
            return
        self.notify(f"Switching to {name}…", title="Model", timeout=2)
        self._load_model(name)

    def record_usage(self, usage: Usage, cost_usd: float) -> None:
        self.session.record(usage, cost_usd)
        self.session_tokens = self.session.tokens
        self.session_cost = self.session.cost_usd

    def on_paperbrief_app_work_failed(self, message: WorkFailed) -> None:
        if self.session.model_name is None:
            self.model_name = "no model: /model NAME"
        problem = explain(message.error, self.secrets)
        self.notify(problem.text, title=message.title or problem.title, severity="error", timeout=10)

    # --- navigation ------------------------------------------------------------------
    def action_help(self) -> None:
        from agent.tui.screens.dialogs import HelpScreen

        self.push_screen(HelpScreen())

    def open_paper(self, paper_id: str) -> None:
        from agent.tui.screens.paper import PaperScreen

        paper = self.session.catalog.get(paper_id)
        if paper is None:
            self.notify(f"No paper {paper_id} in the index (was it removed?).", severity="warning")
            return
        self.push_screen(PaperScreen(paper))

    def open_compare(self, selectors: list[str]) -> None:
        from agent.tui.screens.compare import CompareScreen

        if len(selectors) < 2:
            self.notify(
                "Name two to six papers: /compare ID ID, or select them in Papers (F3) with Space and press c.",
                title="Compare",
                severity="warning",
            )
            return
        self.push_screen(CompareScreen(selectors))

    async def open_papers(self, text: str = "") -> None:
        await self.switch_mode("papers")
        if text:
            papers = self.get_screen("papers")
            assert isinstance(papers, PapersScreen)
            papers.set_filter(text)

    async def open_brief(self, week: str | None = None) -> None:
        await self.switch_mode("brief")
        if week:
            brief = self.get_screen("brief")
            assert isinstance(brief, BriefScreen)
            brief.generate_for(week)

    async def ask_about(self, paper_ids: list[str]) -> None:
        """Papers → chat: the next questions are answered from these papers only."""
        await self.switch_mode("chat")
        chat = self.get_screen("chat")
        assert isinstance(chat, ChatScreen)
        chat.set_scope(paper_ids)

    def conversation_deleted(self, conversation_id: int) -> None:
        chat = self.get_screen("chat")
        if isinstance(chat, ChatScreen):
            chat.on_conversation_deleted(conversation_id)

    # --- ingest ----------------------------------------------------------------------
    def action_ingest(self, path: str = "") -> None:
        """F5 / ``i``: the ingest dialog. ``/ingest PATH`` with an existing path starts at once."""
        from agent.tui.screens.dialogs import IngestScreen, check_path

        if any(w.group == "ingest" and w.is_running for w in self.workers):
            self.notify("An ingest is already running; its progress is in the status bar.", severity="warning")
            return
        if path:
            found, problem = check_path(path)
            if found is None:
                self.notify(f"{problem} → give an existing file or folder", title="Cannot ingest", severity="error")
            else:
                self._ingest(IngestRequest("path", path=found))
            return
        suggestion = str(SEEDS) if self.paper_count == 0 and SEEDS.is_dir() else ""

        def start(request: IngestRequest | None) -> None:
            if request is not None:
                self._ingest(request)

        self.push_screen(IngestScreen(suggestion), start)

    @work(thread=True, group="ingest", exit_on_error=False)
    def _ingest(self, request: IngestRequest) -> None:
        """Parse or fetch, then index, in the background; progress goes to every status bar."""
        from store.ingest import IngestReport, Progress, load_files
        from store.intake import add_papers

        labels = {"parse": "parsing files", "catalog": "cataloguing papers", "index": "updating BM25",
                  "embed": "embedding chunks"}

        def progress(tick: Progress) -> None:
            self.post_message(self.IngestProgress(f"⟳ ingest: {labels.get(tick.stage, tick.stage)} "
                                                  f"{tick.done:,}/{tick.total:,}"))

        try:
            report = IngestReport()
            with self.session.index() as index:
                if request.path is not None:
                    self.post_message(self.IngestProgress(f"⟳ ingest: reading {request.path}"))
                    papers = load_files([request.path], report, on_progress=progress)
                else:
                    from store.sources.fetch_hf import fetch_hf_days

                    self.post_message(self.IngestProgress(f"⟳ ingest: fetching {request.day}"))
                    config = self.settings.store_config().http
                    days = [request.day] if request.day else []
                    papers = [p for _, found in fetch_hf_days(config, days) for p in found]
                def waiting(message: str) -> None:
                    self.post_message(self.IngestProgress(f"⟳ ingest: {message}"))

                # the same service (and writer lock) as the CLI's ingest
                add_papers(index, papers, what="tui ingest", report=report, on_wait=waiting, on_progress=progress)
                total = index.catalog.count_papers()
        except Exception as exc:
            log.warning("ingest failed", exc_info=True)
            self.post_message(self.IngestProgress(""))
            self.post_message(self.WorkFailed(exc, "Ingest failed"))
            return
        summary = (
            f"{report.new:,} new, {report.updated:,} updated, {report.unchanged:,} unchanged "
            f"— {total:,} papers indexed."
        )
        self.post_message(self.IngestDone(summary, total, [reason for _, reason in report.skipped]))

    def on_paperbrief_app_ingest_progress(self, message: IngestProgress) -> None:
        self.activity = message.text

    def on_paperbrief_app_ingest_done(self, message: IngestDone) -> None:
        self.activity = ""
        self.paper_count = message.papers
        self.index_generation += 1
        for problem in message.problems[:3]:
            self.notify(problem, title="Skipped a file", severity="warning", timeout=10)
        if not message.papers and message.problems:
            self.notify("Nothing was ingested → check the path and the file types.", severity="error")
        else:
            self.notify(message.summary, title="Ingest finished")
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_empty_state", None)
            if refresh:
                refresh()
        if isinstance(self.screen, PapersScreen):
            self.screen.load()

    # --- command palette -------------------------------------------------------------
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Chat", "Ask questions about the papers (F2)", lambda: self.switch_mode("chat"))
        yield SystemCommand("Papers", "Browse, filter, select and compare papers (F3)", self.open_papers)
        yield SystemCommand("Brief", "Generate and read the weekly brief (F4)", self.open_brief)
        yield SystemCommand("Ingest papers", "Add papers from a path, or fetch a day (F5)", self.action_ingest)
        yield SystemCommand("Switch model", "Answer with another model (/model NAME)", self._ask_model)
        yield SystemCommand("Help", "Keys and slash commands (F1)", self.action_help)
        if isinstance(screen, ChatScreen):
            yield SystemCommand("New conversation", "Start a fresh chat (Ctrl+N)", screen.action_new_conversation)
            yield SystemCommand("Saved conversations", "Reopen, rename, delete, export (Ctrl+O)", screen.action_history)
            yield SystemCommand("Export conversation", "Save this chat as Markdown (Ctrl+S)", screen.action_export)
            yield SystemCommand("Copy answer", "Copy the last answer (Ctrl+Y)", screen.action_copy_answer)

    def _ask_model(self) -> None:
        from agent.tui.screens.dialogs import PromptScreen

        self.push_screen(
            PromptScreen(
                "Switch model",
                placeholder="model id (e.g. gpt-4o-mini) or path/to/model.gguf",
                value=self.session.model_name or "",
                hint="Enter switch · Esc cancel",
            ),
            self.change_model,
        )
