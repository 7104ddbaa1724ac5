"""BM25 stays in step with the catalog by adding segments, not by rebuilding the corpus."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from store import bm25
from store.catalog import Catalog
from store.chunking import chunk_paper
from store.papers import Paper

WORDS = [
    "graph", "neural", "network", "transformer", "protein", "climate", "robot", "speech", "vision", "language",
    "retrieval", "diffusion", "agent", "reasoning", "benchmark", "sparse", "quantum", "molecule", "traffic",
    "satellite", "medical", "image", "planning",
]


def _papers(start: int, n: int, seed: int) -> list[Paper]:
    rng = random.Random(seed)
    return [
        Paper(id=f"2503.{i:05d}", title=f"On {' '.join(rng.sample(WORDS, 2))} {i}",
              abstract=" ".join(rng.choice(WORDS) for _ in range(40)))
        for i in range(start, start + n)
    ]


def _put(catalog: Catalog, papers: list[Paper]) -> None:
    with catalog.transaction() as db:
        for p in papers:
            catalog.put(db, p, chunk_paper(p, size=256, overlap=0))


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    cat = Catalog(tmp_path / "catalog.sqlite3")
    _put(cat, _papers(0, 300, seed=1))
    return cat


def _full(catalog: Catalog, tmp: Path) -> bm25.Bm25Index:
    """A from-scratch build of the same catalog, for comparison."""
    return bm25.refresh(catalog, tmp / "full")


def test_adding_a_day_builds_one_small_segment(catalog: Catalog, tmp_path: Path) -> None:
    directory = tmp_path / "bm25"
    first = bm25.refresh(catalog, directory)
    assert len(first.segments) == 1 and first.size == catalog.count_chunks()
    _put(catalog, _papers(300, 20, seed=2))
    second = bm25.refresh(catalog, directory)
    assert [s.name for s in second.segments[:1]] == [first.segments[0].name]  # the old one is untouched
    assert len(second.segments) == 2 and second.segments[1].rows == 20
    assert second.generation == catalog.generation
    # global IDF: the two-segment index ranks like one built from scratch
    full = _full(catalog, tmp_path)
    for query in ("quantum molecule", "robot planning benchmark", "satellite traffic 305"):
        got = [cid for cid, _, _ in second.top(query, 10)]
        want = [cid for cid, _, _ in full.top(query, 10)]
        assert got[:3] == want[:3], query
        assert len(set(got) & set(want)) >= 8


def test_replaced_and_removed_chunks_are_masked(catalog: Catalog, tmp_path: Path) -> None:
    directory = tmp_path / "bm25"
    bm25.refresh(catalog, directory)
    old = catalog.get("2503.00007")
    assert old is not None
    changed = Paper(id=old.id, title=old.title, abstract="Axolotl regeneration studied in detail.")
    _put(catalog, [changed])
    with catalog.transaction() as db:
        catalog.remove(db, "2503.00008")
    index = bm25.refresh(catalog, directory)
    assert index.segments[0].masked  # the old rows are masked, not rebuilt
    assert index.size == catalog.count_chunks()
    assert [pid for _, pid, _ in index.top("axolotl regeneration", 5)] == ["2503.00007"]
    found = {pid for _, pid, _ in index.top(old.abstract, 400)}
    assert "2503.00008" not in found
    assert {pid for _, pid, _ in index.top(old.title, 400)} >= {"2503.00007"}  # the title is still there


def test_many_days_merge_into_few_segments(catalog: Catalog, tmp_path: Path) -> None:
    directory = tmp_path / "bm25"
    bm25.refresh(catalog, directory)
    for day in range(bm25.MAX_SEGMENTS + 3):
        _put(catalog, _papers(1000 + 10 * day, 10, seed=10 + day))
        index = bm25.refresh(catalog, directory)
        assert len(index.segments) <= bm25.MAX_SEGMENTS
    assert index.size == catalog.count_chunks()
    reloaded = bm25.load(directory)
    assert reloaded is not None and reloaded.generation == catalog.generation
    assert len({p.name for p in directory.iterdir() if p.is_dir()}) == len(index.segments)  # old ones cleaned


def test_window_filter_and_broken_manifest(catalog: Catalog, tmp_path: Path) -> None:
    directory = tmp_path / "bm25"
    index = bm25.refresh(catalog, directory)
    allowed = {f"2503.{i:05d}" for i in range(0, 300, 7)}
    hits = index.top("quantum molecule robot", 20, allowed)
    assert hits and {pid for _, pid, _ in hits} <= allowed
    assert [s for _, _, s in hits] == sorted((s for _, _, s in hits), reverse=True)
    (directory / "manifest.json").write_text("{not json", encoding="utf-8")
    assert bm25.load(directory) is None
    rebuilt = bm25.refresh(catalog, directory)
    assert rebuilt.size == catalog.count_chunks()


def test_catalog_from_before_lexical_first_keeps_its_vectors(tmp_path: Path) -> None:
    """An old catalog (no ``embedded``/``added`` columns) opens as fully embedded and indexes as one segment."""
    import sqlite3

    path = tmp_path / "catalog.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE chunks (id TEXT PRIMARY KEY, paper_id TEXT NOT NULL, seq INTEGER NOT NULL,"
            " text TEXT NOT NULL);"
            "INSERT INTO chunks VALUES ('a#0', 'a', 0, 'old axolotl text'), ('b#0', 'b', 0, 'old newt text');"
        )
    catalog = Catalog(path)
    assert catalog.dense_coverage() == (2, 2) and catalog.count_pending() == 0
    index = bm25.refresh(catalog, tmp_path / "bm25")
    assert [pid for _, pid, _ in index.top("axolotl", 5)] == ["a"]
    _put(catalog, _papers(0, 3, seed=3))
    assert catalog.count_pending() == 3  # new chunks wait for their vectors
    assert len(bm25.refresh(catalog, tmp_path / "bm25").segments) == 2
