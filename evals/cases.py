"""Case files: the YAML the team writes, validated with pydantic into typed cases.

One file is one *suite*: a corpus to index, the tolerances the gate allows, and either
hand-written ``cases`` or a ``generate`` spec that builds cases from a public data set
at run time (``evals.generate``; the data itself is never committed). Three kinds::

    - id: ask-ctf
      kind: ask
      question: How well do AI agents solve professional capture-the-flag challenges?
      expect: ["Cybench: A Framework for ..."]      # titles or paper ids
      must_include: ["capture the flag", ["CTF", "Capture the Flag"]]  # a list = any of
      must_not_include: ["Ubuntu"]
    - id: no-bread
      kind: ask
      question: What hydration suits sourdough?
      should_abstain: true
    - id: cmp-computer-agents
      kind: compare
      papers:
        - {paper: "OSWorld: ...", facts: ["369"]}
        - {paper: "AndroidWorld: ...", facts: [["116", "one hundred"]]}
    - id: brief-mar-11
      kind: brief
      since: 2024-03-11
      until: 2024-03-11
      papers: ["MegaScale: ..."]
      themes: [["test-time", "inference-time"]]

Every problem is a :class:`CaseError` whose message is one line naming the file and,
when it is about one case, the case: ``evals/cases/seeds.yaml: case ask-ctf: ...``.
"""

from __future__ import annotations

import glob
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.errors import UserError

KINDS = ("ask", "compare", "brief")
#: A phrase check: one phrase, or a list of alternatives of which any one must appear.
Phrase = str | list[str]


class CaseError(UserError):
    """A case file or case that cannot be used: one line naming the file (and case), exit code 2."""

    title = "Bad eval case"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _nonblank(values: list[Any], what: str) -> list[Any]:
    for value in values:
        options = value if isinstance(value, list) else [value]
        if not options or any(not str(o).strip() for o in options):
            raise ValueError(f"{what} must not contain empty phrases")
    return values


class AskCase(_Strict):
    """A question; what it should find, cite and say, or that it should be declined."""

    id: str
    kind: Literal["ask"] = "ask"
    question: str = Field(min_length=3)
    expect: list[str] = Field(default_factory=list, description="Paper titles or ids the answer should rest on.")
    must_include: list[Phrase] = Field(default_factory=list)
    must_not_include: list[Phrase] = Field(default_factory=list)
    should_abstain: bool = False
    since: date | None = Field(default=None, description="Listing window the question is asked over.")
    until: date | None = None
    needs_review: bool = Field(default=False, description="Saved from a chat turn and not yet checked by a person.")
    note: str | None = None

    @field_validator("must_include", "must_not_include")
    @classmethod
    def _phrases(cls, value: list[Phrase]) -> list[Phrase]:
        return _nonblank(value, "phrase lists")

    @model_validator(mode="after")
    def _consistent(self) -> AskCase:
        if self.should_abstain and self.expect:
            raise ValueError("a case that should abstain cannot also expect papers")
        if not self.should_abstain and not self.expect and not self.must_include:
            raise ValueError("an answerable case needs 'expect' papers or 'must_include' phrases")
        return self


class ComparedPaperSpec(_Strict):
    paper: str = Field(min_length=1, description="Title or id of one column.")
    facts: list[Phrase] = Field(default_factory=list, description="Phrases this paper's column must carry.")

    @field_validator("facts")
    @classmethod
    def _facts(cls, value: list[Phrase]) -> list[Phrase]:
        return _nonblank(value, "facts")


class CompareCase(_Strict):
    """Papers to put side by side and the facts each column must carry."""

    id: str
    kind: Literal["compare"]
    papers: list[ComparedPaperSpec] = Field(min_length=2, max_length=6)
    note: str | None = None


class BriefCase(_Strict):
    """A listing window and the papers or themes its brief must mention."""

    id: str
    kind: Literal["brief"]
    since: date
    until: date
    papers: list[str] = Field(default_factory=list)
    themes: list[Phrase] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)  # the reader's; none: the brief is for everyone
    for_you: list[Phrase] = Field(default_factory=list)  # each top-5 "For you" title matches one
    note: str | None = None

    @model_validator(mode="after")
    def _window(self) -> BriefCase:
        if self.since > self.until:
            raise ValueError(f"since {self.since} is after until {self.until}")
        if not self.papers and not self.themes:
            raise ValueError("a brief case needs 'papers' or 'themes'")
        if self.for_you and not self.interests:
            raise ValueError("'for_you' needs 'interests' to rank by")
        return self


