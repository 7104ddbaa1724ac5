"""How the OpenAI-compatible provider reads a failure: retry it or not, and what to tell people.

Kept apart from :mod:`agent.llm.openai_compat` so the provider's request logic stays short;
both ``openai``'s own errors and the raw ``httpx`` ones that surface while a stream is read
(timeouts, a dropped connection, bytes that are not UTF-8 or not JSON) end up here.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import openai

from agent.llm.base import scrub_secrets
from agent.llm.retry import Failure, parse_retry_after
from store.scrub import server_message

#: Statuses worth another try: timeouts, conflicts, rate limits and server errors.
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})

#: The summary of any timeout; the provider replaces it with which limit ran out.
TIMEOUT = "timed out"


def classify_exception(exc: BaseException, secrets: Sequence[str]) -> Failure | None:
    """Map an ``openai`` or ``httpx`` exception to a retry decision and a key-free summary.

    ``None`` means "not a failure of the server": a bug, which propagates unchanged.
    """
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return Failure(TIMEOUT, retryable=True)
    if isinstance(exc, UnicodeDecodeError):
        return Failure(
            "the server sent a stream that is not UTF-8 text; is OPENAI_BASE_URL an "
            "OpenAI-compatible /v1 endpoint?",
            retryable=False,
        )
    if isinstance(exc, ValueError):  # json.JSONDecodeError and friends from the SSE decoder
        return Failure(
            f"the server sent a malformed stream ({short(str(exc), 80)}); is OPENAI_BASE_URL "
            "an OpenAI-compatible /v1 endpoint?",
            retryable=False,
        )
    if isinstance(exc, httpx.TransportError):
        return Failure(
            scrub_secrets(f"connection error ({short(str(exc) or type(exc).__name__)})",
                          secrets),
            retryable=True,
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        reason = short(str(cause)) if cause is not None and str(cause) else "connection failed"
        return Failure(
            scrub_secrets(f"connection error ({reason})", secrets), retryable=True
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code = exc.code or ""
        retryable = (
            status in RETRYABLE_STATUS or status >= 500
        ) and code != "insufficient_quota"
        summary = f"HTTP {status}"
        message = error_message(exc)  # the server's own reason, retryable or not ("model overloaded")
        if message:
            summary += f": {short(message)}"
        return Failure(
            scrub_secrets(summary, secrets),
            retryable=retryable,
            retry_after_s=retry_after(exc),
        )
    if isinstance(exc, openai.OpenAIError):
        return Failure(scrub_secrets(short(str(exc)), secrets), retryable=False)
    return None


def error_message(exc: openai.APIError) -> str:
    """The server's own reason (JSON ``error.message``, ``detail``, or a short text body)."""
    return server_message(exc.body) or server_message(exc.message or "")


def retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
