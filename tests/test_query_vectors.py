"""A batch's questions are embedded once, together, and searches use those vectors."""

from __future__ import annotations

from pathlib import Path

from store.config import RetrievalConfig, StoreConfig
from store.index import Index
from store.ingest import ingest_paths
from store.retrieve import embed_queries, search
from tests.support.papers_fixture import write_jsonl

DENSE = RetrievalConfig(dense_weight=1.0, bm25_weight=0.0)


def test_embedded_queries_are_reused(tmp_path: Path) -> None:
    with Index(StoreConfig(data_dir=tmp_path / "data")) as index:
        assert embed_queries(index, ["anything"]) == 0  # nothing to compare with yet: no work
        ingest_paths(index, [write_jsonl(tmp_path / "p.jsonl")])
        coral, decoding = "forecasting coral bleaching from the sea", "drafting tokens to speed up generation"
        assert embed_queries(index, [coral, decoding, coral + "  "]) == 2
        assert embed_queries(index, [coral]) == 0  # already there
        assert search(index, coral, k=1, config=DENSE)[0].paper_id == "2501.00003"
        # the stored vector is what search uses: swap them and the dense results follow the vector
        index.query_vectors[coral], index.query_vectors[decoding] = (
            index.query_vectors[decoding], index.query_vectors[coral]
        )
        assert search(index, coral, k=1, config=DENSE)[0].paper_id == "2501.00002"
