"""Any server speaking ``/v1/chat/completions``: OpenAI, Azure, Ollama, vLLM, LM Studio, llama.cpp.

Streaming only: the first words reach the user as soon as the model writes them,
and a non-streaming answer is just a stream read to the end. The ``openai``
client's own retries are switched off (``max_retries=0``) so they don't multiply
with ours in :mod:`agent.llm.retry`, which retry only until the first event.

Servers differ in small ways; each difference is handled once and remembered on
the instance: a server that rejects ``stream_options`` gets requests without it
(and we count tokens ourselves), OpenAI's reasoning models get
``max_completion_tokens`` and no ``temperature``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.prompts import PromptRef

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import openai
from openai import OpenAI

from agent.llm.base import (
    LLM,
    Finished,
    LLMError,
    MessageLike,
    StreamEvent,
    TextDelta,
    Usage,
    as_messages,
    scrub_secrets,
)
from agent.llm.budget import context_window_for, count_messages, count_tokens
from agent.llm.retry import Failure, RetryPolicy, call_with_retries, parse_retry_after
from store.scrub import server_message

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"

#: Statuses worth another try: timeouts, conflicts, rate limits and server errors.
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})

#: OpenAI's reasoning models refuse ``max_tokens`` and any temperature but the default.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def display_url(url: str) -> str:
    """``url`` without user-info or query string: what error lines and logs may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


@dataclass
class _Compat:
    """What this server accepts, learned from its 400s and remembered per instance."""

    usage_option: bool = True
    completion_tokens_param: bool = False
    temperature: bool = True


@dataclass
class _StreamState:
    """Turns OpenAI stream chunks into our events and remembers what the end needs."""

    model: str
    text_parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None

    def feed(self, chunk: Any) -> list[TextDelta]:
        if getattr(chunk, "model", None):
            self.model = chunk.model
        usage = getattr(chunk, "usage", None)
        if usage is not None and usage.prompt_tokens is not None:
            self.usage = Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0)
        out: list[TextDelta] = []
        for choice in getattr(chunk, "choices", None) or []:
            if choice.index not in (0, None):
                continue
            text = choice.delta.content if choice.delta is not None else None
            if text:
                self.text_parts.append(text)
                out.append(TextDelta(text))
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return out


