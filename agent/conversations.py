"""Saved conversations: every question and checked answer, in ``<data_dir>/conversations.sqlite3``.

The TUI keeps a researcher's conversations across sessions so a thread of follow-up
questions can be reopened, renamed, deleted or exported to Markdown later. The store
lives outside ``agent/tui`` because it has nothing to do with a terminal: a future
web front end or a ``paperbrief conversations`` command would use it as it is.

Like the call log, the schema only grows through append-only migrations, and every
write opens its own short connection, so the store is safe from any thread.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.llm.base import ChatMessage, Role
from agent.types import Answer
from store.paths import Paths
from store.private import private_db

Clock = Callable[[], datetime]
Migration = Callable[[sqlite3.Connection], None]

#: Titles made from the first question are cut here (the list shows one line each).
TITLE_CHARS = 60


def _m001_conversations(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE conversations (id INTEGER PRIMARY KEY, title TEXT NOT NULL, "
        "created TEXT NOT NULL, updated TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, "
        "conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, "
        "role TEXT NOT NULL, content TEXT NOT NULL, meta TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX messages_conversation ON messages(conversation_id, id)")


#: Append only: a released migration is never edited; new columns come from new entries.
MIGRATIONS: list[Migration] = [_m001_conversations]


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created: datetime
    updated: datetime
    turns: int = 0  # questions asked


@dataclass(frozen=True)
class StoredMessage:
    """One turn. ``meta`` holds an answer's model, mode, citations, sources and usage."""

    role: Role
    content: str
    meta: dict[str, Any] = field(default_factory=dict)


def answer_meta(answer: Answer) -> dict[str, Any]:
    """What a saved answer keeps beside its text: enough to redraw its sources and footer."""
    cited = {c.n for c in answer.citations}
    return {
        "model": answer.model,
        "mode": answer.mode,
        "abstained": answer.abstained,
        "citations": [c.to_json() for c in answer.citations],
        "sources": [
            {
                "n": s.n,
                "paper_id": s.paper_id,
                "title": s.title,
                "date": s.date.isoformat() if s.date else None,
                "url": s.url,
                "cited": s.n in cited,
            }
            for s in answer.sources
        ],
        "closest": [
            {"paper_id": h.paper_id, "title": h.title, "date": h.date.isoformat() if h.date else None}
            for h in (answer.retrieved[:5] if answer.abstained else [])
        ],
        "usage": {"prompt_tokens": answer.usage.prompt_tokens, "completion_tokens": answer.usage.completion_tokens},
        "cost_usd": answer.cost_usd,
        "warnings": list(answer.warnings),
        "sentences": [sentence.to_json() for sentence in answer.sentences],
        "window": {
            "since": answer.since.isoformat() if answer.since else None,
            "until": answer.until.isoformat() if answer.until else None,
        },
    }


def make_title(question: str) -> str:
    """A conversation's default title: its first question on one line, cut at a word."""
    text = " ".join(question.split())
    if len(text) <= TITLE_CHARS:
        return text or "Untitled"
    cut = text[: TITLE_CHARS - 1].rsplit(" ", 1)[0]
    return cut + "…"


