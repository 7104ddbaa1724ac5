"""The one in-process fake model for tests that exercise code above the provider.

Tests of the providers themselves talk to real servers on loopback (``openai_server.py``); this
fake is for the layers on top (caches, batch scheduling, brief planning) where a server adds
nothing. It speaks the real ``LLM`` interface, answers from a script or a function, and records
every call: the messages, the budget, the prompt ref and the thread, plus how many streams ran at
once (``serial=True`` makes streams take turns, like llama.cpp's one context).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from agent.llm.base import (
    LLM,
    ChatMessage,
    Finished,
    LLMError,
    MessageLike,
    Provider,
    StreamEvent,
    TextDelta,
    Usage,
    as_messages,
)
from agent.prompts import PromptRef

#: A reply: the text pieces to stream, or an exception to raise before streaming.
Reply = Sequence[str] | BaseException


@dataclass(frozen=True)
class Call:
    messages: list[ChatMessage]
    max_tokens: int
    prompt: PromptRef | None
    thread: int


class FakeLLM(LLM):
    """Answers with ``respond(messages, max_tokens)`` or, by default, ``pieces``; see the module doc."""

    def __init__(
        self,
        pieces: Sequence[str] = ("Because ", "of ", "tiles ", "[1]."),
        *,
        respond: Callable[[list[ChatMessage], int], Reply] | None = None,
        name: str = "fake",
        provider: Provider = "openai",
        context_window: int = 8192,
        served_as: str | None = None,
        usage: Usage | None = None,
        delay_s: float = 0.0,
        serial: bool = False,
    ) -> None:
        self.name, self.provider, self.context_window = name, provider, context_window
        self.pieces = list(pieces)
        self.respond = respond
        self.served_as = served_as or name
        self.usage = usage
        self.delay_s = delay_s
        self.calls: list[Call] = []
        self.active = 0
        self.peak = 0
        self._serial = threading.Lock() if serial else None
        self._count = threading.Lock()

    @property
    def threads(self) -> set[int]:
        return {c.thread for c in self.calls}

    def fail_with(self, message: str = "model fake: HTTP 503 after 4 attempts") -> FakeLLM:
        """Make every later call fail the way a provider does after its retries."""
        self.respond = lambda _m, _t: LLMError(message)
        return self

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
        with self._count:
            self.calls.append(Call(msgs, max_tokens, prompt, threading.get_ident()))
        reply: Reply = self.respond(msgs, max_tokens) if self.respond else self.pieces
        if isinstance(reply, BaseException):
            raise reply
        if self._serial is not None:
            with self._serial:
                yield from self._emit(reply)
        else:
            yield from self._emit(reply)
        yield Finished(self.usage or Usage(17, len(reply)), "stop", self.served_as)

    def _emit(self, pieces: Sequence[str]) -> Iterator[StreamEvent]:
        with self._count:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            for piece in pieces:
                yield TextDelta(piece)
        finally:
            with self._count:
                self.active -= 1
