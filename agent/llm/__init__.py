"""Language models for paperbrief: one small interface, two providers, and what wraps them.

* :mod:`.base` – :class:`LLM`, messages, stream events, :class:`LLMError`;
* :mod:`.openai_compat` – any ``/v1/chat/completions`` server;
* :mod:`.local` – a GGUF file run in-process (``PAPERBRIEF_LOCAL_MODE=inprocess``);
* :mod:`.service` – the default for local models: one shared model process per data dir,
  reached through the OpenAI-compatible provider, crash-isolated;
* :mod:`.factory` – :func:`make_llm` picks one from the settings;
* :mod:`.retry`, :mod:`.budget`, :mod:`.pricing`, :mod:`.calllog` – retries, token budgets,
  cost and the SQLite call log.

Importing this package loads neither llama.cpp nor any model.
"""

from agent.llm.base import (
    LLM,
    ChatMessage,
    Finished,
    LLMError,
    StreamEvent,
    TextDelta,
    Usage,
)
from agent.llm.budget import count_messages, count_tokens, fit_context, trim_to_tokens
from agent.llm.calllog import CallLog, LoggedLLM, logged_stream
from agent.llm.factory import make_llm
from agent.llm.local import LocalLLM
from agent.llm.openai_compat import OpenAICompatLLM
from agent.llm.pricing import cost_usd
from agent.llm.retry import RetryPolicy

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
