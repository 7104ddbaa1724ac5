"""A Chroma server that stops answering (SIGSTOP) or dies (SIGKILL): one line, within the deadline.

Before: ``search`` against a stopped server hung for ever (chromadb's client has no timeout),
and a server killed mid-ingest or mid-search ended in a 107-line ``httpx.ConnectError``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from store.config import StoreConfig
from store.errors import IndexUnavailable
from store.index import Index
from store.ingest import ingest_paths
from tests.support.chroma_server import ChromaServer
from tests.support.papers_fixture import write_jsonl


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChromaServer]:
    srv = ChromaServer(tmp_path).start()
    try:
        yield srv
    finally:
        srv.kill()


def _config(tmp_path: Path, server: ChromaServer) -> StoreConfig:
    return StoreConfig(
        data_dir=tmp_path / "data", chroma_host=server.host, chroma_port=server.port,
        chroma_connect_timeout_s=1.5, chroma_timeout_s=2.0,
    )


def test_a_stopped_server_ends_queries_and_opens_within_the_deadline(tmp_path: Path, server: ChromaServer) -> None:
    config = _config(tmp_path, server)
    with Index(config) as index:
        ingest_paths(index, [write_jsonl(tmp_path / "p.jsonl")])
        vector = np.ones(len(next(iter(index.vectors.get_vectors(index.vectors.all_ids()[:1]).values()))))
        server.pause()
        try:
            started = time.monotonic()
            with pytest.raises(IndexUnavailable) as caught:
                index.vectors.query(vector.astype(np.float32), 3)
            elapsed = time.monotonic() - started
        finally:
            server.resume()
    assert elapsed < 9.0, elapsed  # 2 s query deadline (count + query), not for ever
    message = str(caught.value)
    assert "did not finish" in message and "PAPERBRIEF_CHROMA_TIMEOUT" in message and "\n" not in message

    server.pause()
    try:
        started = time.monotonic()
        with Index(config) as index, pytest.raises(IndexUnavailable) as caught:
            index.vectors.count()
        elapsed = time.monotonic() - started
    finally:
        server.resume()
    assert elapsed < 6.0, elapsed  # 1.5 s connect deadline
    assert "did not answer within 1.5 s (PAPERBRIEF_CHROMA_CONNECT_TIMEOUT)" in str(caught.value)


def test_search_against_a_stopped_server_is_one_line_exit_1(tmp_path: Path, server: ChromaServer) -> None:
    config = _config(tmp_path, server)
    with Index(config) as index:
        ingest_paths(index, [write_jsonl(tmp_path / "p.jsonl")])
    env = {
        **os.environ, "PAPERBRIEF_DATA_DIR": str(config.data_dir), "CHROMA_HOST": server.host,
        "CHROMA_PORT": str(server.port), "PAPERBRIEF_CHROMA_CONNECT_TIMEOUT": "1.5",
        "PAPERBRIEF_CHROMA_TIMEOUT": "2",
    }

    def search() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agent", "search", "robot grasping glass", "--json"],
                              env=env, capture_output=True, text=True, timeout=120)

    server.pause()
    try:
        ready = search()  # the vector snapshot is in step with the catalog: no call to the server
        shutil.rmtree(config.dense_dir)
        stale = search()  # now the vectors must be read from the server, which does not answer
    finally:
        server.resume()
    assert ready.returncode == 0, ready.stderr
    assert json.loads(ready.stdout)["hits"][0]["paper_id"] == "2501.00006"
    assert stale.returncode == 1
    lines = stale.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the Chroma server at"), stale.stderr


def test_a_server_killed_mid_search_or_mid_ingest_is_one_line(tmp_path: Path, server: ChromaServer) -> None:
    config = _config(tmp_path, server)
    with Index(config) as index:
        ingest_paths(index, [write_jsonl(tmp_path / "p.jsonl")])
        dim = len(next(iter(index.vectors.get_vectors(index.vectors.all_ids()[:1]).values())))
        server.kill()
        with pytest.raises(IndexUnavailable) as searching:
            index.vectors.query(np.ones(dim, dtype=np.float32), 3)
        with pytest.raises(IndexUnavailable) as writing:
            index.vectors.upsert(["x#0"], np.ones((1, dim), dtype=np.float32), ["x"], [{"paper_id": "x"}])
    for caught in (searching, writing):
        assert "Chroma server at" in str(caught.value) and "\n" not in str(caught.value)
        assert caught.value.exit_code == 1
    with pytest.raises(IndexUnavailable) as reopening:
        Index(replace(config)).vectors.count()
    assert str(reopening.value).startswith(f"cannot reach the Chroma server at {server.host}:{server.port}")
