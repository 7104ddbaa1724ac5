"""An id seen again with a different title warns once and keeps both titles (issue 14, item 7).

Before, a second sighting of ``2501.00002`` with another title and abstract silently
replaced the first: nothing was printed and the old title was gone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from store.papers import Paper, merge_papers
from tests.support.cli import run
from tests.support.papers_fixture import PAPERS, write_jsonl

FIRST = {**PAPERS[1]}
SECOND = {**PAPERS[1], "title": "Draft Models Make Decoding Faster", "abstract": "A different abstract.",
          "date": "2025-03-14"}


def test_a_new_title_for_a_known_id_warns_once_and_keeps_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_jsonl(tmp_path / "first.jsonl", [FIRST])
    second = write_jsonl(tmp_path / "second.jsonl", [SECOND])
    assert run(["ingest", str(first)], capsys)[0] == 0
    code, _, err = run(["ingest", str(second)], capsys)
    assert code == 0
    warnings = [line for line in err.splitlines() if "different title" in line]
    assert len(warnings) == 1 and "2501.00002" in warnings[0]
    assert FIRST["title"] in warnings[0] and SECOND["title"] in warnings[0]

    code, out, _ = run(["papers", "show", "2501.00002", "--json"], capsys)
    record = json.loads(out)
    assert record["title"] == SECOND["title"] and record["previous_titles"] == [FIRST["title"]]
    code, out, _ = run(["papers", "show", "2501.00002"], capsys)
    assert f"also seen as: {FIRST['title']}" in out

    # the same files again: nothing new to say
    code, out, err = run(["ingest", str(first), str(second), "--json"], capsys)
    assert code == 0 and "different title" not in err and json.loads(out)["title_changes"] == []


def test_one_file_with_a_clashing_duplicate_warns_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    both = write_jsonl(tmp_path / "both.jsonl", [FIRST, SECOND])
    code, out, err = run(["ingest", str(both), "--json"], capsys)
    assert code == 0 and len(json.loads(out)["title_changes"]) == 1 and "different title" in err


def test_merge_keeps_titles_once_per_title_key() -> None:
    a = Paper(id="x", title="A Title", abstract="a")
    b = Paper(id="x", title="a title!", abstract="a")  # the same title, differently typed
    c = Paper(id="x", title="Another Title", abstract="c")
    assert merge_papers(a, b).previous_titles == ()
    merged = merge_papers(merge_papers(a, c), a)
    assert merged.title == "A Title" and merged.previous_titles == ("Another Title",)
    assert Paper.from_json(merged.to_json()) == merged
    assert "previous_titles" not in a.to_json()  # old records keep their content hash
