"""The configured OpenAI-compatible server: does it answer, and does it offer the model?"""

from __future__ import annotations

import re

import httpx

from agent.doctor.result import Result, fail, ok
from agent.settings import Settings

OPENAI_URL = "https://api.openai.com/v1"


def check_endpoint(settings: Settings, timeout_s: float = 3.0) -> Result:
    name = "endpoint"
    key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else None
    if not key and not settings.llm.base_url:
        return ok(name, "none configured: the local model answers (set OPENAI_BASE_URL for a server)")
    base = (settings.llm.base_url or OPENAI_URL).rstrip("/")
    shown = re.sub(r"//[^/@]*@", "//", base)  # never print user:password from the URL
    from agent.llm.openai_compat import DEFAULT_MODEL  # openai costs ~1 s of start-up: only when checked

    model = settings.llm.model or DEFAULT_MODEL
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        resp = httpx.get(f"{base}/models", headers=headers, timeout=timeout_s, follow_redirects=True)
    except httpx.HTTPError as exc:
        return fail(name, f"OPENAI_BASE_URL {shown} is unreachable ({type(exc).__name__})",
                    "start the server (e.g. ollama serve) or fix OPENAI_BASE_URL in .env")
    if resp.status_code in (401, 403):
        return fail(name, f"{shown} rejected the key (HTTP {resp.status_code})", "fix OPENAI_API_KEY in .env")
    if resp.status_code == 404:
        return ok(name, f"{shown} answers (no /models list to check {model} against)")
    if resp.status_code >= 400:
        return fail(name, f"{shown}/models answered HTTP {resp.status_code}", "check the server's logs")
    try:
        ids = [str(m["id"]) for m in resp.json()["data"]]
    except (ValueError, KeyError, TypeError):
        return ok(name, f"{shown} answers (its /models list is not OpenAI-shaped)")
    if model in ids or f"{model}:latest" in ids:
        return ok(name, f"{shown} offers {model}")
    offered = ", ".join(sorted(ids)[:6]) or "nothing"
    return fail(name, f"{shown} does not offer {model} (it offers {offered})",
                "set PAPERBRIEF_MODEL to one it offers, or pull the model on that server")
