"""The eval response cache: recorded responses carried from run to run through baselines.

Replay itself is the core's :class:`~agent.llm.cached.CachedLLM` (the brief uses the same
wrapper); what is eval-specific lives here. A run exports the entries it used into
``results.json``; an accepted baseline carries them into the repository, and the next run
seeds its cache from the baselines, which is what lets CI on a clean machine re-evaluate
without running the model again. The key format (:func:`~agent.llm.cached.request_key`)
is what the committed baselines are keyed by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agent.llm.cached import CachedLLM, CacheStats, Entry, ResponseStore, request_key

__all__ = ["CacheStats", "CachedLLM", "Entry", "ResponseCache", "request_key"]


class ResponseCache(ResponseStore):
    """The eval run's response store (``<cache dir>/responses.sqlite3``), seeded from baselines."""

    def seed(self, entries: Mapping[str, Mapping[str, Any]]) -> int:
        """Add recorded entries (from a baseline) that the cache lacks; returns how many were new."""
        return self.put_many(entries, created="seeded", replace=False)

    def export(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The entries for ``keys`` (those this run used), for ``results.json`` and baselines."""
        return self.entries(keys)
