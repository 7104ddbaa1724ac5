"""Turn any exception a worker meets into a notification: what went wrong and what to do next.

A TUI that prints a traceback has failed its user; every error the app can reach is
mapped here to one line of cause plus one line of next step. Unknown errors still get
a readable line (and their traceback goes to ``<data_dir>/logs/tui.log``, not the screen).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.ask import AskError
from agent.brief import BriefError
from agent.llm.base import LLMError, scrub_secrets
from agent.prompts import PromptError
from agent.runtime import ConfigError
from agent.select import SelectionError
from agent.settings import SettingsError
from agent.weeks import WindowError
from store.errors import FetchError, SourceError, StoreError


@dataclass(frozen=True)
class Problem:
    """A notification's parts: ``title`` (short), ``message`` (the cause) and ``hint`` (the next step)."""

    title: str
    message: str
    hint: str

    @property
    def text(self) -> str:
        return f"{self.message}\n→ {self.hint}" if self.hint else self.message


EMPTY_INDEX_HINT = "press F5 to ingest papers (e.g. ../shared/seeds), or run `paperbrief ingest PATH`"


def explain(exc: BaseException, secrets: tuple[str, ...] = ()) -> Problem:
    """The notification for ``exc``; secrets (API keys) are scrubbed from every line."""
    message = scrub_secrets(str(exc) or type(exc).__name__, secrets)
    if isinstance(exc, AskError):
        if "index is empty" in message:
            return Problem("No papers yet", "The index is empty.", EMPTY_INDEX_HINT)
        return Problem("Cannot ask", message, "rephrase the question and press Enter")
    if isinstance(exc, SelectionError):
        return Problem(
            "Cannot compare", message, "select 2 to 6 papers in Papers (F3) with Space and press c, or /compare ID ID"
        )
    if isinstance(exc, BriefError):
        return Problem("No brief for that week", message, "pick a week from the list, or ingest its papers (F5)")
    if isinstance(exc, WindowError):
        return Problem("Not a week", message, "use YYYY-Www (2025-W11) or a day (2025-03-12)")
    if isinstance(exc, LLMError):
        return Problem(
            "Model unavailable",
            message,
            "check the server (OPENAI_BASE_URL) and try again, or switch model with /model NAME",
        )
    if isinstance(exc, ConfigError):
        return Problem("Model not usable", message, "pick another with /model NAME or fix the setting in .env")
    if isinstance(exc, FetchError):
        return Problem("Fetch failed", message, "check the network or the date, then press F5 to try again")
    if isinstance(exc, SourceError):
        return Problem("Unreadable file", message, "fix or remove that file, then ingest again")
    if isinstance(exc, StoreError):
        return Problem("Index problem", message, "check PAPERBRIEF_DATA_DIR / CHROMA_HOST, then retry")
    if isinstance(exc, (SettingsError, PromptError)):
        return Problem("Configuration problem", message, "fix the setting in .env or the environment")
    if isinstance(exc, FileNotFoundError):
        return Problem("No such file", message, "give an existing file or folder")
    if isinstance(exc, OSError):
        return Problem("File error", message, "check the path and its permissions")
    return Problem("Unexpected error", message, "details are in <data_dir>/logs/tui.log")
