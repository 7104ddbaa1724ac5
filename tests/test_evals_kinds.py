"""Compare and brief cases run through the real ``agent.compare.pipeline`` / ``agent.brief.pipeline`` and are scored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.settings import load_settings
from evals.runner import Runner, RunOptions
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.papers_fixture import write_jsonl

CASES = """
suite: kinds
corpus: {paths: [papers.jsonl]}
cases:
  - id: cmp-decoding-vs-tiles
    kind: compare
    papers:
      - paper: "Speculative Decoding with Tiny Draft Models"
        facts: [["draft", "drafts"], "qubit"]
      - paper: "2501.00001"
        facts: [["tile", "tiles"]]
  - id: brief-week
    kind: brief
    since: 2025-03-10
    until: 2025-03-12
    papers:
      - Speculative Decoding with Tiny Draft Models
      - Coral Reef Bleaching Forecasts from Satellite Sea Temperatures
    themes: ["coral", "no such theme anywhere"]
"""


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"default": Reply(text="Not a useful reply.")}


@pytest.mark.slow
def test_compare_and_brief_cases_are_scored(tmp_path: Path, server: OpenAIServer) -> None:
    write_jsonl(tmp_path / "papers.jsonl")
    (tmp_path / "kinds.yaml").write_text(CASES)
    settings = load_settings(
        data_dir=tmp_path / "data", openai_base_url=server.url, openai_api_key="sk-t", model="gpt-test"
    )
    options = RunOptions(cases=str(tmp_path / "kinds.yaml"), out=tmp_path / "out", cache_dir=tmp_path / "cache",
                         baselines=None)
    results = Runner(settings, options).run()
    suite = results["suites"]["kinds"]
    compared, brief = suite["cases"]
    assert "error" not in compared and "error" not in brief, (compared, brief)

    # the draft paper's column carries "draft" (quoted from its abstract), never "qubit"
    assert compared["metrics"]["compare.facts"] == pytest.approx(2 / 3)
    assert compared["missing"]["facts"] == {"Speculative Decoding with Tiny Draft Models": ["qubit"]}
    assert {p["name"] for p in compared["prompts"]} & {"compare_table", "compare_cell"}
    assert compared["metrics"]["compare.generative_cells"] == 0.0  # the scripted replies are unusable

    # both papers are listed in the window; one theme phrase is there, the invented one is not
    assert brief["metrics"]["brief.papers"] == 1.0
    assert brief["metrics"]["brief.themes"] == 0.5 and brief["missing"]["themes"] == ["no such theme anywhere"]
    assert brief["prompts"] and all(p["hash"] for p in brief["prompts"])
    assert suite["metrics"]["compare.facts"] == pytest.approx(2 / 3) and suite["metrics"]["brief.papers"] == 1.0
    assert len(server.chat_requests) > 0 and results["cache"]["misses"] == len(server.chat_requests)

    # a second run replays every call of both kinds
    again = Runner(settings, options).run()
    assert again["cache"]["misses"] == 0 and again["suites"]["kinds"]["cases"][1]["metrics"]["brief.themes"] == 0.5


JUDGED = """
suite: judged
corpus: {paths: [papers.jsonl]}
cases:
  - id: q-draft
    question: How can a small model speed up decoding of a large one?
    expect: ["Speculative Decoding with Tiny Draft Models"]
"""


@pytest.mark.slow
def test_llm_judge_scores_groundedness_with_its_own_prompt(tmp_path: Path) -> None:
    def respond(body: dict[str, object]) -> Reply:
        system = body["messages"][0]["content"]  # type: ignore[index]
        if "You check statements" in system:  # the judge prompt: one verdict per numbered statement
            return Reply(text="1: UNSUPPORTED")
        return Reply(text="A small draft model proposes tokens that the large model verifies [1].")

    with OpenAIServer(respond=respond, models=("gpt-test",)) as srv:
        write_jsonl(tmp_path / "papers.jsonl")
        (tmp_path / "judged.yaml").write_text(JUDGED)
        settings = load_settings(
            data_dir=tmp_path / "data", openai_base_url=srv.url, openai_api_key="k", model="gpt-test"
        )
        options = RunOptions(cases=str(tmp_path / "judged.yaml"), out=tmp_path / "out", cache_dir=tmp_path / "cache",
                             baselines=None, judge_model="gpt-test")
        results = Runner(settings, options).run()
    case = results["suites"]["judged"]["cases"][0]
    assert case["metrics"]["groundedness.embedding"] == 1.0  # the sentence paraphrases its source
    assert case["metrics"]["groundedness.judge"] == 0.0 and case["judge_unsupported"]
    assert results["judge_model"] == "gpt-test" and "judge_groundedness" in results["prompts"]
    judge_calls = [r for r in srv.chat_requests if "You check statements" in r.body["messages"][0]["content"]]
    assert len(judge_calls) == 1 and "A small draft model proposes" in judge_calls[0].body["messages"][1]["content"]
