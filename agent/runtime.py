"""Wiring shared by every front end: the index and the logged model for the current settings.

The CLI, the TUI, batch and evals all build these the same way, so a setting means
the same thing everywhere and every model call lands in the call log.
"""

from __future__ import annotations

from datetime import date

from agent.ask.pipeline import AskOptions
from agent.errors import ConfigError
from agent.llm.base import LLM, LLMError
from agent.llm.calllog import CallLog, LoggedLLM
from agent.settings import Settings
from store.index import Index


def open_index(settings: Settings) -> Index:
    return Index(settings.store_config())


def build_llm(settings: Settings, model: str | None = None, *, check_model: bool = True) -> LLM:
    """The configured model wrapped with the call log; a bad model or GGUF is a ``ConfigError``."""
    from agent.llm.factory import make_llm
    from agent.llm.local import LocalLLM, check_gguf
    from agent.llm.service.provider import ServiceLLM

    try:
        llm = make_llm(settings, model, check_model=check_model)
        if isinstance(llm, LocalLLM | ServiceLLM):
            check_gguf(llm.path)  # fail now, not after retrieval (or after starting a service)
    except LLMError as exc:
        raise ConfigError(str(exc)) from None
    return LoggedLLM(llm, CallLog.for_settings(settings), prices=settings.prices)


def ask_options(settings: Settings, *, k: int, since: date | None, until: date | None) -> AskOptions:
    """Ask options from the settings plus the per-command flags (ask, batch and the TUI agree)."""
    return AskOptions(
        k=k,
        since=since,
        until=until,
        max_answer_tokens=settings.max_answer_tokens,
        abstain_threshold=settings.abstain_threshold,
    )
