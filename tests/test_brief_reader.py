"""Issue 11 end to end: run health, empty and weekend windows, revised versions, interests and stars.

A real index (Chroma + catalog) over the fixture weeks of ``tests/support/brief_papers.py``
and the scripted OpenAI-compatible loopback server; the CLI runs in-process.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from agent.brief.cache import BriefCache
from agent.brief.pipeline import BriefError, BriefOptions, build_brief
from agent.brief.render import render_html, render_markdown
from agent.brief.types import Brief
from agent.brief.weeks import Window, parse_week
from agent.cli.app import main
from agent.runtime import build_llm
from agent.settings import load_settings
from store.index import Index
from store.ingest import ingest_paths
from store.interests import ReaderStore
from tests.support.brief_fake import FakeBriefModel
from tests.support.brief_papers import topic_of, topic_paper, write_weeks
from tests.support.index import build_index
from tests.support.openai_server import OpenAIServer
from tests.support.papers_fixture import write_jsonl

WEEK = parse_week("2025-W11")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readeridx")
    return build_index(root, [], files=[write_weeks(root)])


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"respond": FakeBriefModel()}


def _brief(data_dir: Path, server: OpenAIServer, window: Window = WEEK, **options: object) -> Brief:
    settings = load_settings(data_dir=data_dir, openai_base_url=server.url, openai_api_key="sk-test", model="gpt-test")
    with Index(settings.store_config()) as idx:
        return build_brief(
            window, index=idx, llm=build_llm(settings), options=BriefOptions(**options),  # type: ignore[arg-type]
            cache=BriefCache(None),
        )


def test_health_line_counts_the_window(index_dir: Path, server: OpenAIServer) -> None:
    brief = _brief(index_dir, server, fetch=False)
    assert brief.health is not None
    assert (brief.health.listed, brief.health.new, brief.health.seen, brief.health.revised) == (22, 22, 0, 0)
    md = render_markdown(brief)
    first_lines = md.split("\n## ")[0]
    assert "Run health: 22 listed · 0 fetched · 22 new · 0 already seen · 0 filtered · no source errors" in first_lines
    assert "Run health: 22 listed" in render_html(brief)
    assert brief.to_json()["health"]["listed"] == 22  # type: ignore[index]


def test_empty_window_after_the_newest_listing_says_the_source_is_behind(
    index_dir: Path, server: OpenAIServer
) -> None:
    later = parse_week("2025-W13")  # Mon 2025-03-24 .. Sun 03-30; the index's newest listing is 2025-03-14
    with pytest.raises(BriefError) as info:
        _brief(index_dir, server, later, fetch=False, today=date(2025, 3, 26))
    message = str(info.value)
    assert "not been updated" in message and "2025-03-14" in message and "\n" not in message
    assert "paperbrief ingest" in message and server.chat_requests == []


def test_weekend_window_says_weekend(index_dir: Path, server: OpenAIServer) -> None:
    weekend = Window(date(2025, 3, 15), date(2025, 3, 16), "2025-03-15..2025-03-16")  # Sat, Sun
    with pytest.raises(BriefError) as info:
        _brief(index_dir, server, weekend, fetch=False, today=date(2025, 3, 20))
    message = str(info.value)
    assert "weekend" in message and "Sat 2025-03-15" in message and "Sun 2025-03-16" in message


def test_a_new_version_is_revised_not_new(tmp_path: Path, server: OpenAIServer) -> None:
    data = tmp_path / "data"
    first = {**topic_paper("quantum", 0, date(2025, 3, 4)), "id": "2503.01234v1"}
    other = [topic_paper("quantum", k, date(2025, 3, 11)) for k in range(1, 6)]
    again = {**first, "id": "2503.01234v2", "date": "2025-03-12", "abstract": first["abstract"] + " Revised."}
    seen = {**topic_paper("quantum", 7, date(2025, 3, 5)), "id": "2503.07777"}
    seen_again = {**seen, "date": "2025-03-13"}
    with Index(load_settings(data_dir=data).store_config()) as idx:
        ingest_paths(idx, [write_jsonl(tmp_path / "w10.jsonl", [first, seen])])
        ingest_paths(idx, [write_jsonl(tmp_path / "w11.jsonl", [again, seen_again, *other])])
        stored = idx.catalog.get("2503.01234")
        assert stored is not None and idx.catalog.get("2503.01234v2") is None  # one record for both versions
        assert stored.version == 2 and stored.revised_dates == (date(2025, 3, 12),)
    brief = _brief(data, server, fetch=False)
    status = {p.paper_id: p.status for p in brief.papers}
    assert status["2503.01234"] == "revised" and status["2503.07777"] == "seen"
    assert brief.health is not None and (brief.health.new, brief.health.revised, brief.health.seen) == (5, 1, 1)
    assert "1 revised" in brief.health.line() and "1 already seen" in brief.health.line()
    assert "_(revised)_" in render_markdown(brief)


def test_interests_rank_for_you_and_for_everyone_turns_it_off(
    index_dir: Path, tmp_path: Path, server: OpenAIServer
) -> None:
    data = tmp_path / "data"
    shutil.copytree(index_dir, data)
    ReaderStore(data).add_interests(["speculative decoding with draft models to speed up LLM inference"])
    brief = _brief(data, server, fetch=False)
    assert brief.interests and len(brief.for_you) == 5
    assert {topic_of(f.paper_id) for f in brief.for_you} == {"decoding"}
    assert all("your interest “speculative decoding" in f.why for f in brief.for_you)
    first_named = next(t for t in brief.themes if not t.is_other)
    assert {topic_of(p.paper_id) for p in first_named.papers} == {"decoding"}  # the reader's theme first
    assert "## For you" in render_markdown(brief)
    plain = _brief(data, server, fetch=False, for_everyone=True)
    assert plain.for_you == [] and plain.interests == [] and "## For you" not in render_markdown(plain)


def test_cli_interests_stars_and_papers_for_me(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(index_dir, data)
    base = ["--data-dir", str(data)]
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "papers", "list", "--for-me"])
    assert exit_info.value.code == 2 and "interests set" in capsys.readouterr().err
    main([*base, "star", "2503.30001"])  # a coral-reef paper
    main([*base, "interests", "set", "coral bleaching and reef heat stress"])
    main([*base, "interests", "list", "--json"])
    assert json.loads(capsys.readouterr().out) == {
        "interests": ["coral bleaching and reef heat stress"], "stars": ["2503.30001"],
    }
    main([*base, "papers", "list", "--for-me", "-n", "4", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and {topic_of(r["paper_id"]) for r in rows} == {"coral"}
    assert all(r["why"].startswith("matches your") for r in rows)
    assert rows == sorted(rows, key=lambda r: -r["score"])
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "star", "2503.00000"])
    assert exit_info.value.code == 2 and "no paper with id" in capsys.readouterr().err
    main([*base, "unstar", "2503.30001"])
    main([*base, "interests", "clear"])
    assert ReaderStore(data).load().empty
