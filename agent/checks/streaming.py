"""Streaming a model's answer to a front end, with the loop check every feature needs.

Small models fall into loops ("2 2 2 2…"); waiting for the length limit wastes the user's time
and tokens, so the stream is checked as it arrives and cut when it repeats itself. The model's
stream is always closed, which closes its HTTP connection at once when the caller stops early.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass

from agent.checks.quality import repetition_ratio
from agent.llm.base import LLM, Finished, MessageLike, TextDelta, Usage
from agent.llm.budget import count_messages
from agent.prompts import PromptRef
from agent.types import Token

#: Streamed pieces between loop checks, and the repetition ratio that counts as a loop.
CHECK_EVERY = 24
MAX_REPETITION = 0.5
LOOP_WARNING = "generation stopped early: the model was repeating itself"


@dataclass(frozen=True)
class Streamed:
    """What a checked stream produced: the text, its usage (estimated when cut), how it ended."""

    text: str
    usage: Usage
    finish_reason: str | None
    looped: bool


def stream_checked(
    llm: LLM,
    messages: Sequence[MessageLike],
    *,
    max_tokens: int,
    temperature: float = 0.0,
    prompt: PromptRef | None = None,
    stop: Sequence[str] | None = None,
) -> Generator[Token, None, Streamed]:
    """Yield each piece as a :class:`Token`; return a :class:`Streamed` (``result = yield from ...``)."""
    parts: list[str] = []
    usage, finish, looped = Usage(), None, False
    stream = llm.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop, prompt=prompt)
    try:
        for event in stream:
            if isinstance(event, TextDelta):
                parts.append(event.text)
                yield Token(event.text)
                if len(parts) % CHECK_EVERY == 0 and repetition_ratio("".join(parts)) > MAX_REPETITION:
                    looped = True
                    usage = Usage(count_messages(messages), len(parts))  # the stream was cut: estimate
                    break
            elif isinstance(event, Finished):
                usage, finish = event.usage, event.finish_reason
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()
    return Streamed("".join(parts), usage, finish, looped)
