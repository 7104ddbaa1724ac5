"""``paperbrief evals``: being built (see its issue); registers nothing yet."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``paperbrief`` app."""
