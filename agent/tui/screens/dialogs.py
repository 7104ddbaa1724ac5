"""Small modal dialogs: help, a one-line prompt, and the ingest form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Markdown, Static

from agent.safe_text import plain
from agent.tui.slash import help_markdown

KEYS = """\
| Key | Where | What it does |
|---|---|---|
| `F2` `F3` `F4` | anywhere | Chat · Papers · Brief |
| `F5` | anywhere | ingest papers (a path, or fetch a Hugging Face day) |
| `Ctrl+P` | anywhere | command palette: every action by name |
| `F1` | anywhere | this help |
| `Ctrl+Q` | anywhere | quit |
| `Enter` | chat | ask (or run a `/command`) |
| `Esc` | chat | cancel the answer being written |
| `Tab` | chat | move to an answer's sources; `Enter` opens the paper |
| `Ctrl+N` / `Ctrl+O` | chat | new conversation / saved conversations |
| `Ctrl+Y` / `Ctrl+S` | chat | copy the answer / export the conversation to Markdown |
| `/` | papers | filter by title, author or id |
| `Space` | papers | select a paper; `c` compares the selected, `a` asks about them |
| `Enter` | papers | read the paper |
| `s` | papers | cycle the sort order (newest, oldest, title, upvotes) |
| `g` | brief | generate the brief for the chosen week |
| `e` / `h` | brief, compare | export to Markdown / HTML |
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help-dialog"):
            yield Markdown("# Keys\n\n" + KEYS + "\n\n# Commands\n\nType them in the chat box.\n\n" + help_markdown())
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(".help-dialog").focus()


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text; dismisses with it, or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, *, placeholder: str = "", value: str = "", hint: str = "") -> None:
        super().__init__()
        self.title_text, self.placeholder, self.value, self.hint = title, placeholder, value, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt-dialog"):
            yield Static(plain(self.title_text), classes="dialog-title", markup=False)
            yield Input(value=self.value, placeholder=self.placeholder)
            yield Static(plain(self.hint), classes="dialog-hint", markup=False)
        yield Footer()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


@dataclass(frozen=True)
class IngestRequest:
    """What to ingest: files under ``path``, or the Hugging Face listing of ``day``."""

    kind: Literal["path", "hf"]
    path: Path | None = None
    day: date | None = None


def check_path(text: str) -> tuple[Path | None, str]:
    """The path to ingest, or an error that says what to type instead."""
    if not text.strip():
        return None, "Type a file or folder path."
    path = Path(text.strip()).expanduser()
    if not path.exists():
        return None, f"No such file or folder: {path}"
    return path, ""


def check_day(text: str) -> tuple[date | None, str]:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None, f"{text.strip()!r} is not a date: use YYYY-MM-DD"
    if day > date.today():
        return None, f"{day} is in the future"
    return day, ""


class IngestScreen(ModalScreen[IngestRequest | None]):
    """Where the papers come from. The ingest itself runs in the background after this closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, path: str = "") -> None:
        super().__init__()
        self.initial_path = path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog ingest-dialog"):
            yield Static("Ingest papers", classes="dialog-title")
            yield Static("A file or folder (.txt HF pages, .json, .jsonl, .csv, arXiv .xml):")
            yield Input(value=self.initial_path, placeholder="e.g. ../shared/seeds", id="ingest-path")
            yield Static("…or fetch one day of Hugging Face Daily Papers (needs the network):")
            yield Input(placeholder="YYYY-MM-DD", id="ingest-day")
            yield Static("", id="ingest-error", classes="dialog-error", markup=False)
            yield Static(
                "Enter start · Tab next field · Esc cancel — ingest runs in the background", classes="dialog-hint"
            )
        yield Footer()

    def _error(self, message: str) -> None:
        self.query_one("#ingest-error", Static).update(message)

    @on(Input.Submitted, "#ingest-path")
    def _path(self, event: Input.Submitted) -> None:
        path, problem = check_path(event.value)
        if path is None:
            self._error(problem)
            return
        self.dismiss(IngestRequest("path", path=path))

    @on(Input.Submitted, "#ingest-day")
    def _day(self, event: Input.Submitted) -> None:
        day, problem = check_day(event.value)
        if day is None:
            self._error(problem)
            return
        self.dismiss(IngestRequest("hf", day=day))