class OpenAICompatLLM(LLM):
    """A chat model behind an OpenAI-compatible HTTP API."""

    provider = "openai"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        policy: RetryPolicy | None = None,
        context_window: int | None = None,
    ) -> None:
        self.name = model
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.context_window = context_window_for(model, context_window)
        self.timeout_s = timeout_s
        self.policy = policy or RetryPolicy()
        self._secrets = [api_key] if api_key else []
        self._compat = _Compat(completion_tokens_param=model.startswith(_REASONING_PREFIXES))
        self._compat.temperature = not self._compat.completion_tokens_param
        self._client = _make_client(self.base_url, api_key, timeout_s)

    @property
    def describe(self) -> str:
        """``model X at URL``: the prefix of every error line this provider raises."""
        return f"model {self.name} at {display_url(self.base_url)}"

    # --- the interface -------------------------------------------------------------

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        prompt: PromptRef | None = None,
    ) -> Iterator[StreamEvent]:
        msgs = as_messages(messages)
        wire = [m.to_dict() for m in msgs]
        state, chunks, head = call_with_retries(
            lambda: self._open(wire, max_tokens, temperature, stop),
            policy=self.policy,
            classify=self.classify,
            describe=self.describe,
        )
        try:
            yield from head
            for chunk in _guarded(chunks, state, self):
                yield from state.feed(chunk)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if state.finish_reason is None and state.usage is None:
            raise LLMError(f"{self.describe}: the stream ended before the model finished")
        usage = state.usage or Usage(count_messages(msgs), count_tokens("".join(state.text_parts)))
        yield Finished(usage=usage, finish_reason=state.finish_reason, model=state.model)

    def list_models(self, timeout_s: float = 5.0) -> list[str] | None:
        """Model ids from ``GET /models``, or ``None`` when the server doesn't answer it.

        Used only to turn a typo in the model name into a helpful error; any failure
        here means "can't tell", never "wrong".
        """
        try:
            page = self._client.with_options(timeout=min(timeout_s, self.timeout_s)).models.list()
            return [m.id for m in page.data]
        except Exception:
            return None

    # --- internals -----------------------------------------------------------------

    def _params(
        self,
        wire: list[dict[str, str]],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.name, "messages": wire, "stream": True}
        if self._compat.completion_tokens_param:
            params["max_completion_tokens"] = max_tokens
        else:
            params["max_tokens"] = max_tokens
        if self._compat.temperature:
            params["temperature"] = temperature
        if stop:
            params["stop"] = list(stop)
        if self._compat.usage_option:
            params["stream_options"] = {"include_usage": True}
        return params

    def _open(
        self,
        wire: list[dict[str, str]],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
    ) -> tuple[_StreamState, Iterator[Any], list[StreamEvent]]:
        """Start the request and read up to the first text: the part that is safe to retry."""
        for _ in range(4):  # at most one adjustment per compat flag, then give up adjusting
            try:
                stream = self._client.chat.completions.create(
                    **self._params(wire, max_tokens, temperature, stop)
                )
                break
            except openai.BadRequestError as exc:
                if not self._adjust(exc):
                    raise
        else:  # pragma: no cover - every flag flipped and the server still says 400
            raise LLMError(f"{self.describe}: the server rejected every request shape we know")
        state = _StreamState(model=self.name)
        chunks = iter(stream)
        head: list[StreamEvent] = []
        try:
            for chunk in chunks:
                head.extend(state.feed(chunk))
                if head:
                    break
        except BaseException:
            stream.close()
            raise
        return state, stream, head

    def _adjust(self, exc: openai.BadRequestError) -> bool:
        """Learn from a 400 that names a parameter this server doesn't take; True if we changed."""
        text = _error_message(exc).lower()
        if "stream_options" in text and self._compat.usage_option:
            self._compat.usage_option = False
            return True
        if "max_completion_tokens" in text and not self._compat.completion_tokens_param:
            self._compat.completion_tokens_param = True
            return True
        if "temperature" in text and self._compat.temperature:
            self._compat.temperature = False
            return True
        return False

    def classify(self, exc: BaseException) -> Failure | None:
        """Map an ``openai`` exception to a retry decision and a short, key-free summary."""
        if isinstance(exc, openai.APITimeoutError):
            return Failure(f"timed out after {self.timeout_s:g}s", retryable=True)
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            reason = _short(str(cause)) if cause is not None and str(cause) else "connection failed"
            return Failure(
                scrub_secrets(f"connection error ({reason})", self._secrets), retryable=True
            )
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            code = exc.code or ""
            retryable = (
                status in RETRYABLE_STATUS or status >= 500
            ) and code != "insufficient_quota"
            summary = f"HTTP {status}"
            message = _error_message(exc)  # the server's own reason, retryable or not ("model overloaded")
            if message:
                summary += f": {_short(message)}"
            return Failure(
                scrub_secrets(summary, self._secrets),
                retryable=retryable,
                retry_after_s=_retry_after(exc),
            )
        if isinstance(exc, openai.OpenAIError):
            return Failure(scrub_secrets(_short(str(exc)), self._secrets), retryable=False)
        return None


def _make_client(base_url: str, api_key: str | None, timeout_s: float) -> OpenAI:
    """An ``OpenAI`` client with its retries off; Azure hosts also get the ``api-key`` header.

    Servers such as Ollama need no key, but the client insists on one, so a
    placeholder stands in; it is never a real secret.
    """
    parts = urlsplit(base_url)
    query = dict(parse_qsl(parts.query))
    headers: dict[str, str] = {}
    host = parts.hostname or ""
    if api_key and host.endswith((".azure.com", ".azure-api.net")):
        headers["api-key"] = api_key
    clean = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return OpenAI(
        base_url=clean,
        api_key=api_key or "no-key",
        max_retries=0,
        timeout=timeout_s,
        default_headers=headers or None,
        default_query=query or None,
    )


def _guarded(chunks: Iterator[Any], state: _StreamState, llm: OpenAICompatLLM) -> Iterator[Any]:
    """Iterate the rest of a stream; any failure now is final, since text was already shown."""
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except Exception as exc:
            failure = llm.classify(exc)
            what = failure.summary if failure else _short(f"{type(exc).__name__}: {exc}")
            n = count_tokens("".join(state.text_parts))
            raise LLMError(
                f"{llm.describe}: stream broke after ~{n} tokens, not retried: {what}"
            ) from None
        yield chunk


def _error_message(exc: openai.APIError) -> str:
    """The server's own reason (JSON ``error.message``, ``detail``, or a short text body)."""
    return server_message(exc.body) or server_message(exc.message or "")


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
