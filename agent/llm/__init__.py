"""Language models for paperbrief: one small interface, two providers, and what wraps them.

* :mod:`.base` – :class:`LLM`, messages, stream events, :class:`LLMError`;
* :mod:`.openai_compat` – any ``/v1/chat/completions`` server;
* :mod:`.local` – a GGUF file run in-process (``PAPERBRIEF_LOCAL_MODE=inprocess``);
* :mod:`.service` – the default for local models: one shared model process per data dir,
  reached through the OpenAI-compatible provider, crash-isolated;
* :mod:`.factory` – :func:`make_llm` picks one from the settings;
* :mod:`.registry` – local GGUF files under ``<data_dir>/models/`` and the one chosen;
  :mod:`.hub` – resumable, verified downloads from the Hugging Face Hub (``models pull``);
* :mod:`.retry`, :mod:`.budget`, :mod:`.pricing`, :mod:`.calllog` – retries, token budgets,
  cost and the SQLite call log;
* :mod:`.cached` – :class:`~agent.llm.cached.CachedLLM`, the one response-replay wrapper
  (the brief's warm re-runs, the eval replay).

Importing this package loads neither llama.cpp nor any model, nor ``openai``: the names
below are re-exported lazily (PEP 562), so ``agent.llm.base`` stays cheap for commands
that never call a model (``paperbrief --help``, ``search``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.llm.base import LLM, ChatMessage, Finished, LLMError, StreamEvent, TextDelta, Usage
    from agent.llm.budget import count_messages, count_tokens, fit_context, trim_to_tokens
    from agent.llm.calllog import CallLog, LoggedLLM, logged_stream
    from agent.llm.factory import make_llm
    from agent.llm.local import LocalLLM
    from agent.llm.openai_compat import OpenAICompatLLM
    from agent.llm.pricing import cost_usd
    from agent.llm.retry import RetryPolicy

_WHERE = {
    **dict.fromkeys(["LLM", "ChatMessage", "Finished", "LLMError", "StreamEvent", "TextDelta", "Usage"], "base"),
    **dict.fromkeys(["count_messages", "count_tokens", "fit_context", "trim_to_tokens"], "budget"),
    **dict.fromkeys(["CallLog", "LoggedLLM", "logged_stream"], "calllog"),
    "make_llm": "factory",
    "LocalLLM": "local",
    "OpenAICompatLLM": "openai_compat",
    "cost_usd": "pricing",
    "RetryPolicy": "retry",
}


def __getattr__(name: str) -> Any:
    """Import the submodule holding ``name`` on first use (keeps ``openai`` out of start-up)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"agent.llm.{module}"), name)


__all__ = [
    "LLM",
    "CallLog",
    "ChatMessage",
    "Finished",
    "LLMError",
    "LocalLLM",
    "LoggedLLM",
    "OpenAICompatLLM",
    "RetryPolicy",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "cost_usd",
    "count_messages",
    "count_tokens",
    "fit_context",
    "logged_stream",
    "make_llm",
    "trim_to_tokens",
]
