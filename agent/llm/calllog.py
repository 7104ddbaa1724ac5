"""Every model call, appended to ``<data_dir>/logs/calls.sqlite3``.

The log answers "what exactly did we send, what came back, how long did it take
and what did it cost" for any answer, after the fact, with plain ``sqlite3``.
Prompts are identified by name, version and content hash so a change in output
can be traced to a change in the prompt template.

Schema changes are append-only migrations recorded in a ``migrations`` table
(the simonw/llm approach): a migration, once released, is never edited; new
columns come from new migrations, so any old log file upgrades in place.

API keys never reach the file: every string is scrubbed of the configured keys
and of anything shaped like ``sk-...`` or ``Bearer ...`` before it is written.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.llm.base import (
    LLM,
    LLMError,
    MessageLike,
    StreamEvent,
    TextDelta,
    Usage,
    WrappedLLM,
    as_messages,
    scrub_secrets,
)
from agent.llm.pricing import PriceTable, cost_usd
from store.paths import Paths
from store.private import private_db

if TYPE_CHECKING:
    from agent.prompts import PromptRef

_log = logging.getLogger(__name__)


# --- migrations -------------------------------------------------------------------

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration. Append only: never edit or reorder one."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_calls(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            prompt_name TEXT,
            prompt_version TEXT,
            prompt_hash TEXT,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            messages TEXT NOT NULL,
            output TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            latency_ms REAL,
            cost_usd REAL,
            error TEXT
        )
        """
    )


@migration
def m002_finish_reason_and_index(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE calls ADD COLUMN finish_reason TEXT")
    db.execute("CREATE INDEX calls_ts ON calls (ts)")


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply pending migrations in order, in one transaction; returns the names applied."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in db.execute("SELECT name FROM migrations")}
    applied: list[str] = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        fn(db)
        db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, _now()))
        applied.append(name)
    return applied


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# --- the log ----------------------------------------------------------------------


class CallLog:
    """Append-only SQLite log of model calls.

    A connection per write keeps it safe across threads and processes (SQLite
    serialises writers; ``timeout`` waits out a concurrent one) and leaves no file
    handle open between calls.
    """

    def __init__(self, path: Path, *, secrets: Sequence[str] = (), timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.secrets = [s for s in secrets if s]
        self.timeout_s = timeout_s
        self._migrated = False
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Any) -> CallLog:
        """The log under ``settings.data_dir``, scrubbing every key the settings hold."""
        secrets = [
            key.get_secret_value()
            for key in (settings.llm.api_key, settings.embedding.api_key)
            if key is not None
        ]
        return cls(Paths(settings.data_dir).call_log, secrets=secrets)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        private_db(self.path)
        db = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        try:
            if not self._migrated:
                with self._lock:
                    db.execute("BEGIN IMMEDIATE")
                    try:
                        migrate(db)
                        db.execute("COMMIT")
                    except BaseException:
                        db.execute("ROLLBACK")
                        raise
                    self._migrated = True
            yield db
        finally:
            db.close()

    def scrub(self, text: str) -> str:
        return scrub_secrets(text, self.secrets)

    def record(
        self,
        *,
        provider: str,
        model: str,
        messages: Sequence[MessageLike],
        output: str | None,
        usage: Usage | None = None,
        latency_ms: float | None = None,
        cost: float | None = None,
        error: str | None = None,
        finish_reason: str | None = None,
        prompt: PromptRef | None = None,
    ) -> int:
        """Append one call; returns its row id. Every text field is scrubbed of keys first."""
        wire = [{"role": m.role, "content": self.scrub(m.content)} for m in as_messages(messages)]
        row = {
            "ts": _now(),
            "prompt_name": self.scrub(prompt.name) if prompt else None,
            "prompt_version": self.scrub(prompt.version) if prompt else None,
            "prompt_hash": prompt.hash if prompt else None,
            "provider": provider,
            "model": self.scrub(model),
            "messages": json.dumps(wire, ensure_ascii=False),
            "output": self.scrub(output) if output is not None else None,
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
            "latency_ms": latency_ms,
            "cost_usd": cost,
            "error": self.scrub(error) if error is not None else None,
            "finish_reason": finish_reason,
        }
        columns = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        with self._connect() as db:
            cur = db.execute(f"INSERT INTO calls ({columns}) VALUES ({marks})", row)
            return int(cur.lastrowid or 0)

    def rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Logged calls, newest first, as dicts (``messages`` decoded)."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            sql = "SELECT * FROM calls ORDER BY id DESC"
            params: tuple[int, ...] = ()
            if limit is not None:
                sql += " LIMIT ?"
                params = (limit,)
            out = []
            for r in db.execute(sql, params):
                d = dict(r)
                d["messages"] = json.loads(d["messages"])
                out.append(d)
            return out


