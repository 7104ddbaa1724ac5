"""The eval gate end to end: run, accept, re-run from the cache, degrade a prompt, and see compare fail.

The model is the loopback OpenAI-compatible server_env. It answers with a citation only
when the system prompt still carries the citation rule, like a model that follows
instructions, so removing that rule from a copy of the prompt set must show up as a
citation regression, and nothing else about the run may change.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from agent.cli.app import main
from agent.prompts import prompt_dir
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.papers_fixture import write_jsonl

CITATION_RULE = "Every sentence that states a fact from a source ends with its citation in square brackets"

CASES = """
suite: mini
corpus: {paths: [../corpus/papers.jsonl]}
k: 4
tolerances:
  citations.recall: 0.10
  citations.validity: 0.05
  retrieval.recall@3: 0.05
cases:
  - id: q-draft
    question: How can a small model speed up decoding of a large one?
    expect: ["Speculative Decoding with Tiny Draft Models"]
    must_include: ["draft"]
  - id: q-tiles
    question: How do you reach huge contrastive batch sizes without running out of GPU memory?
    expect: ["2501.00001"]
  - id: q-grasp
    question: How can robots pick up glass objects that depth cameras cannot see?
    expect: ["Robotic Grasping of Transparent Objects via Depth Completion"]
  - id: q-protein
    question: Can protein folds be predicted from a single sequence?
    expect: ["Protein Structure Prediction Without Multiple Sequence Alignments"]
  - id: q-bread
    question: What is the best recipe for sourdough bread?
    should_abstain: true
"""


def respond(body: dict[str, Any]) -> Reply:
    """A model that cites only when told to: the first source's title, with or without ``[1]``."""
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    match = re.search(r"Title: ([^\n]*)", user)
    title = match.group(1).strip() if match else "the first source"
    if CITATION_RULE in system:
        return Reply(text=f"The paper {title} answers this with its proposed method [1].")
    return Reply(text=f"The paper {title} answers this with its proposed method, which works well in practice.")


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"respond": respond}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_jsonl(tmp_path / "corpus" / "papers.jsonl")
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "mini.yaml").write_text(CASES)
    return tmp_path


def _eval(ws: Path, *args: str) -> None:
    main(["eval", *args])


def _run(ws: Path, out: str, *extra: str, cache: str = "cache") -> dict[str, Any]:
    main(["eval", "run", "--cases", str(ws / "cases" / "*.yaml"), "--out", str(ws / out),
          "--cache-dir", str(ws / cache), "--baselines", str(ws / "baselines"), *extra])
    return json.loads((ws / out / "results.json").read_text())


def _stable(results: dict[str, Any]) -> dict[str, Any]:
    """Everything but wall-clock latency, which a replay cannot reproduce to the millisecond."""
    return {k: v for k, v in results["suites"]["mini"]["metrics"].items() if not k.startswith("latency")}


