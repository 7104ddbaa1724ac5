"""PoliteClient against a real loopback server: retries, backoff, Retry-After, rate limit, errors.

Sleeps are recorded instead of slept wherever the test is about *how long* the
client would wait, so the suite stays fast and the assertions exact.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from dataclasses import replace
from email.utils import formatdate
from itertools import pairwise

import pytest

from store.config import HttpConfig
from store.errors import FetchError
from store.sources.http import (
    PoliteClient,
    RateLimiter,
    backoff_delay,
    open_client,
    parse_retry_after,
    safe_url,
)
from tests.support.clock import FakeClock
from tests.support.loopback import LoopbackServer, Reply

FAST = HttpConfig(timeout_s=0.5, retries=5, backoff_s=0.001, max_backoff_s=0.004,
                  min_interval_s=0.0, user_agent="paperbrief-test/1.0 (+tests)")


class MaxRandom(random.Random):
    """Jitter that always picks the top of the range, so backoff ceilings become visible."""

    def uniform(self, a: float, b: float) -> float:
        return b


def client(config: HttpConfig = FAST, sleeps: list[float] | None = None, **kwargs) -> PoliteClient:
    return PoliteClient(config, sleep=(sleeps.append if sleeps is not None else time.sleep),
                        **kwargs)


# --- retries ---------------------------------------------------------------------------

def test_429_with_retry_after_waits_at_least_the_header_then_succeeds(loopback: LoopbackServer):
    loopback.route("/a", Reply.json({"ok": True}), failures=[Reply.error(429, retry_after=1)])
    sleeps: list[float] = []
    with client(sleeps=sleeps) as http:
        response = http.get(loopback.url_for("/a"))
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert len(loopback.requests) == 2
    assert sleeps == [pytest.approx(1.0)]
    assert sleeps[0] >= 1.0  # the tiny computed backoff (<= 0.004 s) was not used


def test_retry_after_as_http_date_is_honoured(loopback: LoopbackServer):
    when = formatdate(time.time() + 30, usegmt=True)
    loopback.route("/a", Reply.text("ok"), failures=[Reply.error(503, retry_after=when)])
    sleeps: list[float] = []
    with client(sleeps=sleeps) as http:
        assert http.get(loopback.url_for("/a")).text == "ok"
    assert len(sleeps) == 1 and 27.0 <= sleeps[0] <= 30.0


def test_retry_after_is_capped(loopback: LoopbackServer):
    loopback.route("/a", Reply.text("ok"), failures=[Reply.error(429, retry_after=86400)])
    sleeps: list[float] = []
    with client(sleeps=sleeps, max_retry_after_s=7.0) as http:
        http.get(loopback.url_for("/a"))
    assert sleeps == [7.0]


def test_503_twice_then_success(loopback: LoopbackServer):
    loopback.route("/a", Reply.text("fine"), failures=[Reply.error(503), Reply.error(503)])
    sleeps: list[float] = []
    with client(sleeps=sleeps) as http:
        assert http.get(loopback.url_for("/a")).text == "fine"
    assert len(loopback.requests) == 3
    assert len(sleeps) == 2 and all(0.0 <= s <= FAST.max_backoff_s for s in sleeps)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_other_server_errors_are_retried(loopback: LoopbackServer, status: int):
    loopback.route("/a", Reply.text("ok"), failures=[Reply.error(status)])
    with client(sleeps=[]) as http:
        assert http.get(loopback.url_for("/a")).status_code == 200
    assert len(loopback.requests) == 2


def test_backoff_doubles_and_is_capped(loopback: LoopbackServer):
    config = replace(FAST, backoff_s=0.01, max_backoff_s=0.03)
    loopback.route("/a", Reply.text("ok"), failures=[Reply.error(503)] * 4)
    sleeps: list[float] = []
    with client(config, sleeps=sleeps, rng=MaxRandom()) as http:
        http.get(loopback.url_for("/a"))
    assert sleeps == pytest.approx([0.01, 0.02, 0.03, 0.03])


def test_backoff_has_full_jitter():
    rng = random.Random(7)
    draws = [backoff_delay(3, 1.0, 60.0, rng) for _ in range(200)]
    assert all(0.0 <= d <= 4.0 for d in draws)
    assert min(draws) < 1.0 and max(draws) > 3.0  # spread over the whole range, not a fixed step
    assert backoff_delay(500, 1.0, 60.0, rng) <= 60.0  # huge attempt numbers do not overflow


def test_mid_transfer_disconnect_is_retried_and_body_is_complete(loopback: LoopbackServer):
    body = b"0123456789" * 500
    loopback.route("/a", Reply(200, body), failures=[Reply.disconnect(body=body, sent=100)])
    sleeps: list[float] = []
    with client(sleeps=sleeps) as http:
        response = http.get(loopback.url_for("/a"))
    assert response.content == body
    assert len(loopback.requests) == 2 and len(sleeps) == 1


def test_hang_beyond_timeout_is_retried(loopback: LoopbackServer):
    config = replace(FAST, timeout_s=0.2)
    loopback.route("/a", Reply.text("awake"), failures=[Reply.hang(3.0)])
    start = time.monotonic()
    with client(config, sleeps=[]) as http:
        assert http.get(loopback.url_for("/a")).text == "awake"
    elapsed = time.monotonic() - start
    assert 0.2 <= elapsed < 2.0  # gave up on the hang at the timeout, did not wait it out
    assert len(loopback.requests) == 2


# --- final failures --------------------------------------------------------------------

def test_all_attempts_failing_raise_one_line_fetch_error(loopback: LoopbackServer):
    loopback.route("/api/daily_papers", Reply.error(503))
    with client(sleeps=[]) as http, pytest.raises(FetchError) as info:
        http.get(loopback.url_for("/api/daily_papers"), params={"date": "2024-10-25"})
    assert str(info.value) == (f"GET {loopback.url}/api/daily_papers?date=2024-10-25 "
                               "failed after 5 attempts: HTTP 503: scripted 503")
    assert len(loopback.requests) == FAST.retries


def test_timeouts_every_time_name_the_timeout(loopback: LoopbackServer):
    config = replace(FAST, timeout_s=0.1, retries=2)
    loopback.route("/slow", Reply.hang(3.0))
    with client(config, sleeps=[]) as http, pytest.raises(FetchError) as info:
        http.get(loopback.url_for("/slow"))
    message = str(info.value)
    assert message.startswith(
        f"GET {loopback.url}/slow failed after 2 attempts: timed out after 0.1 s")
    assert "\n" not in message


def test_broken_transfers_every_time_say_so(loopback: LoopbackServer):
    loopback.route("/a", Reply.disconnect())
    with client(replace(FAST, retries=3), sleeps=[]) as http, pytest.raises(FetchError) as info:
        http.get(loopback.url_for("/a"))
    assert "failed after 3 attempts: connection broken" in str(info.value)
    assert len(loopback.requests) == 3


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with client(replace(FAST, retries=2), sleeps=[]) as http, pytest.raises(FetchError) as info:
        http.get(f"http://127.0.0.1:{port}/x")
    expected = f"GET http://127.0.0.1:{port}/x failed after 2 attempts: cannot connect"
    assert expected in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_client_errors_other_than_429_are_returned_not_retried(loopback: LoopbackServer, status: int):
    loopback.route("/a", Reply.error(status, body="arXiv says no"))
    sleeps: list[float] = []
    with client(sleeps=sleeps) as http:
        response = http.get(loopback.url_for("/a"))
    assert response.status_code == status and response.text == "arXiv says no"
    assert len(loopback.requests) == 1 and sleeps == []


def test_secrets_never_reach_the_error_or_the_log(loopback: LoopbackServer, caplog):
    loopback.route("/a", Reply.error(503))
    caplog.set_level(logging.WARNING, logger="store.sources.http")
    with client(replace(FAST, retries=2), sleeps=[]) as http, pytest.raises(FetchError) as info:
        http.get(loopback.url_for("/a"), params={"q": "x", "api_key": "sk-SECRET"})
    assert "sk-SECRET" not in str(info.value) and "api_key=***" in str(info.value)
    retries = [r.getMessage() for r in caplog.records]
    assert len(retries) == 1 and "attempt 1 of 2 failed (HTTP 503: scripted 503)" in retries[0]
    assert "sk-SECRET" not in retries[0]


def test_safe_url_masks_userinfo_and_secret_params():
    masked = safe_url("https://bob:pw@h.example/p?date=2024-10-25&access_token=t0k&apiKey=k")
    assert masked == "https://h.example/p?date=2024-10-25&access_token=***&apiKey=***"


def test_parse_retry_after_forms():
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(formatdate(1_000_060, usegmt=True), now=1_000_000) == 60.0
    assert parse_retry_after(formatdate(1_000_000, usegmt=True), now=1_000_060) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_zero_retries_is_refused():
    with pytest.raises(ValueError, match="retries"):
        PoliteClient(replace(FAST, retries=0))


# --- politeness ------------------------------------------------------------------------

def test_user_agent_is_sent(loopback: LoopbackServer):
    loopback.route("/a", Reply.text("ok"))
    with client() as http:
        http.get(loopback.url_for("/a"))
    assert loopback.requests[0].user_agent == "paperbrief-test/1.0 (+tests)"


def test_rate_limit_spaces_requests_with_injected_clock(loopback: LoopbackServer):
    loopback.route("/a", Reply.text("ok"))
    clock = FakeClock(1000.0)
    config = replace(FAST, min_interval_s=0.05)
    with PoliteClient(config, sleep=clock.sleep, clock=clock) as http:
        for _ in range(4):
            http.get(loopback.url_for("/a"))
    assert clock.sleeps == pytest.approx([0.05, 0.05, 0.05])


def test_rate_limit_spaces_real_requests(loopback: LoopbackServer):
    loopback.route("/a", Reply.text("ok"))
    start = time.monotonic()
    with client(replace(FAST, min_interval_s=0.1)) as http:
        for _ in range(4):
            http.get(loopback.url_for("/a"))
    assert time.monotonic() - start >= 0.3
    arrivals = [r.received_at for r in loopback.requests]
    # server-side arrival times carry scheduling jitter on a loaded machine: allow half the interval
    assert min(b - a for a, b in pairwise(arrivals)) >= 0.05


def test_rate_limit_holds_across_threads(loopback: LoopbackServer):
    loopback.route("/a", Reply.text("ok"))
    with client(replace(FAST, min_interval_s=0.1)) as http:
        threads = [threading.Thread(target=lambda: [http.get(loopback.url_for("/a")) for _ in "ab"])
                   for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    arrivals = sorted(r.received_at for r in loopback.requests)
    assert len(arrivals) == 6
    assert arrivals[-1] - arrivals[0] >= 0.45  # 5 gaps of 0.1 s, less jitter
    assert min(b - a for a, b in pairwise(arrivals)) >= 0.05


def test_rate_limit_applies_to_retries_too(loopback: LoopbackServer):
    loopback.route("/a", Reply.text("ok"), failures=[Reply.error(503)])
    clock = FakeClock(1000.0)
    config = replace(FAST, min_interval_s=0.05, backoff_s=0.001)
    with PoliteClient(config, sleep=clock.sleep, clock=clock, rng=MaxRandom()) as http:
        http.get(loopback.url_for("/a"))
    assert clock.sleeps == pytest.approx([0.001, 0.049])  # backoff, then the rest of the slot


def test_rate_limiter_reserves_slots_without_bursts():
    clock = FakeClock(1000.0)
    limiter = RateLimiter(3.0, clock=clock, sleep=clock.sleep)
    assert [limiter.wait() for _ in range(3)] == [0.0, 3.0, 3.0]
    clock.now += 10  # a long pause earns no burst beyond the next slot
    assert limiter.wait() == 0.0 and limiter.wait() == 3.0


def test_open_client_leaves_a_borrowed_client_open(loopback: LoopbackServer):
    loopback.route("/a", Reply.text("ok"))
    with client() as http:
        with open_client(FAST, http) as same:
            assert same is http
        assert http.get(loopback.url_for("/a")).text == "ok"  # still usable: not closed


# --- the loopback server itself --------------------------------------------------------

def test_loopback_routes_by_query_and_logs_requests(loopback: LoopbackServer):
    loopback.route("/q", Reply.text("any"))
    loopback.route("/q", Reply.text("ten"), query={"start": "10"})
    with client() as http:
        texts = [http.get(loopback.url_for("/q"), params={"start": s}).text for s in (0, 10)]
        missing = http.get(loopback.url_for("/nowhere"))
    assert texts == ["any", "ten"]
    assert missing.status_code == 404 and "no route" in missing.json()["error"]
    assert [r.params.get("start") for r in loopback.requests] == ["0", "10", None]


def test_loopback_streams_server_sent_events(loopback: LoopbackServer):
    loopback.route("/v1/chat/completions", Reply.sse([{"delta": "Hel"}, {"delta": "lo"}]),
                 method="POST")
    with client() as http:
        response = http.request("POST", loopback.url_for("/v1/chat/completions"),
                                json={"stream": True})
    assert response.text.count("data: ") == 3 and response.text.endswith("data: [DONE]\n\n")
    assert loopback.requests[0].json() == {"stream": True}
