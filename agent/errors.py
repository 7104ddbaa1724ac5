"""The error model every feature uses (see :mod:`store.errors`, where the roots live).

Feature errors subclass :class:`UserError` (exit 2) or :class:`ServiceError` (exit 1); the CLI
(``agent.cli.app``) and the TUI (``agent.tui.errors``) each map errors by these bases in one
place, reading ``title`` and ``hint`` from the error itself.
"""

from __future__ import annotations

from store.errors import FetchError, PaperbriefError, ServiceError, SourceError, StoreError, UserError

__all__ = [
    "ConfigError",
    "FetchError",
    "PaperbriefError",
    "ServiceError",
    "SourceError",
    "StoreError",
    "UserError",
]


class ConfigError(UserError):
    """A model, GGUF or setting that cannot be used as configured."""

    title = "Model not usable"
    hint = "pick another model (--model, /model NAME) or fix the setting in .env"
