"""Helpers every screen uses: a typed handle on the app, and the worker loop that forwards agent events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar, cast

from textual.dom import DOMNode
from textual.worker import get_current_worker

if TYPE_CHECKING:
    from agent.tui.app import PaperbriefApp

E = TypeVar("E")


def app_of(node: DOMNode) -> PaperbriefApp:
    """The ``PaperbriefApp`` that ``node`` belongs to."""
    return cast("PaperbriefApp", node.app)


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
