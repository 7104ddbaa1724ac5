"""``brief`` end to end on fixture weeks: a real index, and a loopback OpenAI-compatible server.

The fixture (``tests/brief_papers.py``) has known topics per week, so the tests can
state what every brief must satisfy: each paper exactly once, themes that are
topics, citations inside their theme, exact week-over-week counts, TL;DRs reused
from the cache (counted at the server), and the CLI's one-line errors.
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
from agent.brief.weeks import parse_week
from agent.cli.app import main
from agent.llm.base import ChatMessage
from agent.llm.budget import count_messages
from agent.runtime import build_llm
from agent.settings import load_settings
from store.index import Index
from store.ingest import ingest_paths
from tests.support.brief_fake import FakeBriefModel
from tests.support.brief_papers import OUTLIER, PLAN, topic_of, week_papers, write_weeks
from tests.support.index import build_index
from tests.support.loopback import LoopbackServer
from tests.support.loopback import Reply as HttpReply
from tests.support.openai_server import OpenAIServer, Reply

WEEK = parse_week("2025-W11")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("briefidx")
    return build_index(root, [], files=[write_weeks(root)])


@pytest.fixture
def fake() -> FakeBriefModel:
    return FakeBriefModel()


@pytest.fixture
def server_options(fake: FakeBriefModel) -> dict[str, Any]:
    return {"respond": fake}


def _brief(data_dir: Path, server: OpenAIServer, cache: BriefCache | None = None, **options: object) -> Brief:
    settings = load_settings(data_dir=data_dir, openai_base_url=server.url, openai_api_key="sk-test", model="gpt-test")
    with Index(settings.store_config()) as idx:
        return build_brief(
            WEEK, index=idx, llm=build_llm(settings), options=BriefOptions(**options),  # type: ignore[arg-type]
            cache=cache or BriefCache(None),
        )


def test_every_paper_once_in_a_theme_of_its_topic(index_dir: Path, server: OpenAIServer) -> None:
    brief = _brief(index_dir, server)
    _, current = week_papers()
    ids = [p.paper_id for p in brief.papers]
    assert sorted(ids) == sorted(str(p["id"]) for p in current)  # every paper of the window exactly once
    themes = [t for t in brief.themes if not t.is_other]
    assert sorted(len(t.papers) for t in themes) == [4, 5, 6, 6]
    for theme in themes:  # clustering recovers the topics: one topic per theme
        assert len({topic_of(p.paper_id) for p in theme.papers}) == 1, theme.name
        assert theme.name_source == "model" and theme.synthesis.mode == "generative"
    other = [t for t in brief.themes if t.is_other]
    assert [p.title for t in other for p in t.papers] == [OUTLIER["title"]]
    assert all(p.tldr_mode == "model" and p.tldr for p in brief.papers)
    assert 3 <= len(brief.highlights) <= 5 and all(h.why_source == "model" for h in brief.highlights)
    assert len({h.theme for h in brief.highlights}) == len(brief.highlights)  # spread over themes
    p = brief.provenance
    assert p.papers == 22 and p.themes == 4 and p.model == "gpt-test" and len(p.corpus_hash) == 16
    assert set(p.prompts) == {"brief_tldr_batch", "brief_theme_names", "brief_synthesis", "brief_highlights"}
    assert p.prompt_tokens > 0 and p.completion_tokens > 0 and p.calls_per_paper <= 1.2


def test_citations_point_to_papers_of_their_theme(index_dir: Path, fake: FakeBriefModel) -> None:
    def respond(body: dict) -> Reply:  # type: ignore[type-arg]
        reply = fake(body)
        if "<paper n=" in body["messages"][-1]["content"] and "Signal:" not in body["messages"][-1]["content"]:
            reply.text += " A stray claim from elsewhere [99]."  # cites a paper the theme does not have
        return reply

    with OpenAIServer(respond=respond) as server:
        brief = _brief(index_dir, server)
    data = brief.to_json()
    for theme, raw in zip(brief.themes, data["themes"], strict=True):  # type: ignore[arg-type]
        own = {p.paper_id for p in theme.papers}
        cited = {c["paper_id"] for c in raw["synthesis"]["citations"]}
        assert cited <= own
        if not theme.is_other:  # the claim that lost its citation is unsupported: the prose falls back
            assert cited and "[99]" not in theme.synthesis.text and "stray claim" not in theme.synthesis.text
            assert theme.synthesis.mode == "extractive" and "non-existent sources" in (theme.synthesis.note or "")
    md = render_markdown(brief)
    assert md.count("[99]") == 0 and "## Provenance" in md


def test_week_over_week_counts(index_dir: Path, server: OpenAIServer) -> None:
    brief = _brief(index_dir, server)
    assert brief.trends is not None and brief.trends.previous.label == "2025-W10"
    assert brief.trends.previous_papers == sum(before for _, before, _ in PLAN)
    by_topic: dict[str, tuple[int, int, str]] = {}
    for row in brief.trends.rows:
        theme = next((t for t in brief.themes if t.name == row.theme), None)
        topic = topic_of(theme.papers[0].paper_id) if theme else "grasping"
        by_topic[topic] = (row.current, row.previous, row.status)
    assert by_topic == {
        "quantum": (6, 3, "grew"),
        "decoding": (6, 0, "new"),
        "coral": (4, 7, "shrank"),
        "protein": (5, 0, "new"),
        "grasping": (0, 4, "gone"),
    }


def test_cached_tldrs_are_reused(index_dir: Path, tmp_path: Path, server: OpenAIServer, fake: FakeBriefModel) -> None:
    with BriefCache(tmp_path / "cache.sqlite3") as cache:
        cold = _brief(index_dir, server, cache)
        cold_calls = len(server.chat_requests)
        assert fake.kinds["tldr_batch"] == 3  # 22 papers in batches of at most 10
        assert cold_calls == cold.provenance.llm_calls == 3 + 1 + 4 + 1  # TL;DRs, names, syntheses, highlights
        warm = _brief(index_dir, server, cache)
    assert len(server.chat_requests) == cold_calls  # a warm re-run makes no model call at all
    assert warm.provenance.llm_calls == 0 and warm.provenance.tldrs["cached"] == 22
    assert warm.provenance.reused_calls == 6
    assert [p.tldr for p in warm.papers] == [p.tldr for p in cold.papers]


def test_changed_abstract_is_the_only_tldr_redone(
    index_dir: Path, tmp_path: Path, server: OpenAIServer, fake: FakeBriefModel
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(index_dir, data_dir)
    cache = BriefCache.for_data_dir(data_dir)
    _brief(data_dir, server, cache)
    _, current = week_papers()
    revised = {**current[0], "abstract": str(current[0]["abstract"]) + " A revised sentence adds a new result."}
    with Index(load_settings(data_dir=data_dir).store_config()) as idx:
        ingest_paths(idx, [write_jsonl_one(tmp_path / "rev.jsonl", revised)])
    before = fake.kinds["tldr_batch"]
    brief = _brief(data_dir, server, cache)
    cache.close()
    assert fake.kinds["tldr_batch"] == before + 1
    tldr_request = [r for r in server.chat_requests if '<abstract n="' in r.body["messages"][-1]["content"]][-1]
    assert tldr_request.body["messages"][-1]["content"].count("<abstract n=") == 1
    assert brief.provenance.tldrs["cached"] == 21


def write_jsonl_one(path: Path, paper: dict[str, object]) -> Path:
    path.write_text(json.dumps(paper) + "\n")
    return path


def test_concurrent_requests_survive_429s(index_dir: Path) -> None:
    fake = FakeBriefModel(fail_every=3, delay_s=0.15)
    with OpenAIServer(respond=fake) as server:
        brief = _brief(index_dir, server, batch_size=2, concurrency=4)
    assert fake.failures >= 3 and fake.max_in_flight >= 2  # parallel, and rate limited on the way
    assert fake.max_in_flight <= 4  # never more than the concurrency setting
    assert len(brief.papers) == 22 and all(p.tldr_mode == "model" for p in brief.papers)
    assert all(t.synthesis.mode == "generative" for t in brief.themes if not t.is_other)


def test_small_window_model_gets_short_prompts_that_fit(index_dir: Path, fake: FakeBriefModel) -> None:
    with OpenAIServer(respond=fake) as server:
        settings = load_settings(
            data_dir=index_dir, openai_base_url=server.url, openai_api_key="k", model="gpt-test", context_window=600
        )
        with Index(settings.store_config()) as idx:
            llm = build_llm(settings)
            assert llm.is_small
            brief = build_brief(WEEK, index=idx, llm=llm, cache=BriefCache(None))
        sent = [r.body for r in server.chat_requests]
    assert fake.kinds["tldr"] == 22 and fake.kinds["tldr_batch"] == 0  # one short prompt per paper
    assert fake.kinds["name"] == 4 and fake.kinds["highlights"] == 0  # highlight reasons come from the data
    for body in sent:  # every request fits the 600-token window with its answer
        messages = [ChatMessage(m["role"], m["content"]) for m in body["messages"]]
        assert count_messages(messages) + body.get("max_tokens", body.get("max_completion_tokens", 0)) <= 600
    assert all(h.why_source == "data" for h in brief.highlights)
    assert {t.name_source for t in brief.themes if not t.is_other} == {"model"}


def test_extractive_tldrs_are_marked(index_dir: Path, fake: FakeBriefModel) -> None:
    def respond(body: dict) -> Reply:  # type: ignore[type-arg]
        if '<abstract n="' in body["messages"][-1]["content"]:
            return Reply(text="1: Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod.")
        return fake(body)

    with OpenAIServer(respond=respond) as server:
        brief = _brief(index_dir, server)
    modes = {p.tldr_mode for p in brief.papers}
    assert modes == {"extractive"}  # ungrounded or missing lines are never shown as the model's
    assert brief.provenance.tldrs["extractive"] == 22
    assert any("quoted from abstracts" in w for w in brief.warnings)
    md = render_markdown(brief)
    assert "“We study" in md and "Lorem" not in md


def test_fetches_an_empty_window_from_hugging_face(tmp_path: Path, server: OpenAIServer) -> None:
    _, current = week_papers()
    items = {}
    for i, paper in enumerate(current):
        day = str(paper["date"])
        item = {"paper": {"id": paper["id"], "title": paper["title"], "summary": paper["abstract"], "upvotes": i,
                          "authors": [{"name": "A. Author"}]}}
        items.setdefault(day, []).append(item)
    with LoopbackServer() as hf:
        for day in range(10, 17):
            iso = date(2025, 3, day).isoformat()
            hf.route("/api/daily_papers", HttpReply.json(items.get(iso, [])), query={"date": iso})
        settings = load_settings(
            data_dir=tmp_path / "data", openai_base_url=server.url, openai_api_key="k", model="gpt-test",
            hf_url=hf.url, http_min_interval_s=0.0, http_retries=1,
        )
        with Index(settings.store_config()) as idx:
            brief = build_brief(WEEK, index=idx, llm=build_llm(settings), cache=BriefCache(None))
        assert len(hf.requests_to("/api/daily_papers")) == 7
    assert brief.provenance.fetched == 22 and len(brief.papers) == 22
    top = max(current, key=lambda p: current.index(p))  # the last paper has the most upvotes
    assert brief.highlights[0].paper_id == top["id"] and brief.highlights[0].signal == "upvotes"
    assert brief.highlights[0].upvotes == 21


def test_offline_empty_window_is_one_line(tmp_path: Path, server: OpenAIServer) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data", openai_base_url=server.url, openai_api_key="k", model="gpt-test",
        hf_url="http://127.0.0.1:9", http_retries=1, http_timeout_s=1.0,
    )
    with Index(settings.store_config()) as idx, pytest.raises(BriefError) as info:
        build_brief(WEEK, index=idx, llm=build_llm(settings), cache=BriefCache(None))
    message = str(info.value)
    assert "offline" in message and "paperbrief ingest" in message and "\n" not in message
    assert server.chat_requests == []


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def api_env(server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIServer:
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET123")
    monkeypatch.setenv("PAPERBRIEF_MODEL", "gpt-test")
    return server


def test_cli_writes_html_json_and_markdown(
    index_dir: Path, tmp_path: Path, api_env: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(index_dir, data)
    html = tmp_path / "brief.html"
    main(["--data-dir", str(data), "brief", "--week", "2025-W11", "--out", str(html)])
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "<script" not in page
    assert "2025-W11" in page and "SECRET123" not in page
    assert "Wrote the html brief for 2025-W11" in capsys.readouterr().err
    calls = len(api_env.chat_requests)
    main(["--data-dir", str(data), "brief", "--week", "2025-W11", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert out["papers"] == 22 and out["provenance"]["llm_calls"] == 0  # the cache under the data dir
    assert len(api_env.chat_requests) == calls
    main(["--data-dir", str(data), "brief"])  # default: the week of the newest listing, as Markdown
    md = capsys.readouterr().out
    assert md.startswith("# Weekly brief · 2025-W11") and "## Week over week" in md


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2025-W60"], "2025 has ISO weeks 1 to 52"),
        (["--week", "last"], "is not an ISO week"),
        (["--since", "2025-13-01"], "is not a date"),
        (["--since", "2025-03-12", "--until", "2025-03-10"], "is after"),
        (["--week", "2025-W11", "--last-week"], "choose one window"),
        (["--week", "2025-W11", "--format", "pdf"], "--format: 'pdf' is not one of md, html, json"),
        (["--week", "2025-W11", "--out", "{missing}/brief.md"], "does not exist"),
        (["--week", "2025-W11", "--out", "{existing}/"], "is a folder"),
        (["--week", "2025-W20", "--no-fetch"], "no papers listed in 2025-W20"),
    ],
)
def test_cli_bad_input_exit_2_and_output_untouched(
    index_dir: Path, tmp_path: Path, api_env: OpenAIServer, capsys: pytest.CaptureFixture[str],
    args: list[str], message: str,
) -> None:
    existing = tmp_path / "brief.md"
    existing.write_text("last week's brief")
    args = [a.format(missing=tmp_path / "nope", existing=tmp_path) for a in args]
    if "--out" not in args:
        args += ["--out", str(existing)]
    with pytest.raises(SystemExit) as exit_info:
        main(["--data-dir", str(index_dir), "brief", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1
    assert existing.read_text() == "last week's brief"
    assert api_env.chat_requests == []


def test_cli_offline_empty_window(tmp_path: Path, api_env: OpenAIServer, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERBRIEF_HF_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PAPERBRIEF_HTTP_RETRIES", "2")  # a retry happens, and its warning is not shown
    existing = tmp_path / "brief.md"
    existing.write_text("keep me")
    with pytest.raises(SystemExit) as exit_info:
        main(["--data-dir", str(tmp_path / "empty"), "brief", "--week", "2025-W11", "--out", str(existing)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "offline" in err and "paperbrief ingest PATH..." in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1 and existing.read_text() == "keep me"


def test_cli_provider_failure_is_exit_1(index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with OpenAIServer(default=Reply(status=500)) as broken:
        monkeypatch.setenv("OPENAI_BASE_URL", broken.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET123")
        monkeypatch.setenv("PAPERBRIEF_MODEL", "gpt-test")
        monkeypatch.setenv("PAPERBRIEF_LLM_ATTEMPTS", "1")
        with pytest.raises(SystemExit) as exit_info:
            main(["--data-dir", str(index_dir), "brief", "--week", "2025-W11", "--out", str(tmp_path / "b.md")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "500" in err and "SECRET123" not in err
    assert not (tmp_path / "b.md").exists()


def test_html_links_citations_to_entries(index_dir: Path, server: OpenAIServer) -> None:
    brief = _brief(index_dir, server)
    page = render_html(brief)
    first = next(t for t in brief.themes if not t.is_other)
    n = first.synthesis.cited[0]
    assert f'<a href="#{first.anchor}-p{n}">[{n}]</a>' in page and f'id="{first.anchor}-p{n}"' in page
