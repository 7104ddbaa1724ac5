"""Saved conversations: reopen (Enter), rename (r), delete (d, twice), export to Markdown (e)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from agent.conversations import Conversation
from agent.safe_text import text as safe_text
from agent.tui.base import app_of


def _label(conv: Conversation, current: bool) -> Text:
    text = Text.assemble(("● " if current else "  ", "bold"), safe_text(conv.title))
    turns = f"{conv.turns} question{'s' if conv.turns != 1 else ''}"
    text.append(f"  {turns} · {conv.updated.astimezone():%Y-%m-%d %H:%M}", style="dim")
    return text


class ConversationsScreen(ModalScreen[int | None]):
    """Dismisses with the id of the conversation to open, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("r", "rename", "Rename"),
        Binding("d", "delete", "Delete"),
        Binding("e", "export", "Export"),
    ]

    def __init__(self, current: int | None = None) -> None:
        super().__init__()
        self.current = current
        self._pending_delete: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog conversations-dialog"):
            yield Static("Conversations", classes="dialog-title")
            yield OptionList(id="conversations")
            yield Static("", id="conversations-empty", classes="empty-state", markup=False)
            yield Input(placeholder="New title, Enter to save, Esc to cancel", id="rename")
            yield Static("Enter open · r rename · d delete · e export to Markdown · Esc close", classes="dialog-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rename", Input).display = False
        self.reload()
        self.query_one("#conversations", OptionList).focus()

    def reload(self, highlight: int | None = None) -> None:
        conversations = app_of(self).conversations.recent()
        options = self.query_one("#conversations", OptionList)
        options.clear_options()
        options.add_options(Option(_label(c, c.id == self.current), id=str(c.id)) for c in conversations)
        empty = self.query_one("#conversations-empty", Static)
        empty.update("" if conversations else "No saved conversations yet: ask a question in the chat.")
        empty.display = not conversations
        options.display = bool(conversations)
        if conversations:
            ids = [c.id for c in conversations]
            options.highlighted = ids.index(highlight) if highlight in ids else 0

    def _selected(self) -> int | None:
        options = self.query_one("#conversations", OptionList)
        if options.highlighted is None or not options.option_count:
            return None
        option_id = options.get_option_at_index(options.highlighted).id
        return int(option_id) if option_id else None

    @on(OptionList.OptionSelected, "#conversations")
    def _open(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_close(self) -> None:
        rename = self.query_one("#rename", Input)
        if rename.display:
            rename.display = False
            self.query_one("#conversations", OptionList).focus()
            return
        self.dismiss(None)

    def action_rename(self) -> None:
        conversation_id = self._selected()
        if conversation_id is None:
            return
        found = app_of(self).conversations.get(conversation_id)
        rename = self.query_one("#rename", Input)
        rename.value = found.title if found else ""
        rename.display = True
        rename.focus()

    @on(Input.Submitted, "#rename")
    def _renamed(self, event: Input.Submitted) -> None:
        conversation_id = self._selected()
        if conversation_id is None:
            return
        try:
            app_of(self).conversations.rename(conversation_id, event.value)
        except ValueError as exc:
            self.notify(str(exc), severity="warning")
            return
        event.input.display = False
        self.reload(highlight=conversation_id)
        self.query_one("#conversations", OptionList).focus()
        self.notify("Renamed.")

    def action_delete(self) -> None:
        conversation_id = self._selected()
        if conversation_id is None:
            return
        if self._pending_delete != conversation_id:
            self._pending_delete = conversation_id
            self.notify("Press d again to delete this conversation.", severity="warning")
            return
        self._pending_delete = None
        app_of(self).conversations.delete(conversation_id)
        app_of(self).conversation_deleted(conversation_id)
        self.reload()
        self.notify("Conversation deleted.")

    def action_export(self) -> None:
        conversation_id = self._selected()
        if conversation_id is None:
            return
        target = Path.cwd() / f"paperbrief-chat-{conversation_id}.md"
        try:
            target.write_text(app_of(self).conversations.to_markdown(conversation_id), encoding="utf-8")
        except OSError as exc:
            self.notify(f"{exc} → check that {target.parent} is writable", title="Export failed", severity="error")
            return
        self.notify(f"Saved to {target}", title="Conversation exported")
