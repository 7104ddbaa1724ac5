"""The index commands as a user runs them: ingest, stats, papers, search, fetch."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from store.chunking import chunk_paper
from store.papers import Paper
from tests.support.cli import run
from tests.support.loopback import LoopbackServer, Reply
from tests.support.papers_fixture import PAPERS, write_jsonl


def test_ingest_search_papers_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "p.jsonl")
    code, out, _ = run(["ingest", str(src), "--json"], capsys)
    assert code == 0 and json.loads(out)["new"] == len(PAPERS)
    code, _, err = run(["ingest", str(src)], capsys)
    assert code == 0 and "Index unchanged" in err

    code, out, _ = run(["search", "quantum computers that correct their own errors", "-k", "2", "--json"], capsys)
    result = json.loads(out)
    hits = result["hits"]
    assert result["dense_coverage"] == 1.0
    assert code == 0 and hits[0]["paper_id"] == "2501.00005" and len(hits) == 2
    assert set(hits[0]) == {"paper_id", "title", "date", "score", "snippet"}
    assert hits[0]["score"] >= hits[1]["score"]

    code, out, _ = run(["papers", "list", "--since", "2025-03-13", "--json"], capsys)
    assert {p["paper_id"] for p in json.loads(out)} == {"2501.00007", "2501.00008"}
    code, out, _ = run(["papers", "show", "2501.00003", "--json"], capsys)
    assert json.loads(out)["title"].startswith("Coral Reef")
    code, _, err = run(["papers", "show", "9999.99999"], capsys)
    assert code == 2 and "no paper with id" in err

    code, out, _ = run(["stats", "--json"], capsys)
    stats = json.loads(out)
    assert stats["papers"] == len(PAPERS) and stats["vectors"] == stats["chunks"]
    assert stats["dense_coverage"] == 1.0


def test_lexical_only_ingest_then_embed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "p.jsonl")
    code, out, _ = run(["ingest", str(src), "--lexical-only", "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["new"] == len(PAPERS) and report["chunks_written"] == 0
    assert report["chunks_pending"] > 0

    # searchable at once, by keyword: the coverage says dense search saw nothing
    code, out, _ = run(["search", "bleaching coral reefs", "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and result["dense_coverage"] == 0.0
    assert result["hits"][0]["paper_id"] == "2501.00003"
    code, out, _ = run(["stats", "--json"], capsys)
    assert json.loads(out)["dense_coverage"] == 0.0 and json.loads(out)["vectors"] == 0

    code, out, _ = run(["index", "embed", "--limit", "3", "--json"], capsys)  # resumable, a bit at a time
    part = json.loads(out)
    assert code == 0 and part["chunks_written"] == 3 and 0 < part["dense_coverage"] < 1
    code, out, _ = run(["index", "embed", "--json"], capsys)
    rest = json.loads(out)
    assert code == 0 and rest["chunks_pending"] == 0 and rest["dense_coverage"] == 1.0
    assert rest["chunks_written"] == report["chunks_pending"] - 3

    # now by meaning, with no shared keyword
    code, out, _ = run(["search", "quantum computers that correct their own errors", "--json"], capsys)
    result = json.loads(out)
    assert result["dense_coverage"] == 1.0 and result["hits"][0]["paper_id"] == "2501.00005"
    code, out, _ = run(["stats", "--json"], capsys)
    stats = json.loads(out)
    assert stats["vectors"] == stats["chunks"]


def test_bad_files_are_skipped_with_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", PAPERS[:3])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\x00\x01\x02garbage")
    half = tmp_path / "half.jsonl"
    half.write_text(json.dumps(PAPERS[4]) + "\n" + '{"id": "2501.77777", "title": "Broken"\n')
    code, out, err = run(["ingest", str(good), str(empty), str(binary), str(half), "--json"], capsys)
    report = json.loads(out)
    assert code == 2
    assert report["new"] == 3 and len(report["skipped"]) == 3
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 3
    assert any("half.jsonl:2" in ln for ln in errors)  # names the file and the line
    code, out, _ = run(["papers", "list", "--json"], capsys)
    ids = {p["paper_id"] for p in json.loads(out)}
    assert "2501.00005" not in ids  # nothing from the half-valid file was written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "  "], "empty"),
        (["search", "x", "--since", "2025-13-01"], "is not a date"),
        (["search", "x", "--since", "2025-03-12", "--until", "2025-03-01"], "is after"),
        (["ingest", "f.txt", "--year", "1066"], "plausible"),
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(args, capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_invalid_setting_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PAPERBRIEF_CHUNK_SIZE", "huge")
    code, _, err = run(["stats"], capsys)
    assert code == 2 and err.strip().startswith("error: invalid setting PAPERBRIEF_CHUNK_SIZE")


def test_chunks_carry_title_and_stable_ids() -> None:
    long = Paper(id="2501.5", title="A Title", abstract=" ".join(f"Sentence number {i} is here." for i in range(300)))
    chunks = chunk_paper(long, size=128, overlap=16)
    assert len(chunks) > 3
    assert all(c.text.startswith("A Title\n\n") for c in chunks)
    assert [c.id for c in chunks] == [f"2501.5#{i}" for i in range(len(chunks))]
    assert chunk_paper(long, size=128, overlap=16) == chunks
    short = chunk_paper(Paper(id="x", title="T", abstract="One line."), size=384, overlap=48)
    assert len(short) == 1


def test_fetch_hf_ingests_from_the_api(
    shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = (shared_dir / "data" / "hf_daily_papers" / "raw_api_2024-10-25_first2items.json").read_text()
    with LoopbackServer() as server:
        server.route("/api/daily_papers", Reply.json(json.loads(body)), query={"date": "2024-10-25"})
        server.route("/api/daily_papers", Reply.json([]), query={"date": "2024-10-26"})
        monkeypatch.setenv("PAPERBRIEF_HF_URL", server.url)
        monkeypatch.setenv("PAPERBRIEF_HTTP_MIN_INTERVAL", "0")
        code, out, _ = run(["fetch", "hf", "--since", "2024-10-25", "--until", "2024-10-26", "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["new"] == 2
    assert report["fetched"]["days"] == {"2024-10-25": 2, "2024-10-26": 0}
    code, out, _ = run(["papers", "show", "2410.17243", "--json"], capsys)
    paper = json.loads(out)
    assert paper["listing_dates"] == [date(2024, 10, 25).isoformat()] and paper["upvotes"] is not None


def test_fetch_without_network_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PAPERBRIEF_HF_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("PAPERBRIEF_HTTP_RETRIES", "1")
    code, _, err = run(["fetch", "hf", "--date", "2024-10-25"], capsys)
    assert code == 1 and err.count("\n") <= 2 and "127.0.0.1:9" in err
