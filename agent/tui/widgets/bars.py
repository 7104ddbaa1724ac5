"""The bars every main screen shows: navigation on top, session status above the footer."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

#: (mode, label, key): the main screens, in the order the nav bar lists them.
MODES = (("chat", "Chat", "F2"), ("papers", "Papers", "F3"), ("brief", "Brief", "F4"))


class NavBar(Static):
    """The app name and the three main screens, the current one highlighted; click one or press F2–F4."""

    def __init__(self, current: str) -> None:
        parts = ["[b] paperbrief [/]  "]
        for mode, label, key in MODES:
            style = "b reverse" if mode == current else "b"
            parts.append(f"[@click=app.switch_mode('{mode}')][{style}] {label} [/][dim]{key}[/][/]   ")
        parts.append("[dim]Ctrl+P commands · F1 help[/]")
        super().__init__("".join(parts), classes="navbar")


class StatusBar(Horizontal):
    """Model · papers · session tokens and cost · background activity (an ingest's progress).

    Reads the app's reactive attributes, so every screen's bar stays current without
    the screens knowing about each other.
    """

    def compose(self) -> ComposeResult:
        for name in ("model", "papers", "usage", "activity"):
            yield Static(id=f"status-{name}", markup=False)

    def on_mount(self) -> None:
        for name in ("model_name", "paper_count", "session_tokens", "session_cost", "activity"):
            self.watch(self.app, name, self._refresh, init=False)
        self._refresh()

    def _refresh(self, _: object = None) -> None:
        app = self.app
        model = getattr(app, "model_name", "") or "model: loading…"
        papers = int(getattr(app, "paper_count", 0))
        tokens = int(getattr(app, "session_tokens", 0))
        cost = float(getattr(app, "session_cost", 0.0))
        self.query_one("#status-model", Static).update(Text(f"◆ {model}"))
        self.query_one("#status-papers", Static).update(f"{papers:,} paper{'s' if papers != 1 else ''}")
        self.query_one("#status-usage", Static).update(f"{tokens:,} tokens · ${cost:.4f}")
        self.query_one("#status-activity", Static).update(str(getattr(app, "activity", "")))