# --- logging wrapper --------------------------------------------------------------


def logged_stream(
    llm: LLM,
    messages: Sequence[MessageLike],
    *,
    log: CallLog,
    prompt: PromptRef | None = None,
    max_tokens: int,
    temperature: float = 0.0,
    stop: Sequence[str] | None = None,
    prices: PriceTable | None = None,
) -> Iterator[StreamEvent]:
    """``llm.stream(...)``, re-yielding every event, with the call appended to ``log`` at the end.

    Failures are logged and re-raised; a caller that stops reading early is logged
    as cancelled. A log that cannot be written is reported through ``logging``
    but never costs the user their answer.
    """
    msgs = as_messages(messages)
    started = time.perf_counter()
    parts: list[str] = []
    usage: Usage | None = None
    finish: str | None = None
    error: str | None = None
    try:
        for event in llm.stream(msgs, max_tokens=max_tokens, temperature=temperature, stop=stop):
            if isinstance(event, TextDelta):
                parts.append(event.text)
            else:
                usage, finish = event.usage, event.finish_reason
            yield event
    except LLMError as exc:
        error = str(exc)
        raise
    except GeneratorExit:
        error = "cancelled: the caller stopped reading"
        raise
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        latency_ms = (time.perf_counter() - started) * 1000.0
        cost = cost_usd(llm.name, usage, provider=llm.provider, prices=prices) if usage else None
        try:
            log.record(
                provider=llm.provider,
                model=llm.name,
                messages=msgs,
                output="".join(parts),
                usage=usage,
                latency_ms=latency_ms,
                cost=cost,
                error=error,
                finish_reason=finish,
                prompt=prompt,
            )
        except (sqlite3.Error, OSError) as exc:
            _log.warning("could not write the call log %s: %s", log.path, exc)


class LoggedLLM(WrappedLLM):
    """An :class:`LLM` whose every call is appended to a :class:`CallLog`.

    Drop-in for the wrapped model; ``stream`` also takes the ``prompt`` that built
    the messages so the log can say which template (and version) was used.
    """

    def __init__(self, inner: LLM, log: CallLog, *, prices: PriceTable | None = None) -> None:
        super().__init__(inner)
        self.log = log
        self.prices = prices

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        prompt: PromptRef | None = None,
    ) -> Iterator[StreamEvent]:
        return logged_stream(
            self.inner,
            messages,
            log=self.log,
            prompt=prompt,
            max_tokens=max_tokens,
            temperature=temperature,
            stop=stop,
            prices=self.prices,
        )

    def complete(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        prompt: PromptRef | None = None,
    ) -> tuple[str, Usage]:
        """Like :meth:`LLM.complete`, logged under ``prompt``."""
        parts: list[str] = []
        usage = Usage()
        events = self.stream(
            messages, max_tokens=max_tokens, temperature=temperature, stop=stop, prompt=prompt
        )
        for event in events:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            else:
                usage = event.usage
        return "".join(parts), usage
