"""The OpenAI-compatible provider against a scripted loopback server: streaming, usage, retries."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from agent.llm import ChatMessage, Finished, LLMError, OpenAICompatLLM, TextDelta, Usage
from agent.llm.budget import count_messages, count_tokens
from agent.llm.retry import RetryPolicy
from tests.support.openai_server import OpenAIServer, Reply

KEY = "sk-test-SECRET123"
QUESTION = [ChatMessage("system", "Answer briefly."), ChatMessage("user", "What is RAG?")]


class Sleeps(list[float]):
    """An injectable ``sleep`` that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make(
    server: OpenAIServer,
    sleeps: Sleeps,
    *,
    model: str = "gpt-test",
    attempts: int = 4,
    timeout_s: float = 5.0,
    first_token_s: float | None = None,
    jitter: float = 1.0,
) -> OpenAICompatLLM:
    policy = RetryPolicy(attempts=attempts, sleep=sleeps, random=lambda: jitter)
    return OpenAICompatLLM(
        model,
        base_url=server.url,
        api_key=KEY,
        timeout_s=timeout_s,
        first_token_s=first_token_s,
        policy=policy,
    )


def test_streams_text_in_order_then_one_finished_with_server_usage(sleeps: Sleeps) -> None:
    reply = Reply(
        chunks=["Retrieval", "-augmented", " generation."],
        prompt_tokens=42,
        completion_tokens=3,
        model="gpt-test-2024-01-01",
    )
    with OpenAIServer(reply) as server:
        events = list(make(server, sleeps).stream(QUESTION, max_tokens=32, stop=["\n\n"]))
        body = server.chat_requests[0].body
    assert events[:3] == [
        TextDelta("Retrieval"),
        TextDelta("-augmented"),
        TextDelta(" generation."),
    ]
    assert events[3] == Finished(Usage(42, 3), "stop", "gpt-test-2024-01-01")
    assert len(events) == 4
    assert body is not None
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 32 and body["temperature"] == 0.0 and body["stop"] == ["\n\n"]
    assert body["messages"] == [m.to_dict() for m in QUESTION]


def test_complete_joins_the_stream(sleeps: Sleeps) -> None:
    with OpenAIServer(Reply(text="two words", prompt_tokens=7, completion_tokens=2)) as server:
        text, usage = make(server, sleeps).complete(QUESTION, max_tokens=8)
    assert (text, usage) == ("two words", Usage(7, 2))


def test_counts_tokens_with_tiktoken_when_the_server_sends_no_usage(sleeps: Sleeps) -> None:
    answer = "Retrieval-augmented generation grounds answers in documents."
    with OpenAIServer(Reply(text=answer, usage=False, prompt_tokens=999)) as server:
        text, usage = make(server, sleeps).complete(QUESTION, max_tokens=64)
    assert text == answer
    assert usage == Usage(count_messages(QUESTION), count_tokens(answer))


def test_a_server_rejecting_stream_options_is_asked_again_without_them(sleeps: Sleeps) -> None:
    with OpenAIServer(default=Reply(text="fine"), reject_stream_options=True) as server:
        llm = make(server, sleeps)
        text, usage = llm.complete(QUESTION, max_tokens=8)
        first = [r.body for r in server.chat_requests]
        llm.complete(QUESTION, max_tokens=8)  # remembered: one request this time
        second = [r.body for r in server.chat_requests][len(first) :]
    assert text == "fine" and usage.completion_tokens == count_tokens("fine")
    assert ["stream_options" in b for b in first if b] == [True, False]
    assert len(second) == 1 and second[0] is not None and "stream_options" not in second[0]
    assert sleeps == []  # an adjustment, not a retry


def test_429_waits_at_least_retry_after_seconds(sleeps: Sleeps) -> None:
    script = [Reply(status=429, headers={"Retry-After": "3"}), Reply(text="ok")]
    with OpenAIServer(*script) as server:
        text, _ = make(server, sleeps, jitter=0.0).complete(QUESTION, max_tokens=8)
        n = len(server.chat_requests)
    assert text == "ok" and n == 2
    assert len(sleeps) == 1 and sleeps[0] >= 3.0