Case = Annotated[AskCase | CompareCase | BriefCase, Field(discriminator="kind")]


class CorpusSpec(_Strict):
    """Files to ingest; ``{shared}`` stands for the shared data dir, other paths are relative to the case file."""

    paths: list[str] = Field(min_length=1)
    year: int | None = Field(default=None, ge=1990, le=2100, description="Pin the listing year of dated pages.")


class GenerateSpec(_Strict):
    """Build cases from a public data set at run time (see ``evals.generate``)."""

    source: Literal["pubmedqa", "scifact"]
    split: Literal["test", "train", "all"] = "test"
    limit: int | None = Field(default=None, ge=1)


class CaseFile(_Strict):
    """One suite: what to index, what to ask, how much each metric may drop."""

    suite: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str | None = None
    corpus: CorpusSpec | None = None
    generate: GenerateSpec | None = None
    retrieval_only: bool = Field(default=False, description="Score retrieval only: no model calls.")
    k: int = Field(default=6, ge=1, le=50, description="Papers retrieved per question.")
    skip: str | None = Field(default=None, description="Reason this suite is skipped, shown in the report.")
    tolerances: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    cases: list[Case] = Field(default_factory=list)
    path: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _source(self) -> CaseFile:
        if self.generate is None and self.corpus is None:
            raise ValueError("a suite needs a 'corpus' to index (or a 'generate' spec)")
        if self.generate is not None and self.cases:
            raise ValueError("a suite has either hand-written 'cases' or a 'generate' spec, not both")
        if self.generate is None and not self.cases and not self.skip:
            raise ValueError("the suite has no cases")
        return self

    def case_ids(self) -> list[str]:
        return [c.id for c in self.cases]


def _case_label(raw: Any, index: int) -> str:
    try:
        return str(raw["cases"][index].get("id") or f"#{index + 1}")
    except (KeyError, IndexError, TypeError, AttributeError):
        return f"#{index + 1}"


def _describe(err: Any, raw: Any) -> str:
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p in ("ask", "compare", "brief"))]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if loc[:1] == ["cases"] and len(loc) >= 2 and isinstance(loc[1], int):
        field = ".".join(str(p) for p in loc[2:])
        where = f"case {_case_label(raw, loc[1])}"
        return f"{where}: {field + ': ' if field else ''}{msg}"
    field = ".".join(str(p) for p in loc)
    return f"{field + ': ' if field else ''}{msg}"


def _check_kinds(raw: dict[str, Any]) -> None:
    cases = raw.get("cases")
    if not isinstance(cases, list):
        return
    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            raise CaseError(f"case {_case_label(raw, i)}: a case must be a mapping")
        kind = case.get("kind", "ask")
        if kind not in KINDS:
            raise CaseError(f"case {_case_label(raw, i)}: unknown case kind {kind!r} (expected ask, compare or brief)")
        case.setdefault("kind", kind)


def parse_case_file(text: str, path: str) -> CaseFile:
    """Parse and validate one case file's text; ``path`` names it in errors."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CaseError(f"{path}{line}: YAML syntax error: {problem}") from None
    if not isinstance(raw, dict):
        raise CaseError(f"{path}: a case file is a mapping with 'suite', 'corpus' and 'cases'")
    try:
        _check_kinds(raw)
    except CaseError as exc:
        raise CaseError(f"{path}: {exc}") from None
    try:
        suite = CaseFile.model_validate({**raw, "path": path})
    except ValidationError as exc:
        raise CaseError(f"{path}: {_describe(exc.errors()[0], raw)}") from None
    seen: set[str] = set()
    for case in suite.cases:
        if case.id in seen:
            raise CaseError(f"{path}: case {case.id}: duplicate case id")
        seen.add(case.id)
    return suite


def load_case_file(path: Path) -> CaseFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseError(f"{path}: cannot read case file ({exc.strerror or exc})") from None
    return parse_case_file(text, str(path))


def load_case_files(pattern: str) -> list[CaseFile]:
    """Every case file matching ``pattern`` (a glob or a file), in name order; suite names must be unique."""
    paths = sorted(Path(p) for p in glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [Path(pattern)]
    paths = [p for p in paths if p.is_file() or not glob.has_magic(pattern)]
    if not paths:
        raise CaseError(f"{pattern}: no case files match")
    suites = [load_case_file(p) for p in paths]
    names: dict[str, str] = {}
    for suite in suites:
        if suite.suite in names:
            raise CaseError(f"{suite.path}: suite name {suite.suite!r} is already used by {names[suite.suite]}")
        names[suite.suite] = suite.path
    return suites
