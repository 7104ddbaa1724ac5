"""Slash commands typed in the chat box: parsed here, acted on by the chat screen.

A plain line is a question; a line starting with ``/`` is a command. Parsing is kept
apart from the screen so the grammar (and the help text built from it) has one home.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("ask", "/ask QUESTION", "ask a question (the same as typing it)"),
        Command("compare", "/compare ID ID [ID…]", "compare two to four papers side by side"),
        Command("brief", "/brief [YYYY-MM-DD]", "open the weekly brief (for the week of that day)"),
        Command("papers", "/papers [FILTER]", "browse the indexed papers, optionally filtered"),
        Command("model", "/model [NAME]", "show the model, or switch to NAME (a model id or a .gguf file)"),
        Command("export", "/export [PATH]", "save this conversation as Markdown"),
        Command("new", "/new", "start a new conversation"),
        Command("history", "/history", "reopen, rename, delete or export saved conversations"),
        Command("ingest", "/ingest [PATH]", "add papers from a file or folder"),
        Command("copy", "/copy", "copy the last answer to the clipboard"),
        Command("save-case", "/save-case", "save the last (or focused) answer as an eval case (needs review)"),
        Command("help", "/help", "keys and commands"),
    )
}


@dataclass(frozen=True)
class Slash:
    """A parsed command: its name, the raw argument text, and the argument split like a shell would."""

    name: str
    arg: str
    args: tuple[str, ...]


class SlashError(ValueError):
    """A line that starts with ``/`` but is not a usable command; the message says what to type."""


def parse(line: str) -> Slash | None:
    """``None`` for a question; a :class:`Slash` for a known command; ``SlashError`` otherwise."""
    text = line.strip()
    if not text.startswith("/") or text.startswith("//"):
        return None
    head, _, arg = text[1:].partition(" ")
    name = head.lower()
    if name not in COMMANDS:
        close = [c for c in COMMANDS if c.startswith(name[:2])] if name else []
        hint = f" (did you mean /{close[0]}?)" if close else ""
        raise SlashError(f"unknown command /{head}{hint}: /help lists them")
    arg = arg.strip()
    try:
        args = tuple(shlex.split(arg))
    except ValueError:
        args = tuple(arg.split())
    return Slash(name, arg, args)


def help_markdown() -> str:
    """The commands as a Markdown table, for the help screen."""
    rows = "\n".join(f"| `{c.usage}` | {c.help} |" for c in COMMANDS.values())
    return "| Command | What it does |\n|---|---|\n" + rows
