"""Several paperbrief processes on one data dir, as a lab runs them: real processes, several trials.

Before: 6 processes opening a fresh data dir failed with "table collections already exists"
or "database is locked" (65-line tracebacks); two ingests wrote the store at once. Now the
first open is serialised, the index id is created atomically, and writers take turns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store.config import StoreConfig
from store.index import Index
from store.locks import writer_lock
from tests.support.papers_fixture import write_jsonl

TOPICS = ["graph", "protein", "climate", "robot", "speech", "vision", "quantum", "traffic", "privacy"]


def papers(prefix: str, n: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"{prefix}.{i:05d}",
            "title": f"On {TOPICS[i % len(TOPICS)]} and {TOPICS[(i * 5 + 1) % len(TOPICS)]} {prefix} {i}",
            "abstract": f"We study {TOPICS[i % len(TOPICS)]} in setting {prefix}-{i} with a new method.",
            "authors": ["A. Author"],
            "date": f"2025-02-{1 + i % 28:02d}",
        }
        for i in range(n)
    ]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "agent", *args]


#: A CLI run that first imports everything, then waits for ``go`` to appear: the processes
#: then open the data dir within milliseconds of each other, as a race needs.
_STARTING_GUN = (
    "import sys, time, pathlib; import chromadb, agent.cli.app as app; import store.vectors;"
    " go = pathlib.Path(sys.argv[1]);"
    " [time.sleep(0.01) for _ in iter(lambda: go.exists(), True)];"
    " app.main(sys.argv[2:])"
)


def finish(procs: list[subprocess.Popen[str]], timeout: float = 240) -> list[tuple[int, str, str]]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=timeout)
        out.append((proc.returncode, stdout, stderr))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(2))
def test_six_processes_open_a_fresh_data_dir_at_once(tmp_path: Path, trial: int) -> None:
    data = tmp_path / f"fresh-{trial}"
    env = {**os.environ, "PAPERBRIEF_DATA_DIR": str(data)}
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", _STARTING_GUN, str(go), "stats", "--json"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    time.sleep(15)  # every process imported and is polling for the gun (they are idle meanwhile)
    go.touch()
    results = finish(procs)
    for code, _, stderr in results:
        assert code == 0, stderr
        assert "Traceback" not in stderr
    collections = {json.loads(stdout)["collection"] for _, stdout, _ in results}
    assert len(collections) == 1  # one index id, not one per racing process
    import chromadb

    client = chromadb.PersistentClient(path=str(StoreConfig(data_dir=data).chroma_dir))
    assert [c.name for c in client.list_collections()] == list(collections)


@pytest.mark.slow
def test_a_second_writer_waits_names_the_holder_and_readers_do_not_block(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "p.jsonl")
    config = StoreConfig(data_dir=tmp_path / "data")
    with writer_lock(config.index_dir, "test ingest"):
        busy = subprocess.run(cli("ingest", str(source), "--no-wait"), capture_output=True, text=True, timeout=120)
        assert busy.returncode == 1
        assert busy.stderr.strip().splitlines()[-1].startswith(
            f"error: another test ingest (pid {os.getpid()}) is writing to"
        )
        assert "Traceback" not in busy.stderr

        reader = subprocess.run(cli("stats", "--json"), capture_output=True, text=True, timeout=120)
        assert reader.returncode == 0, reader.stderr  # readers never take the writer lock

        log = tmp_path / "second.err"
        with log.open("w") as sink:
            waiting = subprocess.Popen(cli("ingest", str(source), "--json"), stdout=subprocess.PIPE,
                                       stderr=sink, text=True)
        expected = f"waiting for another test ingest (pid {os.getpid()}) to finish…"
        deadline = time.monotonic() + 150
        while expected not in log.read_text() and waiting.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert expected in log.read_text(), log.read_text()
        time.sleep(1.0)
        assert waiting.poll() is None, "the second writer did not wait for the lock"
        assert _papers(config) == 0
    stdout, _ = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, log.read_text()
    assert json.loads(stdout)["new"] == 8


def _papers(config: StoreConfig) -> int:
    if not config.catalog_path.exists():
        return 0
    with Index(config) as index:
        return index.catalog.count_papers()


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(2))
def test_four_concurrent_ingests_leave_one_consistent_index(tmp_path: Path, trial: int) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "PAPERBRIEF_DATA_DIR": str(data)}
    files = [write_jsonl(tmp_path / f"in{i}.jsonl", papers(f"25{trial}{i}", 25)) for i in range(4)]
    procs = [
        subprocess.Popen(cli("ingest", str(f), "--json"), env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for f in files
    ]
    results = finish(procs)
    for code, _, stderr in results:
        assert code == 0, stderr
    assert sum(json.loads(stdout)["new"] for _, stdout, _ in results) == 100
    check = subprocess.run(cli("index", "check", "--json"), env=env, capture_output=True, text=True, timeout=240)
    report = json.loads(check.stdout)
    assert check.returncode == 0, check.stderr
    assert report["catalog_chunks"] == report["vectors"] == report["bm25_chunks"] or report["bm25_stale"] is False
    assert report["ok"] is True and report["unfindable_vectors"] == []
