"""The dense snapshot: exact search over the stored vectors, in step with the catalog, Chroma only for what is new.

Everything here runs on a real index (catalog, Chroma, BM25, the local embedder); the
Chroma path is the reference the snapshot must agree with.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from agent.settings import load_settings
from store import dense_snapshot
from store.index import Index
from store.ingest import embed_pending, ingest_paths
from store.retrieve import chroma_top, dense_signal, search
from tests.support.index import build_index
from tests.support.papers_fixture import PAPERS, write_jsonl

QUERIES = [
    "tiny draft model speeds up decoding",
    "coral bleaching forecast from sea temperature",
    "fabricated references in answers",
    "surface code logical qubits",
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_index(tmp_path_factory.mktemp("dense"))


@pytest.fixture
def index(data_dir: Path, tmp_path: Path) -> Iterator[Index]:
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    with Index(load_settings(data_dir=copy).store_config()) as idx:
        yield idx


class _Spy:
    """Counts which chunk ids a refresh asks Chroma for (the real store answers)."""

    def __init__(self, index: Index) -> None:
        self.asked: list[str] = []
        real = index.vectors.get_vectors

        def get_vectors(ids: list[str]) -> dict[str, np.ndarray]:
            self.asked.extend(ids)
            return real(ids)

        index.vectors.get_vectors = get_vectors  # type: ignore[method-assign]


def test_ingest_leaves_a_snapshot_of_every_vector(index: Index) -> None:
    snap = dense_snapshot.load(index.config.dense_dir)
    assert snap is not None, "ingest wrote vectors but no snapshot"
    assert snap.key == dense_snapshot.current_key(index.catalog)
    assert snap.rows == index.vectors.count() == index.catalog.count_chunks()
    assert np.allclose(np.linalg.norm(snap.vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("query", QUERIES)
def test_snapshot_finds_what_chroma_finds(index: Index, query: str) -> None:
    vector = index.embedder.embed([query])[0]
    exact = index.dense().top(vector, 6)
    approx = chroma_top(index, vector, 2, None)[:6]  # n*3 = 6 chunks, as dense_signal asks
    assert [h.chunk_id for h in exact] == [h.chunk_id for h in approx]
    np.testing.assert_allclose([h.similarity for h in exact], [h.similarity for h in approx], atol=1e-4)
    assert all(a.similarity >= b.similarity for a, b in itertools.pairwise(exact))


def test_hybrid_search_is_the_same_either_way(index: Index) -> None:
    cfg = index.config.retrieval
    for query in QUERIES:
        fast = search(index, query, k=5, config=replace(cfg, dense_snapshot=True))
        slow = search(index, query, k=5, config=replace(cfg, dense_snapshot=False))
        assert [h.paper_id for h in fast] == [h.paper_id for h in slow]


def test_a_window_only_scores_its_papers(index: Index) -> None:
    allowed = {"2501.00003", "2501.00005"}
    vector = index.embedder.embed(["speculative decoding draft model"])[0]
    hits = index.dense().top(vector, 10, allowed)
    assert hits and {h.paper_id for h in hits} <= allowed
    assert index.dense().top(vector, 10, {"no-such-paper"}) == []
    signal = dense_signal(index, "speculative decoding draft model", 5, allowed)
    assert set(signal) <= allowed


def test_refresh_reads_only_new_and_rechunked_vectors(index: Index, tmp_path: Path) -> None:
    before = index.dense()
    spy = _Spy(index)
    revised = {**PAPERS[1], "abstract": "A revised abstract about draft models verifying tokens in parallel."}
    new = {"id": "2501.09999", "title": "Kelp Forest Mapping from Drone Imagery",
           "abstract": "We map kelp canopy from drone images with a segmentation network.", "date": "2025-03-14"}
    ingest_paths(index, [write_jsonl(tmp_path / "more.jsonl", [revised, new])])
    snap = dense_snapshot.load(index.config.dense_dir)
    assert snap is not None and snap.key == dense_snapshot.current_key(index.catalog) != before.key
    changed = {cid for cid in snap.chunk_ids.tolist() if cid.startswith(("2501.00002", "2501.09999"))}
    assert changed and set(spy.asked) == changed  # the other papers' vectors came from the old snapshot
    row = snap.chunk_ids.tolist().index(sorted(changed)[0])
    stored = index.vectors.get_vectors([sorted(changed)[0]])[sorted(changed)[0]]
    np.testing.assert_allclose(snap.vectors[row], stored / np.linalg.norm(stored), atol=1e-6)
    assert snap.rows == index.catalog.count_chunks()


def test_lexical_only_ingest_costs_no_chroma_call(index: Index, tmp_path: Path) -> None:
    index.dense()
    spy = _Spy(index)
    new = {"id": "2501.08888", "title": "Seagrass Carbon Burial Rates",
           "abstract": "Seagrass meadows bury carbon; we measure burial rates in twelve bays.", "date": "2025-03-14"}
    ingest_paths(index, [write_jsonl(tmp_path / "lex.jsonl", [new])], lexical_only=True)
    snap = index.dense()
    assert spy.asked == [] and "2501.08888" not in set(snap.paper_ids.tolist())
    embed_pending(index)  # the backfill adds it, reading just that paper's vectors
    snap = index.dense()
    assert "2501.08888" in set(snap.paper_ids.tolist())
    assert spy.asked and all(cid.startswith("2501.08888") for cid in spy.asked)


def test_an_unreadable_snapshot_is_rebuilt(index: Index) -> None:
    directory = index.config.dense_dir
    (directory / "manifest.json").write_text("{not json")
    fresh = Index(index.config)
    try:
        snap = fresh.dense()
        assert snap.rows == index.catalog.count_chunks()
        assert json.loads((directory / "manifest.json").read_text())["rows"] == snap.rows
    finally:
        fresh.close()


def test_search_falls_back_to_chroma_when_the_snapshot_cannot_be_written(index: Index) -> None:
    shutil.rmtree(index.config.dense_dir)
    index.config.dense_dir.write_text("not a folder")  # mkdir fails with an OSError
    fresh = Index(index.config)
    try:
        hits = search(fresh, QUERIES[1], k=3)
        assert hits and hits[0].paper_id == "2501.00003" and hits[0].dense is not None
    finally:
        fresh.close()


def test_a_search_process_sees_vectors_another_process_wrote(index: Index, tmp_path: Path) -> None:
    before = index.dense()
    assert index.dense() is before  # nothing committed since: the cached snapshot, no counting
    new = {"id": "2501.07777", "title": "Mangrove Root Growth under Rising Seas",
           "abstract": "Mangrove roots grow faster as sea level rises, we find in a decade of plots.",
           "date": "2025-03-14"}
    with Index(index.config) as other:  # its own SQLite connection, as another process has
        ingest_paths(other, [write_jsonl(tmp_path / "other.jsonl", [new])])
    after = index.dense()
    assert after.rows > before.rows and "2501.07777" in set(after.paper_ids.tolist())
