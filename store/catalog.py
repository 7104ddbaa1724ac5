"""The catalog: paper records, their chunks and listing dates in one SQLite file.

The catalog is the source of truth for *which* papers are indexed. Chroma holds the
vectors and BM25 is rebuilt from the catalog's chunk table, so a record is committed
here only after its vectors are written: a process killed in between leaves the
catalog describing a consistent, queryable set, and the next run redoes the rest.
Every committed change bumps ``generation``, which is how BM25 knows it is stale.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from store.chunking import Chunk
from store.papers import Paper, title_key
from store.private import private_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    id TEXT PRIMARY KEY,
    title_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    first_listed TEXT,
    last_listed TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS papers_title_key ON papers(title_key);
CREATE TABLE IF NOT EXISTS listings (
    paper_id TEXT NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (paper_id, day)
);
CREATE INDEX IF NOT EXISTS listings_day ON listings(day);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    paper_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_paper ON chunks(paper_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class StoredPaper:
    """A catalog row: the record plus the hashes ingest compares against."""

    paper: Paper
    content_hash: str
    text_hash: str
    chunk_ids: tuple[str, ...]


class Catalog:
    """SQLite-backed paper records. One instance per process; not shared across threads."""

    def __init__(self, path: Path) -> None:
        private_db(path)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside lands together or not at all."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._bump_generation()
            self._db.execute("COMMIT")

    # --- reads ------------------------------------------------------------------
    @property
    def generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def _bump_generation(self) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def count_papers(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM papers").fetchone()[0])

    def count_chunks(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def get(self, paper_id: str) -> Paper | None:
        row = self._db.execute("SELECT data FROM papers WHERE id=?", (paper_id,)).fetchone()
        return Paper.from_json(json.loads(row[0])) if row else None

    def get_many(self, paper_ids: Iterable[str]) -> dict[str, Paper]:
        ids = list(dict.fromkeys(paper_ids))
        out: dict[str, Paper] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for pid, data in self._db.execute(
                f"SELECT id, data FROM papers WHERE id IN ({marks})", part
            ):
                out[pid] = Paper.from_json(json.loads(data))
        return out

    def find_stored(self, paper: Paper) -> StoredPaper | None:
        """The stored record for this paper: same id, else same normalized title."""
        row = self._db.execute(
            "SELECT id, content_hash, text_hash, data FROM papers WHERE id=?", (paper.id,)
        ).fetchone()
        if row is None:
            row = self._db.execute(
                "SELECT id, content_hash, text_hash, data FROM papers WHERE title_key=? LIMIT 1",
                (title_key(paper.title),),
            ).fetchone()
        if row is None:
            return None
        chunk_ids = tuple(
            r[0]
            for r in self._db.execute("SELECT id FROM chunks WHERE paper_id=? ORDER BY seq", (row[0],))
        )
        return StoredPaper(Paper.from_json(json.loads(row[3])), row[1], row[2], chunk_ids)

    def search_titles(self, needle: str, limit: int = 20) -> list[Paper]:
        like = f"%{title_key(needle)}%"
        rows = self._db.execute(
            "SELECT data FROM papers WHERE title_key LIKE ? ORDER BY id LIMIT ?", (like, limit)
        )
        return [Paper.from_json(json.loads(r[0])) for r in rows]

    def list_papers(
        self, since: date | None = None, until: date | None = None, limit: int | None = None
    ) -> list[Paper]:
        """Papers with a listing date in ``[since, until]``, newest listing first."""
        sql = "SELECT data FROM papers"
        params: list[object] = []
        if since or until:
            sql += " WHERE id IN (SELECT paper_id FROM listings WHERE day >= ? AND day <= ?)"
            params += [(since or date.min).isoformat(), (until or date.max).isoformat()]
        sql += " ORDER BY last_listed DESC, id"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [Paper.from_json(json.loads(r[0])) for r in self._db.execute(sql, params)]

    def paper_ids_in_window(self, since: date | None, until: date | None) -> set[str]:
        rows = self._db.execute(
            "SELECT DISTINCT paper_id FROM listings WHERE day >= ? AND day <= ?",
            ((since or date.min).isoformat(), (until or date.max).isoformat()),
        )
        return {r[0] for r in rows}

    def all_chunks(self) -> tuple[list[str], list[str], list[str]]:
        """(chunk ids, paper ids, texts) in a stable order: what BM25 is built from."""
        ids: list[str] = []
        pids: list[str] = []
        texts: list[str] = []
        for cid, pid, text in self._db.execute("SELECT id, paper_id, text FROM chunks ORDER BY id"):
            ids.append(cid)
            pids.append(pid)
            texts.append(text)
        return ids, pids, texts

    def chunk_texts(self, chunk_ids: Iterable[str]) -> dict[str, str]:
        ids = list(chunk_ids)
        out: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            out.update(
                self._db.execute(f"SELECT id, text FROM chunks WHERE id IN ({marks})", part)
            )
        return out

    def listing_range(self) -> tuple[date | None, date | None]:
        lo, hi = self._db.execute("SELECT MIN(day), MAX(day) FROM listings").fetchone()
        return (date.fromisoformat(lo) if lo else None, date.fromisoformat(hi) if hi else None)

    def source_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (data,) in self._db.execute("SELECT data FROM papers"):
            for src in json.loads(data).get("sources", []):
                kind = src.split(":", 1)[0]
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    # --- writes (call inside ``transaction()``) ----------------------------------
    def put(self, db: sqlite3.Connection, paper: Paper, chunks: list[Chunk] | None) -> None:
        """Upsert a record; ``chunks=None`` keeps the stored chunks (text unchanged)."""
        days = paper.listing_dates or ((paper.published,) if paper.published else ())
        db.execute(
            "INSERT INTO papers(id, title_key, content_hash, text_hash, first_listed, last_listed, data)"
            " VALUES(?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET title_key=excluded.title_key,"
            " content_hash=excluded.content_hash, text_hash=excluded.text_hash,"
            " first_listed=excluded.first_listed, last_listed=excluded.last_listed, data=excluded.data",
            (
                paper.id,
                title_key(paper.title),
                paper.content_hash,
                paper.text_hash,
                min(days).isoformat() if days else None,
                max(days).isoformat() if days else None,
                json.dumps(paper.to_json(), ensure_ascii=False),
            ),
        )
        db.execute("DELETE FROM listings WHERE paper_id=?", (paper.id,))
        db.executemany(
            "INSERT OR IGNORE INTO listings(paper_id, day) VALUES(?, ?)",
            [(paper.id, d.isoformat()) for d in days],
        )
        if chunks is not None:
            db.execute("DELETE FROM chunks WHERE paper_id=?", (paper.id,))
            db.executemany(
                "INSERT OR REPLACE INTO chunks(id, paper_id, seq, text) VALUES(?,?,?,?)",
                [(c.id, c.paper_id, c.seq, c.text) for c in chunks],
            )

    def remove(self, db: sqlite3.Connection, paper_id: str) -> None:
        db.execute("DELETE FROM papers WHERE id=?", (paper_id,))
        db.execute("DELETE FROM listings WHERE paper_id=?", (paper_id,))
        db.execute("DELETE FROM chunks WHERE paper_id=?", (paper_id,))
