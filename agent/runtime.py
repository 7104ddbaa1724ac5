"""Wiring shared by every front end: the index and the logged model for the current settings.

The CLI, the TUI, batch and evals all build these the same way, so a setting means
the same thing everywhere and every model call lands in the call log.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import ConfigError
from agent.llm.base import LLM, LLMError
from agent.settings import Settings
from store.index import Index

if TYPE_CHECKING:  # ``open_index`` serves ``search`` too, which never loads the ask pipeline
    from agent.ask.pipeline import AskOptions


def open_index(settings: Settings) -> Index:
    return Index(settings.store_config())


def build_llm(settings: Settings, model: str | None = None, *, check_model: bool = True) -> LLM:
    """The configured model wrapped with the call log; a bad model or GGUF is a ``ConfigError``."""
    from agent.llm.calllog import CallLog, LoggedLLM
    from agent.llm.factory import make_llm
    from agent.llm.local import LocalLLM, check_gguf
    from agent.llm.service.provider import ServiceLLM

    try:
        llm = make_llm(settings, model, check_model=check_model)
        if isinstance(llm, LocalLLM | ServiceLLM):
            check_gguf(llm.path)  # fail now, not after retrieval (or after starting a service)
    except LLMError as exc:
        raise ConfigError(str(exc)) from None
    return LoggedLLM(llm, CallLog.for_settings(settings), prices=settings.llm.prices)


def ask_options(
    settings: Settings,
    *,
    k: int,
    since: date | None = None,
    until: date | None = None,
    paper_ids: Iterable[str] = (),
    prompt_dir: Path | None = None,
) -> AskOptions:
    """Ask options from the settings plus the per-command flags: the CLI, batch, the TUI and
    evals all build them here, so a setting means the same thing everywhere.

    ``paper_ids`` limits retrieval to those papers (a selection in the TUI); ``prompt_dir`` is
    a prompt set under test (evals).
    """
    scope = frozenset(paper_ids)
    from agent.ask.pipeline import AskOptions

    return AskOptions(
        k=k,
        since=since,
        until=until,
        max_answer_tokens=settings.llm.max_answer_tokens,
        abstain_threshold=settings.retrieval.abstain_threshold,
        paper_ids=scope or None,
        prompt_dir=prompt_dir,
    )
