"""Shared pieces of the TUI tests: a small index, a scripted model server, an app, waiting.

The app under test talks to the loopback OpenAI-compatible server (``tests/openai_server``),
so answers, their timing (slow streams for Esc) and failures (HTTP 500) are scripted.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from agent.conversations import ConversationStore
from agent.settings import load_settings
from agent.tui.app import PaperbriefApp
from tests.support.openai_server import OpenAIServer, Reply

SECRET = "sk-test-SECRET123"
ANSWER = "A small draft model proposes tokens that the large model verifies in one pass [1]."


def table_reply(body: dict[str, Any]) -> Reply | None:
    """A valid comparison-table JSON reply when the request is the ``compare_table`` prompt, else None."""
    messages = body.get("messages", [])
    user = messages[-1]["content"] if messages else ""
    count = user.count("<paper n=")
    if not count:
        return None
    cells = {"problem": "The problem its abstract states.", "approach": "The method its abstract proposes."}
    entries = [
        {"paper": n, **cells, "data": "not stated", "results": "not stated", "limitations": "not stated"}
        for n in range(1, count + 1)
    ]
    return Reply(text=json.dumps({"papers": entries, "summary": "They address different problems."}))


def tui_replies(answer: str = ANSWER) -> Callable[[dict[str, Any]], Reply]:
    """The scripted model of the TUI tests: a valid table for ``compare``, else ``answer``."""

    def respond(body: dict[str, Any]) -> Reply:
        return table_reply(body) or Reply(text=answer)

    return respond


def make_app(data_dir: Path, server: OpenAIServer, tmp_path: Path, **settings: Any) -> PaperbriefApp:
    """The app on ``data_dir``, answering with the loopback server, timings hidden."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "openai_base_url": server.url,
        "openai_api_key": SECRET,
        "model": "gpt-test",
    }
    values.update(settings)
    return PaperbriefApp(
        load_settings(**values),
        show_latency=False,
        conversations=ConversationStore(tmp_path / "conversations.sqlite3"),
    )


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    """Let the app run until ``predicate()`` holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)


def notifications(app: PaperbriefApp) -> list[Any]:
    return list(app._notifications)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run an async scenario (the suite has no asyncio plugin; Textual's pilot needs a loop)."""
    asyncio.run(scenario())  # type: ignore[arg-type]
