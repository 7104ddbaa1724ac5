"""What the TUI's screens and thread workers share: settings, the model, the index, session usage.

Kept free of Textual so it can be reasoned about (and tested) as plain Python. The rules
it enforces are the ones that make a long-running app safe:

* every worker thread opens its **own** ``Index`` (the catalog's SQLite connection and
  BM25 cache are not meant to cross threads), but all of them share one embedder, so
  a question does not pay for loading the ONNX model again;
* the model is built once, lazily, off the UI thread (an OpenAI-compatible server is
  asked for its model list, which can take a while), and swapped atomically by ``/model``;
* tokens and cost are summed across everything the session ran, for the status bar.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from agent.ask.pipeline import AskOptions
from agent.llm.base import LLM, Usage
from agent.runtime import ask_options, build_llm
from agent.runtime import open_index as _open_index
from agent.settings import Settings
from store.catalog import Catalog
from store.index import Index

log = logging.getLogger(__name__)


class Session:
    """One TUI session's shared state. Methods marked *any thread* are safe from workers."""

    def __init__(self, settings: Settings, *, model: str | None = None) -> None:
        self.settings = settings
        self.model_override = model
        self._llm: LLM | None = None
        self._lock = threading.Lock()
        self._root: Index | None = None  # opened on first use; threads get views of it
        self._usage = Usage()
        self._cost = 0.0
        self._catalog: Catalog | None = None

    # --- the model -------------------------------------------------------------------
    def llm(self) -> LLM:
        """The current model, built on first use (*any thread*; raises ``ConfigError``)."""
        with self._lock:
            if self._llm is None:
                self._llm = build_llm(self.settings, self.model_override)
            return self._llm

    def switch_model(self, name: str) -> LLM:
        """Build ``name`` and make it current only if that worked (*any thread*)."""
        llm = build_llm(self.settings, name)
        with self._lock:
            self._llm = llm
            self.model_override = name
        return llm

    @property
    def model_name(self) -> str | None:
        """The current model's name, or None before it was built."""
        return self._llm.name if self._llm is not None else None

    # --- the index -------------------------------------------------------------------
    def open_index(self) -> Index:
        """An ``Index`` for the calling thread (*any thread*): its own catalog connection, and the
        session's one embedder, Chroma client and BM25 (see ``Index.for_thread``)."""
        with self._lock:
            if self._root is None:
                self._root = _open_index(self.settings)
            return self._root.for_thread()

    @contextmanager
    def index(self) -> Iterator[Index]:
        """``with session.index() as idx``: an index opened and closed by the calling thread."""
        idx = self.open_index()
        try:
            yield idx
        finally:
            idx.close()

    @property
    def catalog(self) -> Catalog:
        """The UI thread's own catalog, for instant small reads (a paper by id, the count)."""
        if self._catalog is None:
            self._catalog = Catalog(self.settings.store_config().catalog_path)
        return self._catalog

    def listing_weeks(self) -> list[date]:
        """Mondays of the weeks that have listings, newest first (the brief's week picker)."""
        from datetime import timedelta

        first, last = self.catalog.listing_range()
        if first is None or last is None:
            return []
        monday = last - timedelta(days=last.weekday())
        weeks: list[date] = []
        while monday + timedelta(days=6) >= first:
            if self.catalog.paper_ids_in_window(monday, monday + timedelta(days=6)):
                weeks.append(monday)
            monday -= timedelta(days=7)
        return weeks

    # --- options and accounting ------------------------------------------------------
    def ask_options(self, scope: tuple[str, ...] = (), k: int = 6) -> AskOptions:
        """The options ``paperbrief ask`` uses; ``scope`` limits retrieval to those papers."""
        return ask_options(self.settings, k=k, paper_ids=scope)

    def record(self, usage: Usage, cost_usd: float) -> None:
        """Add one finished call's tokens and cost to the session totals (*any thread*)."""
        with self._lock:
            self._usage = self._usage + usage
            self._cost += cost_usd

    @property
    def tokens(self) -> int:
        return self._usage.total_tokens

    @property
    def cost_usd(self) -> float:
        return self._cost

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        if self._root is not None:
            self._root.close()
            self._root = None
