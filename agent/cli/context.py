"""Per-invocation state shared by every sub-command: the CLI overrides, turned into settings once.

It lives apart from ``app`` so that commands can reach it without importing the app that
imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # pydantic-settings loads on first use, not for ``--help``
    from agent.settings import Settings


class State:
    """Per-invocation context: CLI overrides, turned into settings on first use."""

    def __init__(self, overrides: dict[str, object]) -> None:
        self.overrides = overrides
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from agent.settings import load_settings

            self._settings = load_settings(**self.overrides)
        return self._settings


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj
