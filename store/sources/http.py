"""Polite, resilient HTTP for the live fetchers.

Hugging Face and arXiv are shared public services: arXiv asks for no more than
one request every three seconds, both answer 429 or 503 under load, and a long
crawl meets the odd dropped connection or a body cut off halfway. Every fetcher
goes through one ``PoliteClient`` so they all get the same manners (a user
agent, a rate limit), the same retry policy (exponential backoff with full
jitter, ``Retry-After`` honoured) and the same one-line ``FetchError`` when a
source is really down.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from store.config import HttpConfig
from store.deadline import Deadline, Watchdog
from store.errors import FetchError
from store.scrub import server_message

log = logging.getLogger(__name__)

#: Statuses that mean "try again later"; every other 4xx is the caller's to read.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: A server may ask for any Retry-After; past this we would rather wait less and try again.
MAX_RETRY_AFTER_S = 300.0
#: Query parameter names containing one of these are masked in messages and logs.
_SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "auth", "sig", "credential")

#: Below this much time left another attempt cannot get anywhere, so we stop instead.
_MIN_ATTEMPT_S = 0.05

Sleep = Callable[[float], None]
Clock = Callable[[], float]


class _RetryableStatus(Exception):
    """A response whose status asks us to come back later; carries it to the wait strategy."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


# Transient failures: the request may well succeed if sent again. ``RemoteProtocolError``
# covers a peer that closed before the full body (Content-Length or chunked) arrived.
_RETRYABLE = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    _RetryableStatus,
)


def safe_url(url: str | httpx.URL) -> str:
    """The URL as it may appear in messages and logs: no user info, secret-looking params masked.

    The APIs we call today take no keys, but OpenAI-compatible endpoints and
    proxies do, and a habit is cheaper than an incident.
    """
    parsed = httpx.URL(str(url))
    if parsed.userinfo:
        parsed = parsed.copy_with(userinfo=b"")
    if not parsed.query:
        return str(parsed)
    parts = []
    for part in parsed.query.decode("ascii", "replace").split("&"):
        name, sep, _value = part.partition("=")
        if sep and any(word in name.lower() for word in _SECRET_WORDS):
            part = f"{name}=***"
        parts.append(part)
    return str(parsed.copy_with(query="&".join(parts).encode("ascii")))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date), or None.

    A date in the past means "now" (0 s); a value we cannot read is ignored so the
    computed backoff applies instead of crashing on a server's typo.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is not a delay
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt-1))].

    Jitter spreads out clients that failed together so they do not retry in lockstep.
    """
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt - 1, 60))
    return rng.uniform(0.0, max(0.0, ceiling))


def describe_error(exc: BaseException, timeout_s: float | None = None) -> str:
    """One line saying what went wrong with a request, for people rather than debuggers."""
    if isinstance(exc, _RetryableStatus):
        reason = server_message(exc.response.content)
        text = f"HTTP {exc.response.status_code}" + (f": {reason}" if reason else "")
    elif isinstance(exc, httpx.TimeoutException):
        after = f" after {timeout_s:g} s" if timeout_s is not None else ""
        text = f"timed out{after} ({type(exc).__name__})"
    elif isinstance(exc, httpx.RemoteProtocolError):
        text = f"connection broken ({exc or type(exc).__name__})"
    elif isinstance(exc, httpx.ConnectError):
        text = f"cannot connect ({exc or type(exc).__name__})"
    elif isinstance(exc, httpx.NetworkError):
        text = f"network error ({exc or type(exc).__name__})"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


class RateLimiter:
    """Keeps request starts at least ``min_interval_s`` apart, across threads.

    Each caller reserves the next free slot under the lock and sleeps outside it,
    so concurrent callers queue up one interval apart instead of all waking at once.
    """

    def __init__(self, min_interval_s: float, *, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        self.min_interval_s = max(0.0, min_interval_s)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_start: float | None = None

    def wait(self) -> float:
        """Block until this caller may start a request; return how long it waited."""
        if self.min_interval_s <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            start = now if self._next_start is None else max(now, self._next_start)
            self._next_start = start + self.min_interval_s
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay


class PoliteClient:
    """An ``httpx.Client`` with a user agent, a rate limit and retries; use it as a context manager.

    ``request`` returns the response for 2xx, 3xx and every 4xx but 429 (the arXiv
    error feed arrives as a 400 and its body says what was wrong), and raises
    ``FetchError`` once ``config.retries`` attempts have all met a transient failure
    or on a failure no retry can fix. ``sleep``, ``clock`` and ``rng`` are injectable
    so tests can record the waits instead of sleeping through them.
    """

    def __init__(
        self,
        config: HttpConfig | None = None,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
        max_retry_after_s: float = MAX_RETRY_AFTER_S,
    ) -> None:
        self.config = config or HttpConfig()
        if self.config.retries < 1:
            raise ValueError(f"retries is the total number of attempts and must be >= 1, "
                             f"not {self.config.retries}")
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._max_retry_after_s = max_retry_after_s
        self.limiter = RateLimiter(self.config.min_interval_s, clock=clock, sleep=sleep)
        self._http = httpx.Client(
            headers={"User-Agent": self.config.user_agent},
            timeout=httpx.Timeout(self.config.timeout_s),
            follow_redirects=True,
            transport=transport,
        )

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def get(self, url: str, *, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None) -> httpx.Response:
        """``GET url`` politely; see ``request``."""
        return self.request("GET", url, params=params, headers=headers)

    def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, json: Any = None,
                content: bytes | None = None) -> httpx.Response:
        """Send one request with rate limiting and retries; the body is fully read on return."""
        request = self._http.build_request(method, url, params=params, headers=headers,
                                           json=json, content=content)
        where = f"{method} {safe_url(request.url)}"
        # one budget for the whole request: attempts, Retry-After waits and backoff
        deadline = Deadline(self.config.deadline_s)
        by_count = stop_after_attempt(self.config.retries)
        retrying = Retrying(
            stop=lambda state: by_count(state) or deadline.remaining() <= _MIN_ATTEMPT_S,
            wait=lambda state: min(self._wait(state), max(0.0, deadline.remaining() - _MIN_ATTEMPT_S)),
            retry=retry_if_exception_type(_RETRYABLE),
            sleep=self._sleep,
            before_sleep=lambda state: self._log_retry(where, state),
            reraise=True,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    response = self._send_once(request, deadline)
        except (httpx.HTTPError, _RetryableStatus) as exc:
            what = describe_error(exc, self.config.timeout_s)
            plural = "attempt" if attempts == 1 else "attempts"
            if deadline.remaining() <= _MIN_ATTEMPT_S:
                what = (f"no answer within the {self.config.deadline_s:g} s deadline "
                        f"(PAPERBRIEF_HTTP_DEADLINE); last: {what}")
            raise FetchError(f"{where} failed after {attempts} {plural}: {what}") from exc
        return response

    def _send_once(self, request: httpx.Request, deadline: Deadline) -> httpx.Response:
        """One attempt: wait for our slot, send, and read the whole body.

        The body is read here, inside the retried call, so a transfer broken
        midway is retried like any other transient failure instead of surfacing
        later when the caller touches ``response.content``. Each read waits at most
        ``timeout_s``, and a watchdog ends a body still trickling in at the deadline.
        """
        self.limiter.wait()
        request.extensions["timeout"] = httpx.Timeout(deadline.cap(self.config.timeout_s)).as_dict()
        response = self._http.send(request, stream=True)
        watchdog = Watchdog(response)
        watchdog.arm(deadline.remaining())
        try:
            response.read()
        except httpx.HTTPError:
            if watchdog.fired:
                raise httpx.ReadTimeout("deadline passed", request=request) from None
            raise
        finally:
            watchdog.cancel()
            response.close()
        if response.status_code in RETRY_STATUSES:
            raise _RetryableStatus(response)
        return response

    def _wait(self, state: RetryCallState) -> float:
        """How long to wait before the next attempt: the server's Retry-After, else backoff."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus):
            after = parse_retry_after(exc.response.headers.get("Retry-After"))
            if after is not None:
                return min(after, self._max_retry_after_s)
        return backoff_delay(state.attempt_number, self.config.backoff_s,
                             self.config.max_backoff_s, self._rng)

    def _log_retry(self, where: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.log(self.config.retry_log_level, "%s: attempt %d of %d failed (%s); retrying in %.2f s", where,
                state.attempt_number, self.config.retries,
                describe_error(exc, self.config.timeout_s) if exc else "unknown", delay)


@contextmanager
def open_client(config: HttpConfig, client: PoliteClient | None = None) -> Iterator[PoliteClient]:
    """Use the caller's client as is, or open one for the duration and close it after.

    Fetchers take an optional client so a caller crawling several sources can share
    one rate limiter and one connection pool, while a one-off call stays one line.
    """
    if client is not None:
        yield client
        return
    with PoliteClient(config) as owned:
        yield owned

