"""Chat with the papers: questions in, streamed cited answers out, follow-ups keep the thread.

The answer runs in a thread worker that drives ``agent.ask.pipeline.ask_events`` (the same core
``paperbrief ask`` uses) and posts each event back to this screen; the screen only
renders them. Esc cancels: the view stops at once, the worker notices at its next event
and closes the model stream. Every turn carries a number, so events that a cancelled
worker still had in flight are dropped instead of landing in the next answer.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from agent.ask.pipeline import ask_events
from agent.conversations import make_title
from agent.llm.base import ChatMessage
from agent.safe_text import plain
from agent.tui.base import app_of, pump
from agent.tui.errors import EMPTY_INDEX_HINT, explain
from agent.tui.slash import COMMANDS, Slash, SlashError, parse
from agent.tui.widgets.answer import AnswerView, QuestionView
from agent.tui.widgets.bars import NavBar, StatusBar
from agent.types import AgentEvent, Done, Notice, Retrieved, Token

log = logging.getLogger(__name__)


class ChatScreen(Screen[None]):
    """The default screen: a message list, the question box, the status bar and footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+n", "new_conversation", "New"),
        Binding("ctrl+o", "history", "History"),
        Binding("ctrl+y", "copy_answer", "Copy"),
        Binding("ctrl+s", "export", "Export"),
        Binding("ctrl+x", "clear_scope", "All papers"),
        Binding("ctrl+t", "star_source", "Star source", show=False),
        Binding("ctrl+r", "save_case", "Save as eval case"),
        Binding("pageup", "scroll_messages(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll_messages(1)", "Scroll down", show=False),
    ]

    class AnswerEvent(Message):
        """An event from the answer worker (posted from its thread)."""

        def __init__(self, turn: int, event: AgentEvent) -> None:
            super().__init__()
            self.turn = turn
            self.event = event

    class AnswerFailed(Message):
        def __init__(self, turn: int, error: BaseException) -> None:
            super().__init__()
            self.turn = turn
            self.error = error

    def __init__(self) -> None:
        super().__init__(id="chat")
        self.conversation_id: int | None = None
        self.history: list[ChatMessage] = []
        self._turn = 0
        self._active: AnswerView | None = None
        self.scope: list[str] = []  # paper ids the next questions are limited to ("ask about them")

    # --- layout ----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield NavBar("chat")
        with VerticalScroll(id="messages", can_focus=False):
            yield Static(id="chat-empty", classes="empty-state", markup=False)
        yield Static(id="scope", markup=False)
        commands = SuggestFromList([f"/{name} " for name in COMMANDS], case_sensitive=False)
        yield Input(placeholder="Ask about the papers…  (/help for commands)", id="prompt", suggester=commands)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#scope", Static).display = False
        self.watch(self.app, "paper_count", self.refresh_empty_state)
        self.query_one("#prompt", Input).focus()

    def on_screen_resume(self) -> None:
        self.refresh_empty_state()
        self.query_one("#prompt", Input).focus()

    def refresh_empty_state(self, _: object = None) -> None:
        """The hint shown before the first question; it depends on whether there are papers."""
        empty = self.query("#chat-empty")
        if not empty:
            return
        count = app_of(self).paper_count
        if count == 0:
            text = f"No papers yet — {EMPTY_INDEX_HINT}."
        else:
            text = (
                f"Ask anything about your {count:,} papers. Answers cite their sources as [n]; "
                "select a source to read the paper.\n"
                "Try: What is new in efficient LLM inference?   ·   /papers to browse   ·   F1 for keys"
            )
        empty.first(Static).update(text)

    @property
    def running(self) -> bool:
        return self._active is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Show "Esc Cancel answer" in the footer only while an answer is being written."""
        if action == "cancel":
            return self.running
        if action == "clear_scope":
            return bool(self.scope)
        return True

    def action_scroll_messages(self, direction: int) -> None:
        """PageUp/PageDown scroll the conversation while the question box keeps the focus."""
        messages = self.query_one("#messages", VerticalScroll)
        if direction < 0:
            messages.scroll_page_up()
        else:
            messages.scroll_page_down()

    # --- scope -----------------------------------------------------------------------
    def set_scope(self, paper_ids: list[str]) -> None:
        """Limit the next questions to these papers (from Papers → a); Ctrl+X lifts the limit."""
        self.scope = list(paper_ids)
        papers = app_of(self).session.catalog.get_many(self.scope)
        titles = plain("; ".join(papers[pid].title if pid in papers else pid for pid in self.scope))
        chip = self.query_one("#scope", Static)
        chip.update(f"Asking about {len(self.scope)} paper{'s' if len(self.scope) != 1 else ''} only: {titles}"
                    "   (Ctrl+X: all papers)")
        chip.display = True
        self.refresh_bindings()
        self.query_one("#prompt", Input).focus()

    def action_clear_scope(self) -> None:
        self.scope = []
        self.query_one("#scope", Static).display = False
        self.refresh_bindings()

    # --- input -----------------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    async def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        event.input.clear()
        try:
            command = parse(text)
        except SlashError as exc:
            self.notify(str(exc), title="Unknown command", severity="warning")
            return
        if command is None:
            await self.ask(text)
        else:
            await self.run_slash(command)

    async def run_slash(self, command: Slash) -> None:
        """Act on a slash command; most hand over to the app, which owns screens and modes."""
        app = app_of(self)
        name, arg = command.name, command.arg
        if name == "ask":
            if arg:
                await self.ask(arg)
            else:
                self.notify("Type the question after /ask.", severity="warning")
        elif name == "compare":
            app.open_compare(list(command.args))
        elif name == "brief":
            await app.open_brief(arg or None)
        elif name == "papers":
            await app.open_papers(arg)
        elif name == "model":
            app.change_model(arg or None)
        elif name == "export":
            self.export(arg or None)
        elif name == "new":
            await self.action_new_conversation()
        elif name == "history":
            self.action_history()
        elif name == "ingest":
            app.action_ingest(arg)
        elif name == "copy":
            self.action_copy_answer()
        elif name == "save-case":
            self.action_save_case()
        elif name == "help":
            app.action_help()

    # --- asking ----------------------------------------------------------------------
    async def ask(self, question: str) -> None:
        """Show the question, start the answer worker, stream into a new answer view."""
        if self._active is not None:
            await self.action_cancel()
        await self.query("#chat-empty").remove()
        messages = self.query_one("#messages", VerticalScroll)
        view = AnswerView(show_latency=app_of(self).show_latency)
        scope = f"about {len(self.scope)} selected paper(s) only" if self.scope else None
        await messages.mount_all([QuestionView(question, scope), view])
        messages.anchor()
        self._turn += 1
        self._active = view
        self.refresh_bindings()
        self._answer(self._turn, question, list(self.history), tuple(self.scope))

    @work(thread=True, exclusive=True, group="answer", exit_on_error=False)
    def _answer(self, turn: int, question: str, history: list[ChatMessage], scope: tuple[str, ...]) -> None:
        """Thread worker: run ``ask_events`` with this thread's own index, post every event back."""
        worker = get_current_worker()
        session = app_of(self).session
        try:
            llm = session.llm()
            if worker.is_cancelled:
                return
            with session.index() as index:
                events = ask_events(
                    question, index=index, llm=llm, options=session.ask_options(scope), history=history,
                    prices=session.settings.llm.prices,
                )
                pump(events, lambda event: self.post_message(self.AnswerEvent(turn, event)))
        except Exception as exc:  # every failure becomes a notification, never a traceback
            log.warning("answer failed", exc_info=True)
            if not worker.is_cancelled:
                self.post_message(self.AnswerFailed(turn, exc))

    async def on_chat_screen_answer_event(self, message: AnswerEvent) -> None:
        view = self._active
        if view is None or message.turn != self._turn:
            return  # a cancelled answer's last events
        event = message.event
        if isinstance(event, Retrieved):
            model = app_of(self).session.model_name or "the model"
            if event.sources:
                view.set_status(f"Reading {len(event.sources)} sources with {model}…")
            else:
                view.set_status("No paper is close enough to answer from.")
        elif isinstance(event, Token):
            await view.write(event.text)
        elif isinstance(event, Notice):
            self.notify(event.message, severity="warning")
        elif isinstance(event, Done):
            answer = event.answer
            self._active = None
            self.refresh_bindings()
            await view.finish(answer)
            if answer.model_error:  # quoted instead: say why, loudly, and stay usable
                self.notify(answer.model_error, title="Local model failed", severity="error", timeout=10)
            app_of(self).record_usage(answer.usage, answer.cost_usd)
            self.history += [ChatMessage("user", answer.question), ChatMessage("assistant", answer.text)]
            self._save(answer)

    async def on_chat_screen_answer_failed(self, message: AnswerFailed) -> None:
        view = self._active
        if view is None or message.turn != self._turn:
            return
        self._active = None
        self.refresh_bindings()
        problem = explain(message.error, app_of(self).secrets)
        await view.fail(problem.message)
        self.notify(problem.text, title=problem.title, severity="error", timeout=10)

    async def action_cancel(self) -> None:
        """Esc: stop the answer now. The worker stops at its next event; its leftovers are dropped."""
        view = self._active
        if view is None:
            return
        self._active = None
        self._turn += 1  # anything the old worker still posts no longer matches
        self.workers.cancel_group(self, "answer")
        self.refresh_bindings()
        await view.cancel()

    def _save(self, answer: object) -> None:
        from agent.types import Answer

        assert isinstance(answer, Answer)
        store = app_of(self).conversations
        try:
            if self.conversation_id is None:
                self.conversation_id = store.create(make_title(answer.question)).id
            store.add_turn(self.conversation_id, answer)
        except Exception as exc:  # a full disk must not lose the answer on screen
            log.warning("could not save the conversation", exc_info=True)
            self.notify(f"Could not save the conversation: {exc}", severity="warning")

    # --- conversations ---------------------------------------------------------------
    async def action_new_conversation(self) -> None:
        await self.action_cancel()
        self.conversation_id = None
        self.history = []
        messages = self.query_one("#messages", VerticalScroll)
        await messages.remove_children()
        await messages.mount(Static(id="chat-empty", classes="empty-state", markup=False))
        self.refresh_empty_state()
        self.query_one("#prompt", Input).focus()

    async def load_conversation(self, conversation_id: int) -> None:
        """Show a saved conversation; new questions continue it (its turns are the history)."""
        store = app_of(self).conversations
        stored = store.messages(conversation_id)
        await self.action_new_conversation()
        await self.query("#chat-empty").remove()
        messages = self.query_one("#messages", VerticalScroll)
        question = ""
        for msg in stored:
            if msg.role == "user":
                question = msg.content
                await messages.mount(QuestionView(msg.content))
            else:
                view = AnswerView(show_latency=False)
                view.question = question
                await messages.mount(view)
                await view.show_saved(msg.content, msg.meta)
        self.conversation_id = conversation_id
        self.history = store.history(conversation_id)
        messages.anchor()

    def action_history(self) -> None:
        from agent.tui.screens.conversations import ConversationsScreen

        def opened(conversation_id: int | None) -> None:
            if conversation_id is not None:
                self.run_worker(self.load_conversation(conversation_id), group="load", exclusive=True)

        self.app.push_screen(ConversationsScreen(current=self.conversation_id), opened)

    def on_conversation_deleted(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            self.conversation_id = None
            self.history = []

    # --- answers out -----------------------------------------------------------------
    def _focused_answer(self) -> AnswerView | None:
        focused = self.focused
        while focused is not None and not isinstance(focused, AnswerView):
            focused = focused.parent  # type: ignore[assignment]
        if isinstance(focused, AnswerView) and focused.text:
            return focused
        done = [v for v in self.query(AnswerView) if v.text]
        return done[-1] if done else None

    def action_copy_answer(self) -> None:
        view = self._focused_answer()
        if view is None:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.app.copy_to_clipboard(view.text)
        self.notify("Answer copied to the clipboard.")

    def action_save_case(self) -> None:
        """Save the focused (or last) answer as an eval case in evals/cases/saved.yaml, marked needs_review."""
        from agent.tui.save_case import save_answer_case

        view = self._focused_answer()
        if view is None or not view.question:
            self.notify("No finished answer to save yet.", severity="warning")
            return
        done = [v for v in self.query(AnswerView) if v.text]
        save_answer_case(self, view, self.conversation_id or 0, done.index(view) + 1 if view in done else len(done))

    def action_export(self) -> None:
        self.export(None)

    def action_star_source(self) -> None:
        """Star the answer's first source: the brief and the papers list rank papers like it first."""
        from agent.tui.save_case import star_first_source

        star_first_source(self, self._focused_answer(), app_of(self).session.settings.data_dir)

    def export(self, path: str | None) -> None:
        """Write the conversation as Markdown to ``path`` (default: ``paperbrief-chat-<id>.md`` here)."""
        if self.conversation_id is None:
            self.notify("Nothing to export yet: ask a question first.", severity="warning")
            return
        store = app_of(self).conversations
        target = Path(path).expanduser() if path else Path.cwd() / f"paperbrief-chat-{self.conversation_id}.md"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(store.to_markdown(self.conversation_id), encoding="utf-8")
        except OSError as exc:
            problem = explain(exc)
            self.notify(problem.text, title="Export failed", severity="error")
            return
        self.notify(f"Saved to {target}", title="Conversation exported")

    @on(AnswerView.CitationSelected)
    def _open_citation(self, event: AnswerView.CitationSelected) -> None:
        app_of(self).open_paper(event.paper_id)
