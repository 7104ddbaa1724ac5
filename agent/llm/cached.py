"""One cached-LLM wrapper: a model call answered once is answered from a response store after.

Two features replay whole model responses: the weekly brief (a warm re-run of the same
window makes no model call) and the eval suite (a committed baseline replays every call,
so CI re-evaluates without a model). Both go through :class:`CachedLLM`, an :class:`LLM`
that wraps another one plus a :class:`ResponseStore`, so both share one key and one
replay rule:

* the key (:func:`request_key`) is the model plus a hash of exactly what the model would
  see: the rendered messages and the generation parameters, never a case id or a prompt
  name. Editing a prompt changes the rendered messages of exactly the calls it affects.
  The format is frozen: committed eval baselines are keyed by it.
* a replay yields the recorded pieces one by one, so a consumer that stopped reading early
  the first time (``ask`` cuts a looping model) stops at the same piece again; such a cut
  stream is stored as *partial* and replays the same way.
* failures are never stored; a miss goes to the wrapped model (and its call log) as usual.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.llm.base import LLM, Finished, MessageLike, StreamEvent, TextDelta, Usage, WrappedLLM, as_messages
from agent.llm.budget import count_messages
from store.private import private_db

if TYPE_CHECKING:
    from agent.prompts import PromptRef


def request_key(
    model: str,
    messages: Sequence[MessageLike],
    *,
    max_tokens: int,
    temperature: float,
    stop: Sequence[str] | None,
) -> str:
    """sha256 of the model id and everything that shapes its output (byte-stable: baselines use it)."""
    payload = {
        "model": model,
        "messages": [m.to_dict() for m in as_messages(messages)],
        "max_tokens": max_tokens,
        "temperature": temperature,
        "stop": list(stop or []),
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One recorded response: the streamed pieces and how the stream ended."""

    model: str
    pieces: tuple[str, ...]
    finished: bool  # False: the consumer stopped reading before the end
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    latency_ms: float = 0.0
    prompt: tuple[str, str, str] | None = None  # (name, version, hash) of the template

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "pieces": list(self.pieces),
            "finished": self.finished,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "finish_reason": self.finish_reason,
            "latency_ms": round(self.latency_ms, 1),
            "prompt": list(self.prompt) if self.prompt else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        prompt = data.get("prompt")
        return cls(
            model=str(data["model"]),
            pieces=tuple(str(p) for p in data["pieces"]),
            finished=bool(data["finished"]),
            prompt_tokens=int(data.get("prompt_tokens") or 0),
            completion_tokens=int(data.get("completion_tokens") or 0),
            finish_reason=data.get("finish_reason"),
            latency_ms=float(data.get("latency_ms") or 0.0),
            prompt=(str(prompt[0]), str(prompt[1]), str(prompt[2])) if prompt else None,
        )


class ResponseStore:
    """Recorded responses keyed by :func:`request_key`, in one SQLite table.

    ``path=None`` keeps them in memory (tests, a brief's ``--no-cache`` run). One connection
    behind a lock: callers read and write from worker threads; other processes are serialised
    by SQLite (WAL, a 30 s busy timeout).
    """

    def __init__(self, path: Path | None, *, table: str = "responses") -> None:
        if not table.isidentifier():
            raise ValueError(f"not a table name: {table!r}")
        self.path = Path(path) if path is not None else None
        self.table = table
        if self.path is not None:
            private_db(self.path)
        self._db = sqlite3.connect(
            str(self.path) if self.path else ":memory:", check_same_thread=False, isolation_level=None, timeout=30
        )
        self._lock = threading.Lock()
        with self._lock:
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, entry TEXT NOT NULL, created TEXT NOT NULL)"
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, key: str) -> Entry | None:
        with self._lock:
            row = self._db.execute(f"SELECT entry FROM {self.table} WHERE key = ?", (key,)).fetchone()
        return Entry.from_json(json.loads(row[0])) if row else None

    def put(self, key: str, entry: Entry) -> None:
        self.put_many({key: entry.to_json()}, created=time.strftime("%Y-%m-%dT%H:%M:%S"), replace=True)

    def put_many(self, entries: Mapping[str, Mapping[str, Any]], *, created: str, replace: bool) -> int:
        """Store recorded entries in one transaction; ``replace=False`` keeps existing ones. Returns rows written."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        written = 0
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for key, data in entries.items():
                    Entry.from_json(data)  # validate before storing
                    cur = self._db.execute(
                        f"{verb} INTO {self.table} (key, entry, created) VALUES (?, ?, ?)",
                        (key, json.dumps(dict(data), ensure_ascii=False), created),
                    )
                    written += cur.rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return written

    def entries(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored entries among ``keys``, as JSON-ready dicts (missing keys are skipped)."""
        out: dict[str, dict[str, Any]] = {}
        for key in keys:
            entry = self.get(key)
            if entry is not None:
                out[key] = entry.to_json()
        return out

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0])