def test_429_retry_after_as_http_date(sleeps: Sleeps) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=6), usegmt=True)
    with OpenAIServer(Reply(status=429, headers={"Retry-After": when}), Reply(text="ok")) as server:
        make(server, sleeps, jitter=0.0).complete(QUESTION, max_tokens=8)
    assert len(sleeps) == 1 and 4.0 <= sleeps[0] <= 6.5


def test_retry_after_is_capped(sleeps: Sleeps) -> None:
    with OpenAIServer(Reply(status=429, headers={"Retry-After": "86400"}), Reply()) as server:
        llm = make(server, sleeps, timeout_s=120.0)  # a budget above the cap: the cap decides
        llm.policy.max_retry_after_s = 30.0
        llm.complete(QUESTION, max_tokens=8)
    assert sleeps == [30.0]


def test_quota_exhaustion_429_is_not_retried(sleeps: Sleeps) -> None:
    """OpenAI answers 429 ``insufficient_quota`` when billing is exhausted; waiting won't help."""
    reply = Reply(status=429, error="You exceeded your current quota", code="insufficient_quota")
    with OpenAIServer(default=reply) as server:
        with pytest.raises(LLMError) as caught:
            make(server, sleeps).complete(QUESTION, max_tokens=8)
        n = len(server.chat_requests)
    assert n == 1 and sleeps == []
    assert str(caught.value).endswith("HTTP 429: You exceeded your current quota")


def test_500_twice_then_success_backs_off_exponentially(sleeps: Sleeps) -> None:
    with OpenAIServer(Reply(status=500), Reply(status=502), Reply(text="recovered")) as server:
        llm = make(server, sleeps, jitter=1.0)
        text, _ = llm.complete(QUESTION, max_tokens=8)
        n = len(server.chat_requests)
    assert text == "recovered" and n == 3
    base = llm.policy.base_delay_s
    assert sleeps == [base, 2 * base]  # full jitter with random()=1.0 hits the ceiling


def test_full_jitter_stays_under_the_ceiling(sleeps: Sleeps) -> None:
    with OpenAIServer(Reply(status=503), Reply(status=503), Reply()) as server:
        llm = make(server, sleeps, jitter=0.25)
        llm.complete(QUESTION, max_tokens=8)
    base = llm.policy.base_delay_s
    assert sleeps == [0.25 * base, 0.25 * 2 * base]


def test_a_hang_beyond_the_first_token_limit_is_retried(sleeps: Sleeps) -> None:
    with OpenAIServer(Reply(delay_s=5.0), Reply(text="after the hang")) as server:
        started = time.monotonic()
        llm = make(server, sleeps, first_token_s=0.3)
        text, _ = llm.complete(QUESTION, max_tokens=8)
        elapsed = time.monotonic() - started
        n = len(server.chat_requests)
    assert text == "after the hang" and n == 2
    assert elapsed < 3.0  # gave up on the hang at the timeout, not after 5 s


def test_hanging_every_time_ends_in_one_timeout_line(sleeps: Sleeps) -> None:
    with OpenAIServer(default=Reply(delay_s=5.0)) as server:
        with pytest.raises(LLMError) as caught:
            make(server, sleeps, attempts=2, first_token_s=0.3).complete(QUESTION, max_tokens=8)
        n = len(server.chat_requests)
    assert str(caught.value) == (
        f"model gpt-test at {server.url}: no first token within 0.3s "
        "(PAPERBRIEF_LLM_FIRST_TOKEN_TIMEOUT) after 2 attempts"
    )
    assert n == 2


def test_a_disconnect_mid_stream_fails_at_once_without_retry(sleeps: Sleeps) -> None:
    script = Reply(text="one two three four five", disconnect_after=2)
    with OpenAIServer(script, default=Reply(text="a retry would see this")) as server:
        seen: list[str] = []
        with pytest.raises(LLMError) as caught:
            for event in make(server, sleeps).stream(QUESTION, max_tokens=16):
                if isinstance(event, TextDelta):
                    seen.append(event.text)
        n = len(server.chat_requests)
    assert seen == ["one ", "two "]
    assert n == 1 and sleeps == []
    message = str(caught.value)
    assert message.startswith(f"model gpt-test at {server.url}: stream broke after")
    assert "not retried: connection error" in message and "\n" not in message


