"""Helpers every screen uses: a typed handle on the app, and the worker loop that forwards agent events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar, cast

from textual.dom import DOMNode
from textual.worker import get_current_worker

from agent.conversations import ConversationStore
from agent.llm.base import Usage
from agent.tui.session import Session

E = TypeVar("E")


class AppServices(Protocol):
    """What screens may ask of the app. ``PaperbriefApp`` provides it; screens depend on this
    protocol, not on the app module, so the app can import the screens without a cycle."""

    session: Session
    conversations: ConversationStore
    index_generation: int
    paper_count: int
    show_latency: bool

    @property
    def secrets(self) -> tuple[str, ...]: ...
    def refresh_paper_count(self) -> None: ...
    def record_usage(self, usage: Usage, cost_usd: float) -> None: ...
    def open_paper(self, paper_id: str) -> None: ...
    def open_compare(self, selectors: list[str]) -> None: ...
    async def ask_about(self, paper_ids: list[str]) -> None: ...
    def conversation_deleted(self, conversation_id: int) -> None: ...
    def change_model(self, name: str | None) -> None: ...
    async def open_papers(self, text: str = "") -> None: ...
    async def open_brief(self, week: str | None = None) -> None: ...
    def action_ingest(self, path: str = "") -> None: ...
    def action_help(self) -> None: ...


def app_of(node: DOMNode) -> AppServices:
    """The app that ``node`` belongs to, seen through :class:`AppServices`."""
    return cast(AppServices, node.app)


def pump(events: Iterable[E], post: Callable[[E], object]) -> None:
    """In a thread worker: forward agent events to the UI until done or cancelled.

    Cancellation is checked before every event, and the event generator is always
    closed, which closes the model's stream (and its HTTP connection) right away.
    """
    worker = get_current_worker()
    try:
        for event in events:
            if worker.is_cancelled:
                return
            post(event)
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