def _degraded_prompts(tmp_path: Path) -> Path:
    folder = tmp_path / "degraded"
    shutil.copytree(prompt_dir(), folder, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    answer = folder / "answer.md"
    text = answer.read_text()
    assert CITATION_RULE in text
    lines = [ln for ln in text.splitlines() if CITATION_RULE not in ln]
    answer.write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.slow
def test_gate_passes_unchanged_and_fails_when_the_citation_rule_is_removed(
    workspace: Path, server_env: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _run(workspace, "run1")
    answered = len(server_env.chat_requests)
    assert answered == 4  # the off-topic question abstains before any model call
    metrics = first["suites"]["mini"]["metrics"]
    assert metrics["citations.recall"] == 1.0 and metrics["abstention.accuracy"] == 1.0
    assert (workspace / "run1" / "report.md").read_text().startswith("# Eval report")

    _eval(workspace, "accept", str(workspace / "run1"), "--baselines", str(workspace / "baselines"))
    baseline = workspace / "baselines" / "gpt-test--answer.json"
    assert len(json.loads(baseline.read_text())["responses"]) == 4

    # unchanged prompts: every response is replayed, nothing reaches the model, same numbers
    second = _run(workspace, "run2")
    assert len(server_env.chat_requests) == answered
    assert second["cache"] == {"hits": 4, "misses": 0, "seeded": 0, "enabled": True}
    assert _stable(second) == _stable(first)
    capsys.readouterr()
    _eval(workspace, "compare", str(workspace / "baselines"), str(workspace / "run2"))
    assert "no regression" in capsys.readouterr().out

    # the citation rule removed from a copy of the prompt set: every answered case re-runs
    third = _run(workspace, "run3", "--prompts", str(_degraded_prompts(workspace)))
    assert len(server_env.chat_requests) == answered + 4 and third["cache"]["misses"] == 4
    assert third["suites"]["mini"]["metrics"]["citations.recall"] == 0.0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        _eval(workspace, "compare", str(baseline), str(workspace / "run3"))
    captured = capsys.readouterr()
    assert exit_info.value.code == 1
    assert "REGRESSED" in captured.out and "mini/citations.recall" in captured.err
    assert "mini/retrieval.recall@3" not in captured.err  # retrieval did not move


def test_editing_one_case_re_runs_only_that_case(workspace: Path, server_env: OpenAIServer) -> None:
    _run(workspace, "run1")
    before = len(server_env.chat_requests)
    cases = workspace / "cases" / "mini.yaml"
    cases.write_text(CASES.replace("Can protein folds be predicted", "Can protein structures be predicted"))
    results = _run(workspace, "run2")
    assert len(server_env.chat_requests) == before + 1
    assert results["cache"]["hits"] == 3 and results["cache"]["misses"] == 1
    changed = [c["id"] for c in results["suites"]["mini"]["cases"] if c.get("cache", {}).get("misses")]
    assert changed == ["q-protein"]


def test_a_fresh_cache_is_seeded_from_the_committed_baseline(workspace: Path, server_env: OpenAIServer) -> None:
    _run(workspace, "run1")
    _eval(workspace, "accept", str(workspace / "run1"), "--baselines", str(workspace / "baselines"))
    calls = len(server_env.chat_requests)
    results = _run(workspace, "run2", cache="clean-cache")  # a clean CI machine: only the committed baseline
    assert results["cache"]["hits"] == 4
    assert len(server_env.chat_requests) == calls and results["cache"]["seeded"] == 4


def _one_error_line(capsys: pytest.CaptureFixture[str], exit_info: pytest.ExceptionInfo[SystemExit]) -> str:
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("k: 4", "k: [4"), "mini.yaml:"),
        (lambda t: t.replace("  - id: q-bread", "  - id: q-odd\n    kind: poem\n  - id: q-bread"),
         "mini.yaml: case q-odd: unknown case kind 'poem'"),
        (lambda t: t.replace('["2501.00001"]', '["2501.99999"]'),
         "mini.yaml: case q-tiles: expected paper '2501.99999' is not in the index"),
        (lambda t: t.replace("Tiny Draft Models", "Tiny Drift Models"),
         "mini.yaml: case q-draft: expected paper 'Speculative Decoding with Tiny Drift Models' is not in the index"),
    ],
)
def test_bad_case_files_exit_2_with_one_line(
    workspace: Path, server_env: OpenAIServer, capsys: pytest.CaptureFixture[str], edit: Any, expected: str
) -> None:
    cases = workspace / "cases" / "mini.yaml"
    cases.write_text(edit(CASES))
    (workspace / "cases" / "a-sound.yaml").write_text(CASES.replace("suite: mini", "suite: sound"))  # runs first
    with pytest.raises(SystemExit) as exit_info:
        _run(workspace, "run1")
    assert expected in _one_error_line(capsys, exit_info)
    assert server_env.chat_requests == []  # nothing was asked before every case file was known to be sound


def test_a_baseline_from_another_prompt_set_is_refused(
    workspace: Path, server_env: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(workspace, "run1")
    data = json.loads((workspace / "run1" / "results.json").read_text())
    for case in data["suites"]["mini"]["cases"]:
        for ref in case["prompts"]:
            ref["name"] = "answer_compact"
    other = workspace / "other-baseline.json"
    other.write_text(json.dumps(data))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        _eval(workspace, "compare", str(other), str(workspace / "run1"))
    line = _one_error_line(capsys, exit_info)
    assert "other-baseline.json" in line and "mini.yaml: case q-draft" in line and "another prompt set" in line


def test_compare_with_no_baseline_for_the_model_exits_2(
    workspace: Path, server_env: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(workspace, "run1")
    (workspace / "baselines").mkdir()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        _eval(workspace, "compare", str(workspace / "baselines"), str(workspace / "run1"))
    assert "no baseline for model gpt-test" in _one_error_line(capsys, exit_info)
