"""Index fixtures: a real index (catalog, Chroma, BM25) built once per test module from fixture papers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.settings import load_settings
from store.index import Index
from store.ingest import ingest_paths
from tests.support.papers_fixture import PAPERS, write_jsonl


def build_index(root: Path, papers: Sequence[dict[str, Any]] = PAPERS, *, files: Sequence[Path] = ()) -> Path:
    """``papers`` (and any source ``files``) ingested under ``root/data``; returns the data dir."""
    sources = [write_jsonl(root / "p.jsonl", list(papers))] if papers else []
    with Index(load_settings(data_dir=root / "data").store_config()) as idx:
        ingest_paths(idx, [*sources, *files])
    return root / "data"
