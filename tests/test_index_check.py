"""``paperbrief index check [--repair]`` on a real index with real damage done to Chroma and BM25."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from store.config import StoreConfig
from store.index import Index
from store.retrieve import search
from tests.support.cli import run
from tests.support.papers_fixture import PAPERS, write_jsonl


def test_check_finds_and_repair_fixes_missing_orphan_and_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(["ingest", str(write_jsonl(tmp_path / "p.jsonl")), "--json"], capsys)
    assert code == 0
    code, out, err = run(["index", "check", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["ok"] is True

    config = StoreConfig(data_dir=tmp_path / "data")
    with Index(config) as index:
        chunk_ids = sorted(index.catalog.all_chunks()[0])
        target = next(c for c in chunk_ids if c.startswith("2501.00005#"))
        index.vectors.delete([target])  # a vector lost
        dim = len(next(iter(index.vectors.get_vectors([chunk_ids[0]]).values())))
        index.vectors.upsert(  # a vector no paper owns
            ["9999.00001#0"], np.ones((1, dim), dtype=np.float32), ["ghost"], [{"paper_id": "9999.00001"}]
        )
    shutil.rmtree(config.bm25_dir)  # BM25 gone

    code, out, err = run(["index", "check", "--json"], capsys)
    found = json.loads(out)
    assert code == 1 and "--repair" in err and err.count("\n") == 1
    assert found["missing_vectors"] == [target]
    assert found["orphan_vectors"] == ["9999.00001#0"]
    assert found["bm25_stale"] is True and found["bm25_chunks"] == 0

    code, out, err = run(["index", "check", "--repair", "--json"], capsys)
    repaired = json.loads(out)
    assert code == 0, err
    assert repaired["repaired_chunks"] == 1 and repaired["ok_after"] is True

    code, out, _ = run(["index", "check", "--json"], capsys)
    assert code == 0 and json.loads(out)["ok"] is True
    with Index(config) as index:
        assert set(index.vectors.all_ids()) == set(chunk_ids)
        # the re-embedded paper is found again by meaning alone
        dense = index.vectors.query(np.asarray(index.embedder.embed_query(PAPERS[4]["title"])), 1)
        assert dense[0].paper_id == "2501.00005"
        assert search(index, "quantum computers that correct their own errors", k=1)[0].paper_id == "2501.00005"


def test_a_lexical_only_index_is_consistent_with_its_vectors_pending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(["ingest", str(write_jsonl(tmp_path / "p.jsonl")), "--lexical-only", "--json"], capsys)
    assert code == 0
    code, out, err = run(["index", "check", "--json"], capsys)
    found = json.loads(out)
    assert code == 0, err
    assert found["ok"] is True and found["missing_vectors"] == []
    assert found["pending_vectors"] == found["catalog_chunks"] > 0
    code, _, _ = run(["index", "embed", "--json"], capsys)
    code, out, _ = run(["index", "check", "--json"], capsys)
    assert code == 0 and json.loads(out)["pending_vectors"] == 0
