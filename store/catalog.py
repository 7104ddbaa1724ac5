"""The catalog: paper records, their chunks and listing dates in one SQLite file.

The catalog is the source of truth for *which* papers are indexed, and papers are
searchable lexically as soon as they are committed here (lexical-first ingest). Each
chunk row says whether its vector is in Chroma yet (``embedded``); vectors of chunks
that no longer exist wait in ``stale_vectors`` until they are deleted there. A process
killed at any moment leaves a consistent, queryable catalog, and the next ingest (or
``paperbrief index embed``) embeds what is still pending.

Every committed change bumps ``generation``, and each chunk row records the generation
that ``added`` it: BM25 segments use that to add only what is new (see ``store.bm25``).
Marking vectors as written is not a change to the text and does not bump it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from store.papers import Paper, title_key
from store.private import private_db

if TYPE_CHECKING:  # chunking pulls in langchain's splitter; the catalog only passes chunks through
    from store.chunking import Chunk

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
    text TEXT NOT NULL,
    embedded INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_paper ON chunks(paper_id);
CREATE TABLE IF NOT EXISTS stale_vectors (chunk_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Catalogs written before lexical-first ingest: every chunk there already had its vector.
_MIGRATIONS = {
    "embedded": "ALTER TABLE chunks ADD COLUMN embedded INTEGER NOT NULL DEFAULT 1",
    "added": "ALTER TABLE chunks ADD COLUMN added INTEGER NOT NULL DEFAULT 0",
}
_INDEXES = """
CREATE INDEX IF NOT EXISTS chunks_pending ON chunks(embedded) WHERE embedded = 0;
CREATE INDEX IF NOT EXISTS chunks_embedded ON chunks(embedded) WHERE embedded = 1;
CREATE INDEX IF NOT EXISTS chunks_added ON chunks(added);
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

    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0) -> None:
        private_db(path)
        self.path = path
        # the busy timeout must be in force before the first statement: switching a fresh
        # file to WAL while other processes open it too is what used to fail "database is locked"
        self._db = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(chunks)")}
        for column, sql in _MIGRATIONS.items():
            if column not in columns:
                self._db.execute(sql)
        self._db.executescript(_INDEXES)
        self._writes = 0  # commits through this connection, which data_version does not count

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self, *, bump: bool = True) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside lands together or not at all.

        ``bump=False`` for bookkeeping that leaves the searchable text as it was
        (vectors written), so BM25 is not refreshed for it.
        """
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            if bump:
                self._bump_generation()
            self._db.execute("COMMIT")
            self._writes += 1

    def change_stamp(self) -> tuple[int, int]:
        """Changes once anything commits, from any connection (SQLite's data_version) or this one."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0]), self._writes

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Several reads that see one committed state (WAL keeps writers going meanwhile)."""
        self._db.execute("BEGIN")
        try:
            yield self._db
        finally:
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

    def get_or_set_meta(self, key: str, value: str) -> str:
        """The stored ``key``, or ``value`` stored now: atomic across processes.

        Two processes opening a fresh data dir at once both see no value; ``INSERT OR
        IGNORE`` lets exactly one write it and both read back the same winner.
        """
        self._db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES(?, ?)", (key, value))
        stored = self.get_meta(key)
        assert stored is not None
        return stored

    def count_papers(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM papers").fetchone()[0])

    def count_chunks(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def get(self, paper_id: str) -> Paper | None:
        row = self._db.execute("SELECT data FROM papers WHERE id=?", (paper_id,)).fetchone()
        return Paper.from_json(json.loads(row[0])) if row else None

    def get_many(self, paper_ids: Iterable[str]) -> dict[str, Paper]:
        rows = self._select_in("SELECT id, data FROM papers WHERE id IN ({marks})", list(dict.fromkeys(paper_ids)))
        return {pid: Paper.from_json(json.loads(data)) for pid, data in rows}

    def find_stored(self, paper: Paper) -> StoredPaper | None:
        """The stored record for this paper: same id, else same normalized title."""
        return self.find_stored_many([paper])[0]

    def _select_in(self, sql: str, values: list[str]) -> Iterator[tuple]:  # type: ignore[type-arg]
        """Rows of ``sql`` (its ``{marks}`` an IN list) for all ``values``, 500 bound values a statement."""
        for start in range(0, len(values), 500):
            part = values[start : start + 500]
            yield from self._db.execute(sql.format(marks=",".join("?" * len(part))), part)

    def find_stored_many(self, papers: list[Paper]) -> list[StoredPaper | None]:
        """:meth:`find_stored` for a batch, in a few statements instead of two or three per paper.

        Same answer per paper: the row with its id, else the first row (lowest rowid, as the
        single lookup's index walk gives) with its title key.
        """
        cols = "id, content_hash, text_hash, data"
        rows = {r[0]: r for r in self._select_in(
            f"SELECT {cols} FROM papers WHERE id IN ({{marks}})", list(dict.fromkeys(p.id for p in papers))
        )}
        by_title: dict[str, tuple] = {}  # type: ignore[type-arg]
        keys = list(dict.fromkeys(title_key(p.title) for p in papers if p.id not in rows))
        for r in self._select_in(
            f"SELECT title_key, {cols} FROM papers WHERE title_key IN ({{marks}}) ORDER BY title_key, rowid", keys
        ):
            by_title.setdefault(r[0], r[1:])
        found = [rows.get(p.id) or by_title.get(title_key(p.title)) for p in papers]
        chunk_ids: dict[str, list[str]] = {}
        for pid, cid in self._select_in(
            "SELECT paper_id, id FROM chunks WHERE paper_id IN ({marks}) ORDER BY paper_id, seq",
            list(dict.fromkeys(r[0] for r in found if r is not None)),
        ):
            chunk_ids.setdefault(pid, []).append(cid)
        return [
            StoredPaper(Paper.from_json(json.loads(r[3])), r[1], r[2], tuple(chunk_ids.get(r[0], ()))) if r else None
            for r in found
        ]

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
        rows = self._db.execute(  # no DISTINCT: the set dedups without SQLite's temp b-tree
            "SELECT paper_id FROM listings WHERE day >= ? AND day <= ?",
            ((since or date.min).isoformat(), (until or date.max).isoformat()),
        )
        return {r[0] for r in rows}

    def all_chunks(self) -> tuple[list[str], list[str], list[str]]:
        """(chunk ids, paper ids, texts) in a stable order: what BM25 is built from."""
        rows = self._db.execute("SELECT id, paper_id, text FROM chunks ORDER BY id").fetchall()
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    def dense_coverage(self) -> tuple[int, int]:
        """(chunks with their vector written, all chunks): what dense search can see."""
        total = self.count_chunks()
        if not self.has_vectors():  # lexical-only: counting 75k pending rows took 6 ms of every search
            return 0, total
        return total - self.count_pending(), total  # pending rows come from a small partial index

    def has_vectors(self) -> bool:
        """Whether any chunk has its vector yet: one probe of a partial index, whatever the corpus size."""
        return bool(self._db.execute("SELECT EXISTS(SELECT 1 FROM chunks WHERE embedded = 1)").fetchone()[0])

    def pending_chunks(self, limit: int) -> list[tuple[str, str, int, str]]:
        """Up to ``limit`` chunks still without a vector: (chunk id, paper id, seq, text)."""
        rows = self._db.execute(
            "SELECT id, paper_id, seq, text FROM chunks WHERE embedded = 0 ORDER BY paper_id, seq LIMIT ?",
            (limit,),
        )
        return [(r[0], r[1], int(r[2]), r[3]) for r in rows]

    def count_pending(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 0").fetchone()[0])

    def titles(self, paper_ids: Iterable[str]) -> dict[str, str]:
        rows = self._select_in("SELECT id, data FROM papers WHERE id IN ({marks})", list(dict.fromkeys(paper_ids)))
        return {pid: str(json.loads(data).get("title", "")) for pid, data in rows}

    def mark_embedded(self, chunk_ids: list[str]) -> None:
        """Record that these chunks' vectors are in Chroma (no generation bump: the text is unchanged)."""
        with self.transaction(bump=False) as db:
            db.executemany("UPDATE chunks SET embedded = 1 WHERE id = ?", [(c,) for c in chunk_ids])

    def stale_vector_ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT chunk_id FROM stale_vectors")]

    def clear_stale_vectors(self, chunk_ids: list[str]) -> None:
        with self.transaction(bump=False) as db:
            db.executemany("DELETE FROM stale_vectors WHERE chunk_id = ?", [(c,) for c in chunk_ids])

    def chunks_added_after(self, generation: int) -> list[tuple[str, str, str, int]]:
        """Chunks committed after ``generation``: (id, paper id, text, added), oldest first."""
        rows = self._db.execute(
            "SELECT id, paper_id, text, added FROM chunks WHERE added > ? ORDER BY added, id", (generation,)
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    def chunks_added_between(self, lo: int, hi: int) -> list[tuple[str, str, str, int]]:
        """Chunks with ``lo < added <= hi``, in the same order as :meth:`chunks_added_after`."""
        rows = self._db.execute(
            "SELECT id, paper_id, text, added FROM chunks WHERE added > ? AND added <= ? ORDER BY added, id", (lo, hi)
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    def chunk_ids_added_between(self, lo: int, hi: int) -> set[str]:
        rows = self._db.execute("SELECT id FROM chunks WHERE added > ? AND added <= ?", (lo, hi))
        return {r[0] for r in rows}

    def count_chunks_added_between(self, lo: int, hi: int) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM chunks WHERE added > ? AND added <= ?", (lo, hi)).fetchone()
        return int(row[0])

    def chunk_texts(self, chunk_ids: Iterable[str]) -> dict[str, str]:
        return dict(self._select_in("SELECT id, text FROM chunks WHERE id IN ({marks})", list(chunk_ids)))

    def listing_range(self) -> tuple[date | None, date | None]:
        # two subqueries: SQLite answers a lone MIN or MAX from the index, both at once by a scan (16 ms at 75k)
        lo, hi = self._db.execute("SELECT (SELECT MIN(day) FROM listings), (SELECT MAX(day) FROM listings)").fetchone()
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
        self.put_many(db, [(paper, chunks, False)])

    def put_many(self, db: sqlite3.Connection, items: list[tuple[Paper, list[Chunk] | None, bool]]) -> None:
        """Upsert records as :meth:`put` does, a batch per statement: (paper, chunks, ``new``).

        ``new`` says the caller found nothing stored under this id (``find_stored``), so
        there are no listings or chunks of it to clear: a fresh paper costs three
        statements per *batch* instead of eight per paper, which was most of the catalog
        time of a 75k-paper ingest. Chunk rows get the generation this transaction commits.
        """
        if not items:
            return
        generation = self.generation + 1  # the transaction holds the write lock: nobody else bumps it
        rows: list[tuple[object, ...]] = []
        listings: list[tuple[str, str]] = []
        cleared: list[tuple[str]] = []
        chunk_rows: list[tuple[object, ...]] = []
        for paper, chunks, new in items:
            days = paper.listing_dates or ((paper.published,) if paper.published else ())
            rows.append((
                paper.id,
                title_key(paper.title),
                paper.content_hash,
                paper.text_hash,
                min(days).isoformat() if days else None,
                max(days).isoformat() if days else None,
                json.dumps(paper.to_json(), ensure_ascii=False),
            ))
            listings.extend((paper.id, d.isoformat()) for d in days)
            if not new:
                cleared.append((paper.id,))
            if chunks is not None:
                if not new:
                    self._drop_chunks(db, paper.id, keep={c.id for c in chunks})
                chunk_rows.extend((c.id, c.paper_id, c.seq, c.text, generation) for c in chunks)
        db.executemany(
            "INSERT INTO papers(id, title_key, content_hash, text_hash, first_listed, last_listed, data)"
            " VALUES(?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET title_key=excluded.title_key,"
            " content_hash=excluded.content_hash, text_hash=excluded.text_hash,"
            " first_listed=excluded.first_listed, last_listed=excluded.last_listed, data=excluded.data",
            rows,
        )
        db.executemany("DELETE FROM listings WHERE paper_id=?", cleared)
        db.executemany("INSERT OR IGNORE INTO listings(paper_id, day) VALUES(?, ?)", listings)
        db.executemany(
            "INSERT OR REPLACE INTO chunks(id, paper_id, seq, text, embedded, added) VALUES(?,?,?,?,0,?)",
            chunk_rows,
        )

    def remove(self, db: sqlite3.Connection, paper_id: str) -> None:
        db.execute("DELETE FROM papers WHERE id=?", (paper_id,))
        db.execute("DELETE FROM listings WHERE paper_id=?", (paper_id,))
        self._drop_chunks(db, paper_id, keep=set())

    def _drop_chunks(self, db: sqlite3.Connection, paper_id: str, keep: set[str]) -> None:
        """Delete a paper's chunk rows; vectors of ids that are gone for good wait in ``stale_vectors``."""
        gone = [r[0] for r in db.execute("SELECT id FROM chunks WHERE paper_id=?", (paper_id,)) if r[0] not in keep]
        db.executemany("INSERT OR IGNORE INTO stale_vectors(chunk_id) VALUES(?)", [(c,) for c in gone])
        db.executemany("DELETE FROM stale_vectors WHERE chunk_id = ?", [(c,) for c in keep])
        db.execute("DELETE FROM chunks WHERE paper_id=?", (paper_id,))