class ConversationStore:
    """CRUD over saved conversations; every method opens and closes its own connection."""

    def __init__(self, path: Path, *, clock: Clock | None = None, timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.timeout_s = timeout_s
        self._migrated = False

    @classmethod
    def for_data_dir(cls, data_dir: Path, **kwargs: Any) -> ConversationStore:
        return cls(Paths(Path(data_dir)).conversations, **kwargs)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        private_db(self.path)
        db = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        try:
            db.execute("PRAGMA foreign_keys=ON")
            if not self._migrated:
                self._migrate(db)
            yield db
        finally:
            db.close()

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for n, migration in enumerate(MIGRATIONS[version:], version + 1):
                migration(db)
                db.execute(f"PRAGMA user_version={n}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._migrated = True

    def _now(self) -> str:
        return self.clock().isoformat(timespec="seconds")

    # --- conversations ---------------------------------------------------------------
    def create(self, title: str) -> Conversation:
        now = self._now()
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO conversations(title, created, updated) VALUES(?,?,?)", (title, now, now)
            )
            new_id = int(cur.lastrowid or 0)
        found = self.get(new_id)
        assert found is not None
        return found

    def get(self, conversation_id: int) -> Conversation | None:
        rows = self._select("WHERE c.id = ?", (conversation_id,))
        return rows[0] if rows else None

    def recent(self) -> list[Conversation]:
        """Every conversation, the most recently used first."""
        return self._select("", ())

    def _select(self, where: str, params: tuple[object, ...]) -> list[Conversation]:
        sql = (
            "SELECT c.id, c.title, c.created, c.updated, "
            "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user') "
            f"FROM conversations c {where} ORDER BY c.updated DESC, c.id DESC"
        )
        with self._connect() as db:
            return [
                Conversation(int(r[0]), r[1], datetime.fromisoformat(r[2]), datetime.fromisoformat(r[3]), int(r[4]))
                for r in db.execute(sql, params)
            ]

    def rename(self, conversation_id: int, title: str) -> None:
        title = " ".join(title.split())
        if not title:
            raise ValueError("a conversation title cannot be empty")
        with self._connect() as db:
            db.execute("UPDATE conversations SET title=? WHERE id=?", (title, conversation_id))

    def delete(self, conversation_id: int) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM conversations WHERE id=?", (conversation_id,))

    # --- messages --------------------------------------------------------------------
    def add_message(
        self, conversation_id: int, role: Role, content: str, meta: dict[str, Any] | None = None
    ) -> None:
        now = self._now()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO messages(conversation_id, role, content, meta, created) VALUES(?,?,?,?,?)",
                (conversation_id, role, content, json.dumps(meta or {}, ensure_ascii=False), now),
            )
            db.execute("UPDATE conversations SET updated=? WHERE id=?", (now, conversation_id))
            db.execute("COMMIT")

    def add_turn(self, conversation_id: int, answer: Answer) -> None:
        """Save a finished question and its checked answer (the text people saw, not the raw stream)."""
        self.add_message(conversation_id, "user", answer.question)
        self.add_message(conversation_id, "assistant", answer.text, answer_meta(answer))

    def messages(self, conversation_id: int) -> list[StoredMessage]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT role, content, meta FROM messages WHERE conversation_id=? ORDER BY id", (conversation_id,)
            ).fetchall()
        return [StoredMessage(r[0], r[1], json.loads(r[2] or "{}")) for r in rows]

    def history(self, conversation_id: int) -> list[ChatMessage]:
        """The turns as chat messages, for condensing a follow-up question."""
        return [ChatMessage(m.role, m.content) for m in self.messages(conversation_id)]

    # --- export ----------------------------------------------------------------------
    def to_markdown(self, conversation_id: int) -> str:
        """The conversation as a Markdown document: questions as headings, answers with sources."""
        conv = self.get(conversation_id)
        if conv is None:
            raise KeyError(conversation_id)
        lines = [f"# {conv.title}", "", f"_paperbrief conversation · {conv.created:%Y-%m-%d}_", ""]
        for msg in self.messages(conversation_id):
            if msg.role == "user":
                lines += [f"## {msg.content}", ""]
                continue
            lines += [msg.content, ""]
            lines += sources_markdown(msg.meta)
            if msg.meta.get("model"):
                lines += [f"_{msg.meta['model']} · {msg.meta.get('mode', 'generative')}_", ""]
        return "\n".join(lines).rstrip() + "\n"


def sources_markdown(meta: dict[str, Any]) -> list[str]:
    """The numbered sources an answer cited (or the closest papers of an abstention), as Markdown lines."""
    sources = [s for s in meta.get("sources", []) if s.get("cited")]
    lines: list[str] = []
    if sources:
        lines.append("**Sources**")
        lines.append("")
        for s in sources:
            title = f"[{s['title']}]({s['url']})" if s.get("url") else s["title"]
            lines.append(f"- [{s['n']}] {title} · {s['paper_id']}" + (f" · {s['date']}" if s.get("date") else ""))
        lines.append("")
    elif meta.get("closest"):
        lines += ["**Closest papers found**", ""]
        lines += [f"- {h['title']} · {h['paper_id']}" for h in meta["closest"]]
        lines.append("")
    return lines
