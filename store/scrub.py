"""What a server said, made fit for one error line: its own short message, no secrets.

"HTTP 500" alone tells a user nothing; "HTTP 500: model overloaded" tells them to
wait. Servers put the reason in different places (OpenAI's ``{"error": {"message"}}``,
FastAPI's ``{"detail"}``, a plain-text body), and an echoed request can carry an API
key, so the message is extracted, shortened to one line and scrubbed here, for the
fetchers, the embedding client and (through ``agent.llm.base``) the LLM clients.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from store.text import display_text

MAX_MESSAGE_CHARS = 200

_SECRET_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE),
)


def scrub_secrets(text: str, secrets: Sequence[str] = ()) -> str:
    """Replace API keys in ``text`` with ``***``.

    Removes every exact occurrence of a configured secret (keys need not look like
    OpenAI's) and anything shaped like ``sk-...`` or ``Bearer <token>``, so neither
    error lines nor the call log can leak a key the user pasted into a prompt.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _SECRET_PATTERNS[0].sub("sk-***", text)
    return _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)} ***", text)


def short_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` on one line, without control characters, cut to ``limit`` characters."""
    line = " ".join(display_text(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _from_json(data: object) -> str:
    if isinstance(data, str):
        return data
    if not isinstance(data, dict):
        return ""
    for key in ("error", "detail", "message", "msg", "title"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict):
            inner = _from_json(value)
            if inner:
                return inner
        if isinstance(value, list) and value and isinstance(value[0], dict | str):
            inner = _from_json(value[0])
            if inner:
                return inner
    return ""


def server_message(body: bytes | str | object, secrets: Sequence[str] = ()) -> str:
    """The server's own short reason from an error response body ("" when it gave none).

    JSON bodies are searched for the usual fields; other text counts when it is short
    and not an HTML page (a proxy's error page says nothing useful in one line).
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        stripped = body.strip()
        try:
            message = _from_json(json.loads(stripped)) if stripped[:1] in "{[\"" and stripped else ""
        except ValueError:
            message = ""
        if not message and stripped and not stripped.lstrip().startswith("<"):
            message = stripped.splitlines()[0]
    else:
        message = _from_json(body)
    return short_line(scrub_secrets(message, secrets)) if message else ""
