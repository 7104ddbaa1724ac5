"""Response cache: a model call answered once is answered from disk ever after.

The key is the model plus a hash of exactly what the model would see (the rendered
messages and the generation parameters), never the case or the prompt name. So:

* re-running unchanged prompts replays every response: no model time, same numbers;
* editing a prompt, a retrieval setting or chunking changes the rendered messages of
  exactly the cases it affects, and only those miss the cache and call the model.

A replay yields the recorded pieces one by one, so a consumer that stopped reading
early the first time (``ask`` cuts a looping model) stops at the same piece again;
such a cut stream is stored as *partial* and replays the same way.

Entries live in SQLite (one connection per operation: safe across threads). A run
exports the entries it used into ``results.json``; an accepted baseline carries them
into the repository, and the next run seeds its cache from the baselines, which is
what lets CI on a clean machine re-evaluate without running the model again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.llm.base import Finished, MessageLike, StreamEvent, TextDelta, Usage, as_messages
from agent.llm.budget import count_messages
from agent.llm.calllog import LoggedLLM
from agent.prompts import PromptRef

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    entry TEXT NOT NULL,
    created TEXT NOT NULL
)
"""


def request_key(
    model: str,
    messages: Sequence[MessageLike],
    *,
    max_tokens: int,
    temperature: float,
    stop: Sequence[str] | None,
) -> str:
    """sha256 of the model id and everything that shapes its output."""
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


class ResponseCache:
    """Recorded responses in ``path`` (SQLite), keyed by :func:`request_key`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._ready = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            if not self._ready:
                with self._lock:
                    db.execute(_SCHEMA)
                    self._ready = True
            yield db
        finally:
            db.close()

    def get(self, key: str) -> Entry | None:
        with self._db() as db:
            row = db.execute("SELECT entry FROM responses WHERE key = ?", (key,)).fetchone()
        return Entry.from_json(json.loads(row[0])) if row else None

    def put(self, key: str, entry: Entry) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO responses (key, entry, created) VALUES (?, ?, ?)",
                (key, json.dumps(entry.to_json(), ensure_ascii=False), time.strftime("%Y-%m-%dT%H:%M:%S")),
            )

    def seed(self, entries: Mapping[str, Mapping[str, Any]]) -> int:
        """Add recorded entries (from a baseline) that the cache lacks; returns how many were new."""
        added = 0
        with self._db() as db:
            db.execute("BEGIN")
            for key, data in entries.items():
                Entry.from_json(data)  # validate before storing
                cur = db.execute(
                    "INSERT OR IGNORE INTO responses (key, entry, created) VALUES (?, ?, ?)",
                    (key, json.dumps(dict(data), ensure_ascii=False), "seeded"),
                )
                added += cur.rowcount
            db.execute("COMMIT")
        return added

    def export(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key in keys:
            entry = self.get(key)
            if entry is not None:
                out[key] = entry.to_json()
        return out

    def __len__(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


@dataclass
class CacheStats:
    """What the cache did since the last :meth:`CachedLLM.take_stats`."""

    hits: int = 0
    misses: int = 0
    replayed_ms: float = 0.0  # the recorded latency of the calls that were replayed
    keys: list[str] = field(default_factory=list)


class CachedLLM(LoggedLLM):
    """A logged model whose calls are answered from a :class:`ResponseCache` when recorded.

    It subclasses :class:`LoggedLLM` so the agent code passes it prompt refs exactly as
    it does in production; misses go to the real model and the call log as usual.
    ``enabled=False`` records but never replays (a forced fresh run).
    """

    def __init__(self, logged: LoggedLLM, cache: ResponseCache, *, enabled: bool = True) -> None:
        super().__init__(logged.inner, logged.log, prices=logged.prices)
        self.cache = cache
        self.enabled = enabled
        self.used: dict[str, None] = {}  # every key this run touched, in order
        self._stats = CacheStats()
        self._lock = threading.Lock()

    def take_stats(self) -> CacheStats:
        with self._lock:
            stats, self._stats = self._stats, CacheStats()
        return stats

    def _note(self, key: str, *, hit: bool, replayed_ms: float = 0.0) -> None:
        with self._lock:
            self.used[key] = None
            self._stats.keys.append(key)
            if hit:
                self._stats.hits += 1
                self._stats.replayed_ms += replayed_ms
            else:
                self._stats.misses += 1

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
        entry = self.cache.get(key) if self.enabled else None
        if entry is not None:
            self._note(key, hit=True, replayed_ms=entry.latency_ms)
            return self._replay(entry, messages)
        self._note(key, hit=False)
        return self._record(key, messages, max_tokens, temperature, stop, prompt)

    def _replay(self, entry: Entry, messages: Sequence[MessageLike]) -> Iterator[StreamEvent]:
        for piece in entry.pieces:
            yield TextDelta(piece)
        if entry.finished:
            usage = Usage(entry.prompt_tokens, entry.completion_tokens)
            yield Finished(usage, entry.finish_reason, entry.model)
        else:  # read past a recorded cut: end it the way a length limit would
            yield Finished(Usage(count_messages(messages), len(entry.pieces)), "length", entry.model)

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
        ref = (prompt.name, prompt.version, prompt.hash) if prompt else None
        completed = False
        inner = super().stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop, prompt=prompt)
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
                close()  # log the cut call now, not whenever the generator is collected
            if completed:
                latency = (time.perf_counter() - started) * 1000.0
                usage = finished.usage if finished else Usage()
                self.cache.put(
                    key,
                    Entry(
                        model=finished.model if finished else self.name,
                        pieces=tuple(pieces),
                        finished=finished is not None,
                        prompt_tokens=usage.prompt_tokens,
                        completion_tokens=usage.completion_tokens,
                        finish_reason=finished.finish_reason if finished else None,
                        latency_ms=latency,
                        prompt=ref,
                    ),
                )
