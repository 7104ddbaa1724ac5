"""Pick the model a command talks to, from settings and an optional ``--model``.

The rule is deliberately short so it can be stated in ``--help``: a configured API
key or base URL means the OpenAI-compatible provider; otherwise the local GGUF
model (``PAPERBRIEF_PROVIDER`` forces one or the other). A ``--model`` ending in
``.gguf`` means that local file when no server is configured or the file exists;
with a server configured, a name that is not a file here is the server's model id.

The local model runs in the shared model service (:mod:`agent.llm.service`) unless
``PAPERBRIEF_LOCAL_MODE=inprocess``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from agent.llm.base import LLM, LLMError
from agent.llm.local import DEFAULT_LOCAL_CONTEXT, LocalLLM, check_gguf, cpu_threads, default_gguf
from agent.llm.registry import chosen_gguf
from agent.llm.retry import RetryPolicy
from agent.settings import Settings

if TYPE_CHECKING:
    from agent.llm.openai_compat import OpenAICompatLLM

#: How many available model ids an "unknown model" error lists.
_SHOWN_MODELS = 8


def make_llm(
    settings: Settings,
    model: str | None = None,
    *,
    check_model: bool = True,
    policy: RetryPolicy | None = None,
) -> LLM:
    """The model to use; raises :class:`LLMError` with one line when it can't be had.

    ``check_model`` asks an OpenAI-compatible server for its ``/models`` list so a
    typo fails now, naming the alternatives, instead of after retrieval; servers
    that don't answer ``/models`` are trusted. ``policy`` overrides the retry policy
    built from ``llm_attempts`` (tests inject a sleep that doesn't sleep).
    """
    chosen = model or settings.llm.model
    key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else None
    server = settings.llm.provider == "openai" or (
        settings.llm.provider == "auto" and bool(key or settings.llm.base_url)
    )
    if chosen and chosen.lower().endswith(".gguf"):
        path = Path(chosen).expanduser()
        if not server or path.is_file():
            return local_llm(settings, path)
    elif settings.llm.provider == "local":
        return local_llm(settings, settings.local.gguf or chosen_gguf(settings.data_dir))
    if not server:
        if chosen:
            raise LLMError(
                f"model {chosen} needs an OpenAI-compatible server: set OPENAI_API_KEY or "
                "OPENAI_BASE_URL, or pass a .gguf file to use a local model"
            )
        # PAPERBRIEF_GGUF wins; else the model chosen with `paperbrief models use`; else SmolLM2
        return local_llm(settings, settings.local.gguf or chosen_gguf(settings.data_dir))
    # imported here: ``openai`` costs about a second of start-up, paid only by a remote model
    from agent.llm.openai_compat import DEFAULT_MODEL, OpenAICompatLLM

    llm = OpenAICompatLLM(
        chosen or DEFAULT_MODEL,
        base_url=settings.llm.base_url,
        api_key=key,
        timeout_s=settings.llm.timeout_s,
        first_token_s=settings.llm.first_token_timeout_s,
        policy=policy or RetryPolicy(attempts=settings.llm.attempts),
        context_window=settings.llm.context_window,
    )
    if check_model:
        _check_model(llm)
    return llm


def local_llm(settings: Settings, gguf: Path | None) -> LLM:
    """The local GGUF model: through the shared service, or in this process when asked."""
    if settings.local.mode == "inprocess":
        return LocalLLM(gguf, context_window=settings.llm.context_window, n_threads=settings.local.threads)
    from agent.llm.service.process import ServiceSpec
    from agent.llm.service.provider import ServiceLLM

    path = (gguf.expanduser() if gguf else default_gguf()).resolve()
    check_gguf(path)  # a missing or non-GGUF file is one clear line now, not a dead service later
    spec = ServiceSpec(
        model=path,
        data_dir=settings.data_dir,
        n_ctx=settings.llm.context_window or DEFAULT_LOCAL_CONTEXT,
        threads=settings.local.threads or cpu_threads(),
        idle_timeout_s=settings.local.idle_timeout_s,
    )
    return ServiceLLM(spec, deadline_s=settings.local.timeout_s)


def _check_model(llm: OpenAICompatLLM) -> None:
    available = llm.list_models()
    if not available or llm.name in available:
        return
    # Ollama lists "llama3:latest" for "llama3"; accept the implied tag.
    if ":" not in llm.name and f"{llm.name}:latest" in available:
        return
    close = difflib.get_close_matches(llm.name, available, n=3, cutoff=0.5)
    ordered = close + [m for m in sorted(available) if m not in close]
    shown = ", ".join(ordered[:_SHOWN_MODELS])
    more = f" (+{len(ordered) - _SHOWN_MODELS} more)" if len(ordered) > _SHOWN_MODELS else ""
    hint = f"did you mean {close[0]}? " if close else ""
    raise LLMError(f"{llm.describe}: unknown model; {hint}the server offers {shown}{more}")
