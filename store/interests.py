"""The reader's interests and starred papers, kept in the data dir (``reader.sqlite3``).

A brief, ``papers list --for-me`` and the TUI may all read this while the CLI
writes it, in separate processes: SQLite gives each write its own transaction and
readers never see half of one, so no extra lock is needed. The file is small (a few
free-text interests, a few hundred stars) and is read whole.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FILENAME = "reader.sqlite3"
MAX_INTEREST_CHARS = 300

_SCHEMA = """
CREATE TABLE IF NOT EXISTS interests (text TEXT PRIMARY KEY, added TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stars (paper_id TEXT PRIMARY KEY, added TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Reader:
    """What the reader told us: free-text interests and starred paper ids, oldest first."""

    interests: tuple[str, ...] = ()
    stars: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.interests and not self.stars


class ReaderStore:
    """Read and change the reader's interests and stars in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILENAME

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10.0)
        db.executescript(_SCHEMA)
        return db

    def load(self) -> Reader:
        if not self.path.exists():
            return Reader()
        with closing(self._connect()) as db:
            interests = [r[0] for r in db.execute("SELECT text FROM interests ORDER BY added, text")]
            stars = [r[0] for r in db.execute("SELECT paper_id FROM stars ORDER BY added, paper_id")]
        return Reader(tuple(interests), tuple(stars))

    def add_interests(self, texts: list[str]) -> list[str]:
        """Add each non-empty interest (whitespace folded); returns the ones that were new."""
        clean = [" ".join(t.split()) for t in texts]
        for text in clean:
            if len(text) > MAX_INTEREST_CHARS:
                raise ValueError(f"an interest is at most {MAX_INTEREST_CHARS} characters ({len(text)} given)")
        added: list[str] = []
        with closing(self._connect()) as db, db:
            for text in clean:
                if text and db.execute(
                    "INSERT OR IGNORE INTO interests VALUES (?, ?)", (text, _now())
                ).rowcount:
                    added.append(text)
        return added

    def clear_interests(self) -> int:
        with closing(self._connect()) as db, db:
            return db.execute("DELETE FROM interests").rowcount

    def star(self, paper_id: str) -> bool:
        with closing(self._connect()) as db, db:
            return bool(db.execute("INSERT OR IGNORE INTO stars VALUES (?, ?)", (paper_id, _now())).rowcount)

    def unstar(self, paper_id: str) -> bool:
        with closing(self._connect()) as db, db:
            return bool(db.execute("DELETE FROM stars WHERE paper_id = ?", (paper_id,)).rowcount)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
