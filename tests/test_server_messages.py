"""HTTP errors keep the server's own short message, scrubbed of secrets (issue 14, item 7).

Before, an LLM server answering ``500 {"error": {"message": "model overloaded"}}``
ended in "HTTP 500 after 1 attempt": the one useful word, *overloaded*, was dropped.
Each client is run against a real loopback server.
"""

from __future__ import annotations

import pytest

from agent.llm.base import ChatMessage, LLMError
from agent.runtime import build_llm
from agent.settings import load_settings
from store.config import EmbeddingConfig, HttpConfig
from store.embeddings import EmbeddingServerError, make_embeddings
from store.errors import FetchError
from store.scrub import server_message
from store.sources.http import PoliteClient
from tests.support.loopback import LoopbackServer
from tests.support.loopback import Reply as HttpReply
from tests.support.openai_server import OpenAIServer, Reply

KEY = "sk-test-SECRET-4711"
FAST = HttpConfig(timeout_s=2.0, retries=2, backoff_s=0.001, max_backoff_s=0.004,
                  min_interval_s=0.0, user_agent="paperbrief-test/1.0 (+tests)")


@pytest.mark.parametrize("status", [500, 503, 400])
def test_llm_errors_keep_the_servers_message(status: int) -> None:
    error = f"model overloaded (request from key {KEY})"
    with OpenAIServer(default=Reply(status=status, error=error)) as server:
        settings = load_settings(openai_base_url=server.url, openai_api_key=KEY, model="gpt-test", llm_attempts=1)
        llm = build_llm(settings)
        with pytest.raises(LLMError) as info:
            llm.complete([ChatMessage("user", "hi")], max_tokens=8)
    message = str(info.value)
    assert f"HTTP {status}: model overloaded (request from key sk-***)" in message
    assert KEY not in message and "\n" not in message


def test_fetch_errors_keep_the_servers_message() -> None:
    with LoopbackServer() as server:
        body = {"error": {"message": "upstream overloaded, try later"}}
        server.route("/api/daily_papers", HttpReply.json(body, status=503))
        with PoliteClient(FAST, sleep=lambda _: None) as http, pytest.raises(FetchError) as info:
            http.get(server.url + "/api/daily_papers")
    assert "HTTP 503: upstream overloaded, try later" in str(info.value)


def test_embedding_server_errors_keep_the_servers_message() -> None:
    with LoopbackServer() as server:
        body = {"error": {"message": f"embedding model nomic not loaded; key {KEY}"}}
        server.route("/v1/embeddings", HttpReply.json(body, status=400), method="POST")
        cfg = EmbeddingConfig(provider="openai", model="nomic", base_url=server.url + "/v1", api_key=KEY)
        with pytest.raises(EmbeddingServerError) as info:
            make_embeddings(cfg).embed(["a text"])
    message = str(info.value)
    assert "HTTP 400: embedding model nomic not loaded; key ***" in message and KEY not in message


def test_server_message_shapes() -> None:
    assert server_message(b'{"detail": "Not Found"}') == "Not Found"
    assert server_message('{"error": "rate limited"}') == "rate limited"
    assert server_message(b"model overloaded\nstack trace line") == "model overloaded"
    assert server_message(b"<html><body>502 Bad Gateway</body></html>") == ""
    assert server_message(b"\x1b[31m" + b"x" * 500).startswith("[31mxxx") and len(server_message(b"x" * 500)) == 200
    assert server_message({"error": {"message": "Bearer abc.def"}}) == "Bearer ***"
