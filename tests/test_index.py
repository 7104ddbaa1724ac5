"""Ingest and hybrid search end to end on a real embedded Chroma and the real local model."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from store.config import RetrievalConfig, StoreConfig
from store.index import Index
from store.ingest import ingest_papers, ingest_paths
from store.papers import Paper, title_hash_id
from store.retrieve import fuse, search
from tests.support.papers_fixture import PAPERS, write_jsonl


@pytest.fixture
def config(tmp_path: Path) -> StoreConfig:
    return StoreConfig(data_dir=tmp_path / "data")


@pytest.fixture
def index(config: StoreConfig, tmp_path: Path) -> Index:
    idx = Index(config)
    ingest_paths(idx, [write_jsonl(tmp_path / "in" / "papers.jsonl")])
    yield idx
    idx.close()


def test_ingest_counts_and_consistency(index: Index) -> None:
    assert index.catalog.count_papers() == len(PAPERS)
    # every chunk in the catalog has exactly one vector, and no other vectors exist
    ids, _, _ = index.catalog.all_chunks()
    assert sorted(index.vectors.all_ids()) == sorted(ids)
    assert index.bm25().generation == index.catalog.generation


def test_reingest_is_a_no_op(index: Index, tmp_path: Path) -> None:
    gen = index.catalog.generation
    report = ingest_paths(index, [tmp_path / "in" / "papers.jsonl"])
    assert (report.new, report.updated, report.unchanged) == (0, 0, len(PAPERS))
    assert report.chunks_written == 0
    assert index.catalog.generation == gen
    assert index.vectors.count() == index.catalog.count_chunks()


def test_changed_abstract_replaces_chunks(index: Index, tmp_path: Path) -> None:
    changed = [dict(p) for p in PAPERS]
    changed[2]["abstract"] = "Penguins in Antarctica are counted from space with very high resolution imagery."
    report = ingest_paths(index, [write_jsonl(tmp_path / "in2" / "papers.jsonl", changed)])
    assert (report.new, report.updated) == (0, 1)
    hits = search(index, "counting penguins from satellites", k=1)
    assert hits[0].paper_id == "2501.00003"
    assert "Penguins" in hits[0].snippet
    assert sorted(index.vectors.all_ids()) == sorted(index.catalog.all_chunks()[0])


def test_listing_dates_merge_across_sightings(index: Index) -> None:
    again = Paper.from_json({**PAPERS[0], "listing_dates": ["2025-03-17"], "sources": ["hf-api"]})
    report = ingest_papers(index, [again])
    assert report.updated == 1 and report.chunks_written == 0  # metadata only, no re-embed
    stored = index.catalog.get("2501.00001")
    assert stored is not None
    assert stored.listing_dates == (date(2025, 3, 10), date(2025, 3, 17))
    assert "hf-api" in stored.sources


def test_title_hash_record_upgrades_to_arxiv_id(config: StoreConfig) -> None:
    with Index(config) as idx:
        title = "Sparse Mixture of Experts for Weather Forecasting"
        page = Paper(
            id=title_hash_id(title),
            title=title,
            abstract="A sparse mixture of experts forecasts weather at kilometre scale.",
            listing_dates=(date(2025, 3, 13),),
            sources=("hf-page:x.txt",),
        )
        ingest_papers(idx, [page])
        api = replace(
            page,
            id="2503.99999",
            arxiv_id="2503.99999",
            title=title.upper(),  # different case, same paper
            listing_dates=(date(2025, 3, 14),),
            sources=("hf-api",),
            upvotes=12,
        )
        ingest_papers(idx, [api])
        assert idx.catalog.count_papers() == 1
        merged = idx.catalog.get("2503.99999")
        assert merged is not None and idx.catalog.get(page.id) is None
        assert merged.listing_dates == (date(2025, 3, 13), date(2025, 3, 14))
        assert sorted(idx.vectors.all_ids()) == ["2503.99999#0"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("making inference of big language models faster with a small helper model", "2501.00002"),
        ("predicting when corals turn white from ocean heat seen by satellites", "2501.00003"),
        ("robots picking up glass cups", "2501.00006"),
        ("fake references produced by chatbots", "2501.00004"),
    ],
)
def test_search_by_meaning(index: Index, question: str, expected: str) -> None:
    hits = search(index, question, k=3)
    assert hits[0].paper_id == expected
    assert hits[0].score >= hits[-1].score


def test_search_exact_term_via_bm25(index: Index) -> None:
    hits = search(index, "surface codes", k=2)
    assert hits[0].paper_id == "2501.00005"
    assert hits[0].bm25 is not None and hits[0].bm25 > 0


def test_search_date_window(index: Index) -> None:
    hits = search(index, "language models", k=10, since=date(2025, 3, 13), until=date(2025, 3, 13))
    assert {h.paper_id for h in hits} <= {"2501.00007", "2501.00008"}
    assert hits
    assert search(index, "language models", since=date(2024, 1, 1), until=date(2024, 1, 2)) == []


def test_hit_json_shape(index: Index) -> None:
    hit = search(index, "protein folding", k=1)[0]
    data = hit.to_json()
    assert list(data) == ["paper_id", "title", "date", "score", "snippet"]
    assert data["paper_id"] == "2501.00008" and data["date"] == "2025-03-13"
    json.dumps(data)


def test_bm25_rebuilds_when_stale(index: Index, config: StoreConfig) -> None:
    """A BM25 saved before a catalog change (e.g. a crash) is detected and rebuilt."""
    saved_gen = index.bm25().generation
    extra = Paper(id="2501.00099", title="Dinosaur Feathers in Amber", abstract="Feathers preserved in amber.")
    # write the catalog row without rebuilding BM25, as a crash after commit would leave it
    with index.catalog.transaction() as db:
        from store.chunking import chunk_paper

        index.catalog.put(db, extra, chunk_paper(extra, size=128, overlap=0))
    with Index(config) as fresh:
        assert fresh.catalog.generation > saved_gen
        hits = search(fresh, "amber feathers", k=1, config=RetrievalConfig(dense_weight=0.0, bm25_weight=1.0))
        assert hits and hits[0].paper_id == "2501.00099"


def test_fusion_methods() -> None:
    bm25 = {"a": (10.0, "a#0"), "b": (5.0, "b#0"), "c": (1.0, "c#0")}
    dense = {"c": (0.9, "c#0"), "b": (0.8, "b#0"), "d": (0.1, "d#0")}
    score = fuse(bm25, dense, RetrievalConfig(fusion="score", bm25_weight=0.5, dense_weight=0.5))
    # b: 0.5*(4/9) + 0.5*(0.7/0.8) = 0.66; a and c: 0.5 each (tie broken by id); d: 0
    assert [p for p, _ in score] == ["b", "a", "c", "d"]
    assert dict(score)["b"] == pytest.approx(0.5 * 4 / 9 + 0.5 * 0.7 / 0.8)
    rrf = fuse(bm25, dense, RetrievalConfig(fusion="rrf", rrf_k=60, bm25_weight=1.0, dense_weight=1.0))
    assert [p for p, _ in rrf] == ["c", "b", "a", "d"]  # 1/63+1/61 > 2/62 > 1/61 > 1/63
    only_dense = fuse(bm25, dense, RetrievalConfig(fusion="score", bm25_weight=0.0, dense_weight=1.0))
    assert only_dense[0][0] == "c"


def test_search_restricted_to_selected_papers(index: Index) -> None:
    hits = search(index, "robots grasping glass", k=5, paper_ids={"2501.00003", "2501.00008"})
    assert {h.paper_id for h in hits} <= {"2501.00003", "2501.00008"} and hits
    assert search(index, "robots", paper_ids=set()) == []