@dataclass
class CacheStats:
    """What a :class:`CachedLLM` did since the last :meth:`CachedLLM.take_stats`."""

    hits: int = 0
    misses: int = 0
    replayed_ms: float = 0.0  # the recorded latency of the calls that were replayed
    keys: list[str] = field(default_factory=list)


class CachedLLM(WrappedLLM):
    """``inner`` whose calls are answered from ``store`` when recorded, and recorded when not.

    ``enabled=False`` records but never replays (a forced fresh run). ``used`` lists every
    key this wrapper touched, in order (what an eval run exports into its results).
    """

    def __init__(self, inner: LLM, store: ResponseStore, *, enabled: bool = True) -> None:
        super().__init__(inner)
        self.store = store
        self.enabled = enabled
        self.used: dict[str, None] = {}
        self._stats = CacheStats()
        self._total = CacheStats()
        self._lock = threading.Lock()

    @property
    def totals(self) -> CacheStats:
        """Hits, misses and replayed time since this wrapper was made (never reset)."""
        with self._lock:
            return replace(self._total, keys=list(self._total.keys))

    def take_stats(self) -> CacheStats:
        """The counts since the last call, then start counting afresh."""
        with self._lock:
            stats, self._stats = self._stats, CacheStats()
        return stats

    def _note(self, key: str, *, hit: bool, replayed_ms: float = 0.0) -> None:
        with self._lock:
            self.used[key] = None
            for stats in (self._stats, self._total):
                stats.keys.append(key)
                if hit:
                    stats.hits += 1
                    stats.replayed_ms += replayed_ms
                else:
                    stats.misses += 1

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        prompt: PromptRef | None = None,
    ) -> Iterator[StreamEvent]:
        key = request_key(self.name, messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
        entry = self.store.get(key) if self.enabled else None
        if entry is not None:
            self._note(key, hit=True, replayed_ms=entry.latency_ms)
            return _replay(entry, messages)
        self._note(key, hit=False)
        return self._record(key, messages, max_tokens, temperature, stop, prompt)

    def _record(
        self,
        key: str,
        messages: Sequence[MessageLike],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
        prompt: PromptRef | None,
    ) -> Iterator[StreamEvent]:
        pieces: list[str] = []
        finished: Finished | None = None
        started = time.perf_counter()
        completed = False
        inner = self.inner.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop, prompt=prompt)
        try:
            for event in inner:
                if isinstance(event, TextDelta):
                    pieces.append(event.text)
                else:
                    finished = event
                yield event
            completed = True
        except GeneratorExit:  # the consumer stopped reading: a deterministic cut, worth replaying
            completed = True
            raise
        finally:
            close = getattr(inner, "close", None)
            if close:
                close()  # end (and log) the cut call now, not whenever the generator is collected
            if completed:
                usage = finished.usage if finished else Usage()
                self.store.put(
                    key,
                    Entry(
                        model=finished.model if finished else self.name,
                        pieces=tuple(pieces),
                        finished=finished is not None,
                        prompt_tokens=usage.prompt_tokens,
                        completion_tokens=usage.completion_tokens,
                        finish_reason=finished.finish_reason if finished else None,
                        latency_ms=(time.perf_counter() - started) * 1000.0,
                        prompt=(prompt.name, prompt.version, prompt.hash) if prompt else None,
                    ),
                )


def _replay(entry: Entry, messages: Sequence[MessageLike]) -> Iterator[StreamEvent]:
    for piece in entry.pieces:
        yield TextDelta(piece)
    if entry.finished:
        yield Finished(Usage(entry.prompt_tokens, entry.completion_tokens), entry.finish_reason, entry.model)
    else:  # read past a recorded cut: end it the way a length limit would
        yield Finished(Usage(count_messages(messages), len(entry.pieces)), "length", entry.model)