def test_a_drop_before_any_text_is_still_retried(sleeps: Sleeps) -> None:
    """The role-only first chunk is not text: nothing reached the caller, so retrying is safe."""
    with OpenAIServer(Reply(text="lost", disconnect_after=0), Reply(text="second try")) as server:
        text, _ = make(server, sleeps).complete(QUESTION, max_tokens=8)
        n = len(server.chat_requests)
    assert text == "second try" and n == 2


def test_all_attempts_failing_gives_one_clear_line(sleeps: Sleeps) -> None:
    with OpenAIServer(default=Reply(status=503, error=f"overloaded, key {KEY}")) as server:
        with pytest.raises(LLMError) as caught:
            make(server, sleeps, model="gpt-x").complete(QUESTION, max_tokens=8)
        n = len(server.chat_requests)
    err = caught.value
    assert (
        str(err)
        == f"model gpt-x at http://127.0.0.1:{server.port}/v1: HTTP 503: overloaded, key sk-*** after 4 attempts"
    )
    assert n == 4 and len(sleeps) == 3
    assert err.__cause__ is None and err.__suppress_context__


def test_a_bad_key_is_not_retried_and_never_echoed(sleeps: Sleeps) -> None:
    error = f"Incorrect API key provided: {KEY}. Find your key at platform.openai.com."
    with OpenAIServer(default=Reply(status=401, error=error)) as server:
        with pytest.raises(LLMError) as caught:
            make(server, sleeps).complete(QUESTION, max_tokens=8)
        n = len(server.chat_requests)
        auth = server.chat_requests[0].headers.get("authorization")
    assert n == 1 and sleeps == []
    assert "HTTP 401: Incorrect API key provided" in str(caught.value)
    assert "SECRET123" not in str(caught.value)
    assert auth == f"Bearer {KEY}"


def test_connection_refused_is_retried_then_reported(sleeps: Sleeps) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    policy = RetryPolicy(attempts=2, sleep=sleeps)
    llm = OpenAICompatLLM("gpt-test", base_url=f"http://127.0.0.1:{port}/v1", policy=policy)
    with pytest.raises(LLMError, match=r"connection error .* after 2 attempts$"):
        llm.complete(QUESTION, max_tokens=8)
    assert len(sleeps) == 1


def test_reasoning_models_get_max_completion_tokens_and_no_temperature(sleeps: Sleeps) -> None:
    with OpenAIServer() as server:
        make(server, sleeps, model="o3-mini").complete(QUESTION, max_tokens=100, temperature=0.5)
        body = server.chat_requests[0].body
    assert body is not None
    assert body["max_completion_tokens"] == 100
    assert "max_tokens" not in body and "temperature" not in body


def test_query_in_the_base_url_is_sent_with_every_request(sleeps: Sleeps) -> None:
    """Azure-style endpoints carry ``?api-version=...``; it must survive URL joining."""
    with OpenAIServer() as server:
        policy = RetryPolicy(attempts=1, sleep=sleeps)
        url = f"{server.url}?api-version=2024-10-21"
        llm = OpenAICompatLLM("gpt-test", base_url=url, api_key=KEY, policy=policy)
        llm.complete(QUESTION, max_tokens=8)
        path = server.chat_requests[0].path
    assert path == "/v1/chat/completions?api-version=2024-10-21"
    assert "api-version" not in llm.describe


def test_list_models_answers_none_when_the_server_has_no_models_route(sleeps: Sleeps) -> None:
    with OpenAIServer(models=["a", "b"]) as listing, OpenAIServer(models=None) as bare:
        assert make(listing, sleeps).list_models() == ["a", "b"]
        assert make(bare, sleeps).list_models() is None


def test_stopping_early_closes_the_stream(sleeps: Sleeps) -> None:
    with OpenAIServer(Reply(text="a b c d e f", chunk_delay_s=0.05), Reply(text="next")) as server:
        llm = make(server, sleeps)
        stream = llm.stream(QUESTION, max_tokens=16)
        assert next(stream) == TextDelta("a ")
        stream.close()
        text, _ = llm.complete(QUESTION, max_tokens=8)  # the client is still usable
    assert text == "next"
