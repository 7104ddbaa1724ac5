"""The SQLite call log: rows, costs, errors, migrations, and no API key ever on disk."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from agent.llm import CallLog, ChatMessage, LLMError, LoggedLLM, OpenAICompatLLM, TextDelta, logged_stream
from agent.llm.calllog import MIGRATIONS, migrate
from agent.llm.retry import RetryPolicy
from agent.prompts import PromptRef
from agent.settings import load_settings
from tests.support.openai_server import OpenAIServer, Reply

KEY = "sk-test-SECRET123"
PROMPT = PromptRef.of("answer", "3", "Answer from the passages: {passages}")


def llm_for(server: OpenAIServer, model: str = "gpt-4o-mini") -> OpenAICompatLLM:
    policy = RetryPolicy(attempts=2, sleep=lambda s: None)
    return OpenAICompatLLM(model, base_url=server.url, api_key=KEY, policy=policy, timeout_s=5)


def log_at(tmp_path: Path, *secrets: str) -> CallLog:
    return CallLog(tmp_path / "logs" / "calls.sqlite3", secrets=secrets or (KEY,))


def on_disk(log: CallLog) -> bytes:
    """Every byte SQLite left in the directory (db, journals, WAL)."""
    return b"".join(p.read_bytes() for p in log.path.parent.iterdir() if p.is_file())


def test_a_call_is_logged_with_prompt_usage_latency_and_cost(tmp_path: Path) -> None:
    log = log_at(tmp_path)
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "What is RAG?")]
    reply = Reply(text="Grounded generation.", prompt_tokens=1000, completion_tokens=500)
    with OpenAIServer(reply) as server:
        events = list(
            logged_stream(llm_for(server), messages, log=log, prompt=PROMPT, max_tokens=64)
        )
    assert [e for e in events if isinstance(e, TextDelta)]  # events pass through
    (row,) = log.rows()
    assert (row["prompt_name"], row["prompt_version"], row["prompt_hash"]) == (
        "answer",
        "3",
        PROMPT.hash,
    )
    assert len(PROMPT.hash) == 16
    assert row["provider"] == "openai" and row["model"] == "gpt-4o-mini"
    assert row["messages"] == [m.to_dict() for m in messages]
    assert row["output"] == "Grounded generation."
    assert (row["prompt_tokens"], row["completion_tokens"]) == (1000, 500)
    assert row["cost_usd"] == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)
    assert row["latency_ms"] > 0 and row["error"] is None and row["finish_reason"] == "stop"


def test_a_failed_call_is_logged_and_reraised(tmp_path: Path) -> None:
    log = log_at(tmp_path)
    with OpenAIServer(default=Reply(status=503)) as server, pytest.raises(LLMError):
        list(logged_stream(llm_for(server), [ChatMessage("user", "q")], log=log, max_tokens=8))
    (row,) = log.rows()
    assert "HTTP 503" in row["error"] and "after 2 attempts" in row["error"]
    assert row["prompt_tokens"] is None and row["cost_usd"] is None and row["output"] == ""


def test_a_caller_that_stops_reading_is_logged_as_cancelled(tmp_path: Path) -> None:
    log = log_at(tmp_path)
    with OpenAIServer(Reply(text="a b c d e f g")) as server:
        stream = logged_stream(llm_for(server), [ChatMessage("user", "q")], log=log, max_tokens=8)
        first = next(stream)
        stream.close()
    (row,) = log.rows()
    assert isinstance(first, TextDelta)
    assert row["error"].startswith("cancelled") and row["output"] == first.text


def test_api_keys_never_reach_the_file(tmp_path: Path) -> None:
    azure_key = "0123456789abcdef0123456789abcdef"
    log = log_at(tmp_path, KEY, azure_key)
    leaky = [
        ChatMessage("system", f"debug: OPENAI_API_KEY={KEY} azure={azure_key}"),
        ChatMessage(
            "user",
            "curl -H 'Authorization: Bearer eyJhbGciOi.payload.sig' and sk-proj-abcdef123456",
        ),
    ]
    error = f"Incorrect API key provided: {KEY}"
    with OpenAIServer(Reply(text=f"echo {KEY}"), Reply(status=401, error=error)) as server:
        llm = llm_for(server)
        list(logged_stream(llm, leaky, log=log, prompt=PROMPT, max_tokens=8))
        with pytest.raises(LLMError):
            list(logged_stream(llm, leaky, log=log, prompt=PROMPT, max_tokens=8))
    raw = on_disk(log)
    assert len(log.rows()) == 2
    for secret in (b"SECRET123", azure_key.encode(), b"eyJhbGciOi", b"sk-proj-abcdef"):
        assert secret not in raw
    assert b"sk-***" in raw and b"Bearer ***" in raw  # scrubbed, not dropped


def test_migrations_are_recorded_and_run_once(tmp_path: Path) -> None:
    log = log_at(tmp_path)
    log.record(provider="local", model="m", messages=[], output="x")
    with sqlite3.connect(log.path) as db:
        names = [r[0] for r in db.execute("SELECT name FROM migrations ORDER BY rowid")]
        assert names == [name for name, _ in MIGRATIONS]
        assert migrate(db) == []


def test_an_old_log_file_is_upgraded_in_place(tmp_path: Path) -> None:
    """A file written before ``finish_reason`` existed keeps its rows and gains the column."""
    path = tmp_path / "logs" / "calls.sqlite3"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        name, first = MIGRATIONS[0]
        first(db)
        db.execute("INSERT INTO migrations VALUES (?, 'then')", (name,))
        db.execute(
            "INSERT INTO calls (ts, provider, model, messages)"
            " VALUES ('then', 'openai', 'old', '[]')"
        )
    log = CallLog(path)
    log.record(provider="local", model="new", messages=[], output="", finish_reason="length")
    rows = log.rows()
    assert [r["model"] for r in rows] == ["new", "old"]
    assert [r["finish_reason"] for r in rows] == ["length", None]


def test_an_unwritable_log_never_costs_the_answer(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the log dir should be")
    log = CallLog(blocker / "calls.sqlite3")
    with OpenAIServer(Reply(text="still answered")) as server, caplog.at_level(logging.WARNING):
        text, _ = LoggedLLM(llm_for(server), log).complete([ChatMessage("user", "q")], max_tokens=8)
    assert text == "still answered"
    assert "could not write the call log" in caplog.text


def test_logged_llm_is_a_drop_in_that_logs_each_call(tmp_path: Path) -> None:
    log = log_at(tmp_path)
    with OpenAIServer(default=Reply(text="ok")) as server:
        inner = llm_for(server)
        llm = LoggedLLM(inner, log)
        assert (llm.name, llm.provider, llm.context_window) == (
            inner.name,
            inner.provider,
            inner.context_window,
        )
        llm.complete([ChatMessage("user", "one")], max_tokens=8, prompt=PROMPT)
        list(llm.stream([ChatMessage("user", "two")], max_tokens=8))
    rows = log.rows()
    assert [r["messages"][0]["content"] for r in rows] == ["two", "one"]
    assert [r["prompt_name"] for r in rows] == [None, "answer"]


def test_log_location_and_secrets_come_from_settings() -> None:
    settings = load_settings(openai_api_key=KEY)
    log = CallLog.for_settings(settings)
    assert log.path == settings.data_dir / "logs" / "calls.sqlite3"
    assert KEY in log.secrets
