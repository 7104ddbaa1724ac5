"""Eval case files: validation with one-line errors, and the team's seed cases' own rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evals.cases import AskCase, BriefCase, CaseError, CompareCase, load_case_file, load_case_files, parse_case_file
from tests.conftest import REPO

SEEDS = REPO / "evals" / "cases" / "seeds.yaml"
_STOP_WORDS = (
    "a an the of for and or to in on with by via from is are be can do does how what which why when where who "
    "that this these those it its their as at into than more most not no without about over under between "
    "across using use we our you your any all"
)
_STOP = frozenset(_STOP_WORDS.split())


def content_words(text: str) -> set[str]:
    """Lower-cased words of 3+ letters minus stop words, with a crude plural/-ing/-ed stem."""
    out = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in _STOP or len(word) < 3:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
        out.add(word)
    return out


GOOD = """
suite: mini
corpus: {paths: [papers.jsonl]}
tolerances: {citations.recall: 0.1}
cases:
  - id: q1
    question: How do small draft models speed up decoding?
    expect: ["Speculative Decoding with Tiny Draft Models"]
    must_include: ["draft", ["faster", "speed"]]
  - id: q2
    question: What is a good sourdough hydration?
    should_abstain: true
  - id: c1
    kind: compare
    papers: [{paper: A, facts: ["x"]}, {paper: B}]
  - id: b1
    kind: brief
    since: 2025-03-10
    until: 2025-03-12
    themes: ["agents"]
"""


def test_a_valid_file_parses_into_typed_cases() -> None:
    suite = parse_case_file(GOOD, "mini.yaml")
    assert suite.suite == "mini" and suite.tolerances == {"citations.recall": 0.1}
    kinds = [type(c) for c in suite.cases]
    assert kinds == [AskCase, AskCase, CompareCase, BriefCase]
    first = suite.cases[0]
    assert isinstance(first, AskCase) and first.must_include == ["draft", ["faster", "speed"]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("suite: x\ncases: [\n  - id: q1", "mini.yaml:3: YAML syntax error"),
        (GOOD.replace("kind: compare", "kind: summarise"), "mini.yaml: case c1: unknown case kind 'summarise'"),
        (GOOD.replace("    should_abstain: true", "    should_abstain: true\n    expect: [X]"), "case q2: a case that"),
        (GOOD.replace("since: 2025-03-10", "since: 2025-03-20"), "case b1: since 2025-03-20 is after"),
        (GOOD.replace("{paper: B}", "{paper: B, colour: red}"), "case c1: papers.1.colour: Extra inputs"),
        (GOOD.replace("id: q2", "id: q1"), "case q1: duplicate case id"),
        (GOOD.replace("corpus: {paths: [papers.jsonl]}\n", ""), "a suite needs a 'corpus'"),
        (GOOD.replace("citations.recall: 0.1", "citations.recall: -1"), "tolerances.citations.recall"),
        ("- just a list", "a case file is a mapping"),
    ],
)
def test_bad_case_files_are_one_line_naming_file_and_case(text: str, message: str) -> None:
    with pytest.raises(CaseError) as info:
        parse_case_file(text, "mini.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("mini.yaml") and "\n" not in str(info.value)


def test_globs_and_duplicate_suites(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    with pytest.raises(CaseError, match="no case files match"):
        load_case_files(str(tmp_path / "*.yml"))
    assert [s.suite for s in load_case_files(str(tmp_path / "*.yaml"))] == ["mini"]
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(CaseError, match=r"b\.yaml: suite name 'mini' is already used by .*a\.yaml"):
        load_case_files(str(tmp_path / "*.yaml"))


def test_seed_cases_meet_the_issue_counts() -> None:
    suite = load_case_file(SEEDS)
    ask = [c for c in suite.cases if isinstance(c, AskCase)]
    assert len([c for c in ask if c.expect]) >= 40
    assert len([c for c in ask if c.should_abstain]) >= 10
    assert len([c for c in suite.cases if isinstance(c, CompareCase)]) >= 5
    assert len([c for c in suite.cases if isinstance(c, BriefCase)]) >= 2
    assert suite.corpus is not None and suite.corpus.year is not None  # brief windows must not move with the clock
    gated = {"citations.recall", "citations.validity", "retrieval.recall@3", "abstention.accuracy"}
    assert set(suite.tolerances) >= gated


def test_seed_questions_paraphrase_instead_of_copying_titles() -> None:
    """Each question shares at most a quarter of its expected title's content words (most share none)."""
    suite = load_case_file(SEEDS)
    overlaps = []
    for case in suite.cases:
        if not isinstance(case, AskCase):
            continue
        for title in case.expect:
            title_words = content_words(title)
            shared = content_words(case.question) & title_words
            overlaps.append(len(shared) / len(title_words))
            assert len(shared) / len(title_words) <= 0.25, (case.id, sorted(shared))
    assert sum(1 for o in overlaps if o == 0) >= 0.8 * len(overlaps)


def test_content_words_helper_is_strict_enough() -> None:
    # the check above would catch a question that copies its title
    title = "Retrieval Head Mechanistically Explains Long-Context Factuality"
    assert len(content_words("Which retrieval heads explain long-context factuality?") & content_words(title)) >= 4


def test_the_committed_baseline_covers_every_seed_case() -> None:
    """A case added without re-accepting the baseline would make CI generate its answer with the real model."""
    import json

    suite = load_case_file(SEEDS)
    baselines = sorted((REPO / "evals" / "baselines").glob("smollm2-*.json"))
    assert baselines, "no baseline for the local default model: run `paperbrief eval run` and `eval accept`"
    data = json.loads(baselines[0].read_text())
    recorded = {c["id"] for c in data["suites"]["seeds"]["cases"]}
    assert recorded == set(suite.case_ids())
    assert data["responses"] and all(c.get("prompts") for c in data["suites"]["seeds"]["cases"] if "error" not in c)
