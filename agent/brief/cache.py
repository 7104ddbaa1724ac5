"""The brief's cache: per-paper TL;DRs and whole model responses, in SQLite under the data dir.

Weekly briefs overlap (a paper listed on Friday is often re-listed on Monday) and
get re-run (a new theme name, another format), so the expensive part, one model
summary per paper, is cached per paper by ``(text hash, model, prompt name,
prompt version)``: the text hash covers exactly what is summarised (title and
abstract), so a new listing date or upvote count does not invalidate it, while a
revised abstract, another model or a new prompt version does.

Responses of the reduce calls (theme names, syntheses, highlight reasons) are kept
in the same file by the shared :class:`~agent.llm.cached.ResponseStore` (keyed by the
model and the exact messages and parameters sent, as the eval replay is), so a warm
re-run of the same window makes no model call at all, and a run whose TL;DRs changed
redoes only what depends on them.

One connection per table owner, each guarded by a lock: the pipeline reads from worker threads.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent.llm.cached import ResponseStore
from store.paths import Paths
from store.private import private_db

#: The response store's table in the brief cache file (the older ``responses`` table had another layout).
RESPONSES_TABLE = "llm_responses"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tldrs (
    text_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt TEXT NOT NULL,
    version TEXT NOT NULL,
    tldr TEXT NOT NULL,
    mode TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (text_hash, model, prompt, version)
);
-- the responses of older versions, keyed by prompt name and version: no longer readable
DROP TABLE IF EXISTS responses;
"""


@dataclass(frozen=True)
class CachedTldr:
    tldr: str
    mode: str  # "model" or "extractive" (the model's output failed the checks for this prompt)


class BriefCache:
    """TL;DRs and responses; ``path=None`` keeps them in memory (tests, ``--no-cache``).

    ``responses`` is the store the brief's :class:`~agent.llm.cached.CachedLLM` replays from.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            private_db(path)
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None, timeout=30
        )
        self._lock = threading.Lock()
        with self._lock:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        self.responses = ResponseStore(path, table=RESPONSES_TABLE)

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> BriefCache:
        return cls(Paths(Path(data_dir)).brief_cache)

    def close(self) -> None:
        self.responses.close()
        with self._lock:
            self._db.close()

    def __enter__(self) -> BriefCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- TL;DRs ----------------------------------------------------------------------
    def get_tldrs(
        self, text_hashes: Iterable[str], *, model: str, prompt: str, version: str
    ) -> dict[str, CachedTldr]:
        hashes = list(dict.fromkeys(text_hashes))
        out: dict[str, CachedTldr] = {}
        with self._lock:
            for start in range(0, len(hashes), 500):
                part = hashes[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT text_hash, tldr, mode FROM tldrs WHERE model=? AND prompt=? AND version=?"
                    f" AND text_hash IN ({marks})",
                    [model, prompt, version, *part],
                )
                out.update({h: CachedTldr(t, m) for h, t, m in rows})
        return out

    def put_tldrs(
        self, items: Sequence[tuple[str, str, str]], *, model: str, prompt: str, version: str
    ) -> None:
        """Store ``(text_hash, tldr, mode)`` rows (upserts: a re-run never duplicates)."""
        now = _now()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO tldrs(text_hash, model, prompt, version, tldr, mode, created)"
                " VALUES(?,?,?,?,?,?,?)",
                [(h, model, prompt, version, t, m, now) for h, t, m in items],
            )
            self._db.execute("COMMIT")

    def counts(self) -> dict[str, int]:
        with self._lock:
            tldrs = self._db.execute("SELECT COUNT(*) FROM tldrs").fetchone()[0]
        return {"tldrs": int(tldrs), "responses": len(self.responses)}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
