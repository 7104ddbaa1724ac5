"""Every failure ends in one line and the right exit code; ``--debug`` alone shows a traceback.

Before: a locked SQLite file, a model server sending non-UTF-8 bytes and any unexpected
exception each ended in a traceback of 60 to 110 lines.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from store.config import StoreConfig
from tests.support.cli import run
from tests.support.loopback import LoopbackServer, Reply
from tests.support.papers_fixture import write_jsonl


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = StoreConfig(data_dir=tmp_path / "data").catalog_path
    catalog.parent.mkdir(parents=True)
    catalog.write_bytes(b"this is not a SQLite file at all " * 200)
    code, _, err = run(["stats"], capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        "error: internal error: DatabaseError: file is not a database; rerun with --debug for the traceback"
    ]
    code, _, err = run(["--debug", "stats"], capsys)
    assert code == 1
    assert err.startswith("Traceback (most recent call last):")
    assert err.strip().splitlines()[-1].startswith("error: internal error: DatabaseError")


def test_a_catalog_locked_by_another_process_is_one_service_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_jsonl(tmp_path / "p.jsonl")
    code, _, _ = run(["ingest", str(src), "--json"], capsys)
    assert code == 0
    monkeypatch.setenv("PAPERBRIEF_DB_BUSY_TIMEOUT", "1")
    holder = sqlite3.connect(StoreConfig(data_dir=tmp_path / "data").catalog_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process mid-write, for longer than the busy timeout
    try:
        code, _, err = run(["ingest", str(write_jsonl(tmp_path / "q.jsonl", _more())), "--json"], capsys)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "locked by another paperbrief process" in lines[0], err
    assert "PAPERBRIEF_DB_BUSY_TIMEOUT" in lines[0]


def _more() -> list[dict[str, object]]:
    return [{"id": "2601.00001", "title": "A new paper on sparse kernels", "abstract": "We make kernels sparse.",
             "authors": ["B. Author"], "date": "2026-01-05"}]


def test_ask_against_a_server_sending_non_utf8_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, _ = run(["ingest", str(write_jsonl(tmp_path / "p.jsonl")), "--json"], capsys)
    assert code == 0
    event = b'data: {"choices": [{"index": 0, "delta": {"content": "\xff\xfe bad"}}]}\n\n'
    with LoopbackServer() as server:
        server.route("/v1/chat/completions", Reply(200, b"", {"Content-Type": "text/event-stream"},
                                                   chunks=(event,)), method="POST")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url_for("/v1"))
        monkeypatch.setenv("PAPERBRIEF_MODEL", "gpt-test")
        code, out, err = run(["ask", "Which robot grasps glass objects?", "--json"], capsys)
    lines = err.strip().splitlines()
    assert code == 1, err
    assert len(lines) == 1 and "not UTF-8" in lines[0] and "Traceback" not in err
    assert out == "" or json.loads(out)
