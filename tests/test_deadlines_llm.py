"""Deadlines on the whole model request, against real loopback servers that stall.

Before: the timeout was per socket read, so a server trickling one word every 8 s with
PAPERBRIEF_LLM_TIMEOUT=10 finished after 101 s, and one sleeping 120 s failed only after
4 tries x 60 s. Now PAPERBRIEF_LLM_TIMEOUT bounds the request, retries and stream included.
Deadlines here are a few seconds so each test stays short.
"""

from __future__ import annotations

import time

import pytest

from agent.llm import ChatMessage, LLMError, OpenAICompatLLM
from agent.llm.retry import RetryPolicy
from tests.support.loopback import LoopbackServer
from tests.support.loopback import Reply as RawReply
from tests.support.openai_server import OpenAIServer, Reply

QUESTION = [ChatMessage("user", "What is RAG?")]


def llm_for(url: str, *, timeout_s: float, first_token_s: float | None = None) -> OpenAICompatLLM:
    # real sleeps between retries: the backoff must come out of the same budget
    policy = RetryPolicy(attempts=4, base_delay_s=0.2)
    return OpenAICompatLLM(
        "gpt-test", base_url=url, api_key="sk-x", timeout_s=timeout_s,
        first_token_s=first_token_s, policy=policy,
    )


def test_a_trickling_stream_ends_at_the_overall_deadline() -> None:
    words = [f"w{i} " for i in range(20)]
    with OpenAIServer(Reply(chunks=words, chunk_delay_s=1.0)) as server:
        llm = llm_for(server.url, timeout_s=3.0)
        seen: list[str] = []
        started = time.monotonic()
        with pytest.raises(LLMError) as caught:
            for event in llm.stream(QUESTION, max_tokens=64):
                seen.append(getattr(event, "text", ""))
        elapsed = time.monotonic() - started
    # each word arrived well inside the per-read limit; only the whole-request budget stops it
    assert 2.8 <= elapsed < 8.0, elapsed  # the whole stream would take 20 s
    assert 1 <= len(seen) <= 3
    message = str(caught.value)
    assert "\n" not in message
    assert "no complete answer within 3s (PAPERBRIEF_LLM_TIMEOUT)" in message
    assert "stream broke after" in message


def test_a_sleeping_server_fails_within_the_budget_not_attempts_times_timeout() -> None:
    with OpenAIServer(default=Reply(delay_s=30.0)) as server:
        llm = llm_for(server.url, timeout_s=2.0, first_token_s=60.0)
        started = time.monotonic()
        with pytest.raises(LLMError) as caught:
            llm.complete(QUESTION, max_tokens=8)
        elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 6.0, elapsed  # not 4 x 30 s
    assert str(caught.value) == (
        f"model gpt-test at {server.url}: no complete answer within 2s "
        "(PAPERBRIEF_LLM_TIMEOUT) after 1 attempt"
    )


def test_first_token_limit_retries_inside_the_overall_budget() -> None:
    with OpenAIServer(default=Reply(delay_s=30.0)) as server:
        llm = llm_for(server.url, timeout_s=3.0, first_token_s=0.5)
        started = time.monotonic()
        with pytest.raises(LLMError) as caught:
            llm.complete(QUESTION, max_tokens=8)
        elapsed = time.monotonic() - started
        attempts = len(server.chat_requests)
    assert elapsed < 6.0, elapsed
    # every attempt got its own first-token limit, and all of them fit in the one 3 s budget
    assert attempts >= 3
    message = str(caught.value)
    assert message.endswith(f"after {attempts} attempts")
    assert (
        "no first token within 0.5s (PAPERBRIEF_LLM_FIRST_TOKEN_TIMEOUT)" in message
        or "no complete answer within 3s (PAPERBRIEF_LLM_TIMEOUT)" in message  # the last one cut short
    )


def test_a_slow_first_token_then_a_quick_answer_succeeds() -> None:
    with OpenAIServer(Reply(delay_s=5.0), Reply(text="second try")) as server:
        llm = llm_for(server.url, timeout_s=4.0, first_token_s=0.5)
        text, _ = llm.complete(QUESTION, max_tokens=8)
    assert text == "second try"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'data: {"choices": [{"index": 0, "delta": {"content": "caf\xe9 \xff"}}]}\n\n', "not UTF-8"),
        (b"data: {not json at all\n\n", "malformed stream"),
    ],
)
def test_a_broken_stream_ends_in_one_service_line(body: bytes, expected: str) -> None:
    with LoopbackServer() as server:
        reply = RawReply(200, b"", {"Content-Type": "text/event-stream"}, chunks=(body,))
        server.route("/v1/chat/completions", reply, method="POST")
        llm = llm_for(server.url_for("/v1"), timeout_s=5.0)
        with pytest.raises(LLMError) as caught:
            llm.complete(QUESTION, max_tokens=8)
        n = len(server.requests_to("/v1/chat/completions"))
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert caught.value.exit_code == 1
    assert n == 1  # a malformed stream is not retried: it would come back the same
