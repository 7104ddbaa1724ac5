"""The retry loop on its own: Retry-After parsing, backoff bounds, what is and isn't retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from agent.llm.base import LLMError
from agent.llm.retry import Failure, RetryPolicy, call_with_retries, parse_retry_after


class Transient(Exception):
    pass


class Fatal(Exception):
    pass


def classify(exc: BaseException) -> Failure | None:
    if isinstance(exc, Transient):
        return Failure("HTTP 503", retryable=True, retry_after_s=getattr(exc, "after", None))
    if isinstance(exc, Fatal):
        return Failure("HTTP 400: bad request", retryable=False)
    return None


def flaky(failures: list[BaseException], result: str = "ok"):
    calls: list[int] = []

    def start() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    return start, calls


def test_parse_retry_after_seconds_and_dates() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None


def test_backoff_is_full_jitter_under_an_exponential_capped_ceiling() -> None:
    top = RetryPolicy(base_delay_s=0.5, max_delay_s=3.0, random=lambda: 1.0)
    assert [top.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    low = RetryPolicy(base_delay_s=0.5, max_delay_s=3.0, random=lambda: 0.0)
    assert low.backoff(4) == 0.0


def test_retry_after_wins_over_backoff_but_is_capped() -> None:
    policy = RetryPolicy(max_retry_after_s=10.0, random=lambda: 1.0)
    assert policy.wait_for(Failure("429", True, retry_after_s=4.0), attempt=3) == 4.0
    assert policy.wait_for(Failure("429", True, retry_after_s=400.0), attempt=1) == 10.0
    assert policy.wait_for(Failure("503", True), attempt=2) == policy.backoff(2)


def test_transient_failures_are_retried_until_success() -> None:
    sleeps: list[float] = []
    exc = Transient()
    exc.after = 2.0  # type: ignore[attr-defined]
    start, calls = flaky([exc, Transient()])
    policy = RetryPolicy(attempts=3, sleep=sleeps.append, random=lambda: 1.0)
    assert call_with_retries(start, policy=policy, classify=classify, describe="m") == "ok"
    assert len(calls) == 3
    assert sleeps == [2.0, policy.backoff(2)]


def test_giving_up_names_the_attempts() -> None:
    start, calls = flaky([Transient() for _ in range(5)])
    policy = RetryPolicy(attempts=3, sleep=lambda s: None)
    with pytest.raises(LLMError) as caught:
        call_with_retries(start, policy=policy, classify=classify, describe="model m at u")
    assert str(caught.value) == "model m at u: HTTP 503 after 3 attempts"
    assert len(calls) == 3


def test_one_attempt_says_attempt_singular() -> None:
    start, _ = flaky([Transient()])
    policy = RetryPolicy(attempts=1, sleep=lambda s: None)
    with pytest.raises(LLMError, match=r"HTTP 503 after 1 attempt$"):
        call_with_retries(start, policy=policy, classify=classify, describe="m")


def test_a_permanent_failure_stops_at_once_without_attempt_count() -> None:
    sleeps: list[float] = []
    start, calls = flaky([Fatal()])
    policy = RetryPolicy(attempts=4, sleep=sleeps.append)
    with pytest.raises(LLMError) as caught:
        call_with_retries(start, policy=policy, classify=classify, describe="m")
    assert str(caught.value) == "m: HTTP 400: bad request"
    assert len(calls) == 1 and sleeps == []


def test_an_unclassified_exception_is_a_bug_and_propagates_unchanged() -> None:
    boom = KeyError("bug")
    start, calls = flaky([boom])
    policy = RetryPolicy(attempts=4, sleep=lambda s: None)
    with pytest.raises(KeyError) as caught:
        call_with_retries(start, policy=policy, classify=classify, describe="m")
    assert caught.value is boom and len(calls) == 1
