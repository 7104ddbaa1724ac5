"""The fetchers' overall deadline, against real loopback servers that stall or trickle.

Before: ``PAPERBRIEF_HTTP_TIMEOUT`` bounded each read of each attempt, so five attempts at a
sleeping server took five timeouts plus backoff, and a body trickling in a few bytes a
second never timed out at all. ``deadline_s`` now bounds the whole request.
"""

from __future__ import annotations

import time

import pytest

from store.config import HttpConfig
from store.errors import FetchError
from store.sources.http import PoliteClient
from tests.support.loopback import LoopbackServer, Reply


def test_retries_of_a_sleeping_server_stop_at_the_deadline(loopback: LoopbackServer) -> None:
    loopback.route("/slow", Reply.hang(30.0))
    config = HttpConfig(timeout_s=1.0, retries=20, backoff_s=0.05, min_interval_s=0, deadline_s=2.5)
    started = time.monotonic()
    with PoliteClient(config) as http, pytest.raises(FetchError) as info:
        http.get(loopback.url_for("/slow"))
    elapsed = time.monotonic() - started
    assert 2.4 <= elapsed < 7.0, elapsed  # not 20 attempts x 1 s
    message = str(info.value)
    assert "no answer within the 2.5 s deadline (PAPERBRIEF_HTTP_DEADLINE)" in message
    assert "\n" not in message
    assert 2 <= len(loopback.requests) <= 4


def test_a_trickling_body_ends_at_the_deadline(loopback: LoopbackServer) -> None:
    chunks = tuple(b"x" * 10 for _ in range(40))
    loopback.route("/trickle", Reply(200, b"", {}, chunks=chunks, chunk_delay_s=0.5))
    config = HttpConfig(timeout_s=2.0, retries=1, min_interval_s=0, deadline_s=2.0)
    started = time.monotonic()
    with PoliteClient(config) as http, pytest.raises(FetchError) as info:
        http.get(loopback.url_for("/trickle"))
    elapsed = time.monotonic() - started
    # every read came within the 2 s read timeout; only the deadline ends it (the body takes 20 s)
    assert 1.9 <= elapsed < 7.0, elapsed
    assert "deadline" in str(info.value)


def test_a_quick_server_is_unaffected(loopback: LoopbackServer) -> None:
    loopback.route("/ok", Reply.text("fine"))
    config = HttpConfig(timeout_s=1.0, retries=2, min_interval_s=0, deadline_s=2.0)
    with PoliteClient(config) as http:
        assert http.get(loopback.url_for("/ok")).text == "fine"
