"""Turn any exception a worker meets into a notification: what went wrong and what to do next.

A TUI that prints a traceback has failed its user; every error the app can reach is
mapped here to one line of cause plus one line of next step. Unknown errors still get
a readable line (and their traceback goes to ``<data_dir>/logs/tui.log``, not the screen).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.ask.pipeline import AskError
from agent.errors import PaperbriefError
from agent.llm.base import scrub_secrets


@dataclass(frozen=True)
class Problem:
    """A notification's parts: ``title`` (short), ``message`` (the cause) and ``hint`` (the next step)."""

    title: str
    message: str
    hint: str

    @property
    def text(self) -> str:
        return f"{self.message}\n→ {self.hint}" if self.hint else self.message


#: Added to the hints of failures a broken install causes (model, native build, service).
DOCTOR_HINT = "; `paperbrief doctor` checks the whole setup"
EMPTY_INDEX_HINT = "press F5 to ingest papers (e.g. ../shared/seeds), or run `paperbrief ingest PATH`"


def explain(exc: BaseException, secrets: tuple[str, ...] = ()) -> Problem:
    """The notification for ``exc``; secrets (API keys) are scrubbed from every line.

    Errors of the project's error model carry their own title and hint; a few cases get a
    hint that names the TUI's own keys instead.
    """
    message = scrub_secrets(str(exc) or type(exc).__name__, secrets)
    if isinstance(exc, AskError) and "index is empty" in message:
        return Problem("No papers yet", "The index is empty.", EMPTY_INDEX_HINT)
    if isinstance(exc, PaperbriefError):
        hint = _TUI_HINTS.get(type(exc).__name__, exc.hint)
        return Problem(exc.title, message, hint)
    if isinstance(exc, FileNotFoundError):
        return Problem("No such file", message, "give an existing file or folder")
    if isinstance(exc, OSError):
        return Problem("File error", message, "check the path and its permissions")
    return Problem("Unexpected error", message, "details are in <data_dir>/logs/tui.log" + DOCTOR_HINT)


#: Hints that point at the TUI's keys rather than the CLI's flags.
_TUI_HINTS: dict[str, str] = {
    "AskError": "rephrase the question and press Enter",
    "SelectionError": "select 2 to 6 papers in Papers (F3) with Space and press c, or /compare ID ID",
    "BriefError": "pick a week from the list, or ingest its papers (F5)",
    "WindowError": "use YYYY-Www (2025-W11) or a day (2025-03-12)",
    "LLMError": "check the server (OPENAI_BASE_URL) and try again, or switch model with /model NAME" + DOCTOR_HINT,
    "ConfigError": "pick another with /model NAME or fix the setting in .env" + DOCTOR_HINT,
    "FetchError": "check the network or the date, then press F5 to try again",
}
