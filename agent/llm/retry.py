"""Retries for the part of a model call that is safe to repeat: getting it started.

A request is retried only until its first event reaches the caller. After that a
retry would repeat text the user has already seen (and pay for it twice), so a
mid-stream failure is final. Rate limits honour ``Retry-After``; everything else
backs off exponentially with full jitter, so many clients hitting one server
spread out instead of retrying in lockstep.

The module is provider-agnostic: a provider passes a ``classify`` function that
turns its exceptions into a :class:`Failure`.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from agent.llm.base import LLMError
from store.deadline import Deadline

#: Below this much time left another attempt cannot get anywhere, so we stop instead.
MIN_ATTEMPT_S = 0.05

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """What went wrong with one attempt, in the terms retrying cares about.

    ``summary`` is the short human phrase that ends up in the error line
    (``HTTP 503``, ``timed out after 30s``); it must never contain secrets.
    """

    summary: str
    retryable: bool
    retry_after_s: float | None = None


@dataclass
class RetryPolicy:
    """How hard to try. ``sleep`` and ``random`` are injectable so tests neither wait nor guess."""

    attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    max_retry_after_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff: the wait after failed attempt ``attempt`` (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** max(0, attempt - 1)))
        return self.random() * ceiling

    def wait_for(self, failure: Failure, attempt: int) -> float:
        """The server's ``Retry-After`` when it sent one (capped), else jittered backoff."""
        if failure.retry_after_s is not None:
            return min(max(0.0, failure.retry_after_s), self.max_retry_after_s)
        return self.backoff(attempt)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    Returns ``None`` for a missing or unparseable header (the caller then backs off
    normally); dates in the past give ``0``.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def call_with_retries(
    start: Callable[[], T],
    *,
    policy: RetryPolicy,
    classify: Callable[[BaseException], Failure | None],
    describe: str,
    deadline: Deadline | None = None,
) -> T:
    """Call ``start`` until it returns, retrying failures ``classify`` marks retryable.

    ``describe`` prefixes the final error (``model gpt-x at http://host/v1``). An
    exception ``classify`` does not recognise (returns ``None``) is a bug, not a
    transient failure, and propagates unchanged. With a ``deadline``, retries and the
    waits between them share its budget: no wait runs past it, and no attempt starts
    once it is (nearly) spent, so a hung server costs the budget, not attempts x timeout.
    """

    def retryable(exc: BaseException) -> bool:
        failure = classify(exc)
        return failure is not None and failure.retryable

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        failure = classify(exc) if exc is not None else None
        delay = (
            policy.backoff(state.attempt_number)
            if failure is None
            else policy.wait_for(failure, state.attempt_number)
        )
        if deadline is not None:
            delay = min(delay, max(0.0, deadline.remaining() - MIN_ATTEMPT_S))
        return delay

    by_count = stop_after_attempt(max(1, policy.attempts))

    def stop(state: RetryCallState) -> bool:
        if by_count(state):
            return True
        return deadline is not None and deadline.remaining() <= 2 * MIN_ATTEMPT_S

    retrying = Retrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception(retryable),
        sleep=policy.sleep,
        reraise=True,
    )
    try:
        return retrying(start)
    except LLMError:
        raise
    except Exception as exc:
        failure = classify(exc)
        if failure is None:
            raise
        attempts = int(retrying.statistics.get("attempt_number", 1))
        suffix = ""
        if failure.retryable:
            suffix = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
        raise LLMError(f"{describe}: {failure.summary}{suffix}") from None
