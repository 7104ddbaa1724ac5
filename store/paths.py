"""Everything paperbrief keeps under its data dir, named in one place.

Both sides use it (``store`` for the index, ``agent`` for logs, caches, conversations and the
model service), so a reader finds every file from here and two features never pick the same
name. The layout::

    <data_dir>/
      index/catalog.sqlite3  index/chroma/  index/bm25/     the index (store)
      index/dense/                                         vectors snapshot for search
      index/.writer.lock  index/.writer.json              the one writer at a time (store.locks)
      cache/brief.sqlite3                                  TL;DR and response cache
      logs/calls.sqlite3  logs/tui.log                     the call log, the TUI's log
      conversations.sqlite3                                saved chats
      evals/                                               eval runs
      service/                                             the local model service's state
      models/                                              GGUF files pulled with `models pull`
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """The files and folders under one data dir (nothing is created until used)."""

    data_dir: Path

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def catalog(self) -> Path:
        return self.index_dir / "catalog.sqlite3"

    @property
    def chroma_dir(self) -> Path:
        return self.index_dir / "chroma"

    @property
    def bm25_dir(self) -> Path:
        return self.index_dir / "bm25"

    @property
    def dense_dir(self) -> Path:
        """The vectors as one memory-mapped matrix: exact dense search without Chroma."""
        return self.index_dir / "dense"

    @property
    def writer_lock(self) -> Path:
        """Held by the one process writing the index (``store.locks``)."""
        return self.index_dir / ".writer.lock"

    @property
    def writer_info(self) -> Path:
        """Who holds the writer lock: pid, what it does, since when."""
        return self.index_dir / ".writer.json"

    @property
    def chroma_open_lock(self) -> Path:
        """Serialises the first open of the embedded Chroma store."""
        return self.index_dir / ".chroma-open.lock"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def brief_cache(self) -> Path:
        return self.cache_dir / "brief.sqlite3"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def call_log(self) -> Path:
        return self.logs_dir / "calls.sqlite3"

    @property
    def tui_log(self) -> Path:
        return self.logs_dir / "tui.log"

    @property
    def conversations(self) -> Path:
        return self.data_dir / "conversations.sqlite3"

    @property
    def evals_dir(self) -> Path:
        return self.data_dir / "evals"

    @property
    def service_dir(self) -> Path:
        return self.data_dir / "service"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"
