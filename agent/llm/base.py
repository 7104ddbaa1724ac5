"""The one small interface every language model in paperbrief speaks.

Like simonw/llm, a model is a plain object with a name and a ``stream`` method;
everything else (retries, logging, budgets) wraps that method instead of living
inside each provider. Callers only ever see :class:`TextDelta`, :class:`Finished`
and :class:`LLMError`, whatever the backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from store.errors import ServiceError
from store.scrub import scrub_secrets as scrub_secrets  # re-exported: the LLM side's name for it

if TYPE_CHECKING:
    from agent.prompts import PromptRef

Role = Literal["system", "user", "assistant"]
Provider = Literal["openai", "local"]

#: Models whose context window is below this many tokens count as "small": callers
#: shrink prompts, retrieve fewer passages and expect weaker instruction following.
SMALL_WINDOW = 4096


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a chat prompt."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        """The OpenAI / llama.cpp wire shape."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Usage:
    """Token counts for one call, as the backend reported them (or as we counted them)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True)
class TextDelta:
    """A piece of generated text, in order; concatenating them gives the answer."""

    text: str


@dataclass(frozen=True)
class Finished:
    """The last event of every successful stream.

    ``model`` is the id the backend says answered (servers often expand an alias
    such as ``gpt-4o-mini`` to a dated snapshot); ``finish_reason`` is ``"stop"``,
    ``"length"`` (hit ``max_tokens``) or whatever the backend reported.
    """

    usage: Usage
    finish_reason: str | None
    model: str


StreamEvent = TextDelta | Finished
MessageLike = ChatMessage | Mapping[str, str]


class LLMError(ServiceError):
    """A model call that failed for good; ``str(err)`` is one line meant for people.

    The message never carries an API key or a traceback: it names the model, where
    it lives and what went wrong, e.g.
    ``model gpt-x at http://127.0.0.1:8080/v1: HTTP 503 after 4 attempts``.
    """

    title = "Model unavailable"
    hint = "check the model server (OPENAI_BASE_URL) or run `paperbrief doctor`"

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ModelProcessError(LLMError):
    """The local model's process died, hung past its deadline, or cannot be (re)started.

    Unlike a remote server's error this is never the caller's fault and never worth
    failing the whole command for: ``ask`` answers extractively, ``brief`` quotes, ``batch``
    marks the item and goes on. The message names the cause and the fix when known.
    """

    title = "Local model failed"
    hint = "run `paperbrief doctor`; the next call restarts the model service"


def as_messages(messages: Sequence[MessageLike]) -> list[ChatMessage]:
    """Accept dataclasses or ``{"role", "content"}`` dicts; providers work on dataclasses."""
    out: list[ChatMessage] = []
    for m in messages:
        if isinstance(m, ChatMessage):
            out.append(m)
        else:
            out.append(ChatMessage(role=m["role"], content=m["content"]))  # type: ignore[arg-type]
    return out


class LLM(ABC):
    """A chat model. Subclasses implement :meth:`stream`; :meth:`complete` comes free.

    Attributes every implementation sets:

    * ``name`` – the model id shown in every output and in the call log;
    * ``provider`` – ``"openai"`` (any OpenAI-compatible server) or ``"local"``;
    * ``context_window`` – prompt + answer tokens the model can take.
    """

    name: str
    provider: Provider
    context_window: int

    @property
    def is_small(self) -> bool:
        """SmolLM2-class models: tiny window or tiny model, so prompts must be kept short."""
        return self.context_window < SMALL_WINDOW or "smollm" in self.name.lower()

    @abstractmethod
    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        prompt: PromptRef | None = None,
    ) -> Iterator[StreamEvent]:
        """Yield :class:`TextDelta` events, then exactly one :class:`Finished`.

        ``prompt`` names the template the messages came from; providers ignore it and
        wrappers (the call log, caches) record it. Raises :class:`LLMError` on failure.
        Implementations may retry only before the first event is yielded; once text has
        reached the caller a failure is final.
        """

    def complete(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        prompt: PromptRef | None = None,
    ) -> tuple[str, Usage]:
        """Run :meth:`stream` to the end and return the whole text with its usage."""
        parts: list[str] = []
        usage = Usage()
        for event in self.stream(
            messages, max_tokens=max_tokens, temperature=temperature, stop=stop, prompt=prompt
        ):
            if isinstance(event, TextDelta):
                parts.append(event.text)
            else:
                usage = event.usage
        return "".join(parts), usage

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.provider}:{self.name}>"


class WrappedLLM(LLM):
    """An :class:`LLM` around another one (the call log, the response cache, a meter).

    It answers to the inner model's name, provider and window, so callers cannot tell it
    apart; subclasses implement :meth:`stream` around ``self.inner.stream``.
    """

    def __init__(self, inner: LLM) -> None:
        self.inner = inner
        self.name = inner.name
        self.provider = inner.provider
        self.context_window = inner.context_window

    @property
    def is_small(self) -> bool:
        return self.inner.is_small
