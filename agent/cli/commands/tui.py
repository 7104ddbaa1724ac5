"""``paperbrief tui``: the terminal UI (also what a bare ``paperbrief`` opens on a terminal)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from agent.cli.console import UsageError


def is_interactive() -> bool:
    """Both ends are a terminal: a full-screen app makes sense (not in a pipe, a cron job or CI)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def tui(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Option("--model", help="Chat model name, or a .gguf file for a local model.")
    ] = None,
) -> None:
    """Open the terminal UI: chat with the papers, browse and compare them, read the weekly brief."""
    from agent.cli.context import state

    if not is_interactive():
        raise UsageError("the TUI needs a terminal: run `paperbrief tui` in an interactive shell")
    from agent.tui import run_tui

    run_tui(state(ctx).settings, model=model)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``paperbrief`` app."""
    app.command()(tui)
