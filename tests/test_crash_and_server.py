"""Crash safety with a real SIGKILL, and the same index behind a real `chroma run` server."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.config import StoreConfig
from store.index import Index
from store.ingest import ingest_paths
from store.retrieve import search
from tests.support.papers_fixture import write_jsonl

WORDS = [
    "graph",
    "neural",
    "network",
    "transformer",
    "protein",
    "climate",
    "robot",
    "speech",
    "vision",
    "language",
    "retrieval",
    "diffusion",
    "agent",
    "reasoning",
    "benchmark",
    "sparse",
    "quantum",
    "molecule",
    "traffic",
    "satellite",
    "medical",
    "image",
    "segmentation",
    "translation",
    "planning",
    "reward",
    "policy",
    "memory",
    "attention",
    "kernel",
    "compiler",
    "privacy",
]


def synthetic_papers(n: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    papers = []
    for i in range(n):
        topic = " ".join(rng.sample(WORDS, 3))
        body = " ".join(rng.choice(WORDS) for _ in range(60))
        papers.append(
            {
                "id": f"2502.{i:05d}",
                "title": f"On {topic} number {i}",
                "abstract": f"We study {topic}. {body}.",
                "authors": ["A. Author"],
                "date": f"2025-02-{1 + i % 28:02d}",
            }
        )
    return papers


def _embedded_count(path: Path) -> int:
    """Chunks whose vectors are written, read the way another process would."""
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 1").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_kill_mid_ingest_then_resume(tmp_path: Path) -> None:
    total = 400  # more than one embedding step (store.ingest.EMBED_BATCH = 256 chunks)
    source = write_jsonl(tmp_path / "in" / "many.jsonl", synthetic_papers(total))
    data_dir = tmp_path / "data"
    config = StoreConfig(data_dir=data_dir)
    env = {**os.environ, "PAPERBRIEF_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "ingest", str(source), "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 600  # one embedding step; slow on a loaded machine
    while _embedded_count(config.catalog_path) == 0 and proc.poll() is None:
        assert time.monotonic() < deadline, "ingest never wrote a batch of vectors"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "ingest finished before it could be killed"

    with Index(config) as idx:
        # killed while embedding: every paper is catalogued and searchable, vectors are partial
        assert idx.catalog.count_papers() == total
        embedded, chunks = idx.catalog.dense_coverage()
        assert 0 < embedded < chunks
        assert set(idx.vectors.all_ids()) <= set(idx.catalog.all_chunks()[0])
        hits = search(idx, "quantum molecule", k=5)  # the killed index still answers
        assert hits and all(h.paper_id.startswith("2502.") for h in hits)

    with Index(config) as idx:
        report = ingest_paths(idx, [source])
        assert report.new == 0 and report.unchanged == total
        assert report.chunks_written == chunks - embedded and report.chunks_pending == 0
        chunk_ids = idx.catalog.all_chunks()[0]
        vector_ids = idx.vectors.all_ids()
        assert idx.catalog.count_papers() == total
        assert len(vector_ids) == len(set(vector_ids)) == len(chunk_ids)
        assert set(vector_ids) == set(chunk_ids)
        assert idx.bm25().generation == idx.catalog.generation


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real ``chroma run`` on loopback, in a temp dir, for the duration of this module."""
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(exe).exists():
        pytest.skip("the `chroma` CLI from chromadb is not installed")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("w")
    proc = subprocess.Popen(
        [exe, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"chroma run did not start: {(path / 'server.log').read_text()[-2000:]}")
        time.sleep(0.2)
    yield "127.0.0.1", port
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_server_mode_and_separate_data_dirs(chroma_server: tuple[str, int], tmp_path: Path) -> None:
    host, port = chroma_server
    source = write_jsonl(tmp_path / "in" / "p.jsonl")
    one = StoreConfig(data_dir=tmp_path / "one", chroma_host=host, chroma_port=port)
    two = StoreConfig(data_dir=tmp_path / "two", chroma_host=host, chroma_port=port)
    with Index(one) as a:
        ingest_paths(a, [source])
        assert not one.chroma_dir.exists(), "server mode must not write an embedded store"
        assert search(a, "glass objects grasped by a robot", k=1)[0].paper_id == "2501.00006"
        n_vectors = a.vectors.count()
    with Index(two) as b:
        assert b.collection_name != Index(one).collection_name
        assert b.vectors.count() == 0  # same server, separate index
        ingest_paths(b, [write_jsonl(tmp_path / "in2" / "p.jsonl", synthetic_papers(5))])
        assert b.vectors.count() == 5
    with Index(one) as a:
        assert a.vectors.count() == n_vectors
