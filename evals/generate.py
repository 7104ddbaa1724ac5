"""Generated suites: retrieval cases built at run time from public data sets in ``../shared/data``.

The data is read where it lies and never copied into the repository; the committed
suite file only says which set, which split and how many. Two sources:

* ``pubmedqa`` (PQA-L): each expert-labelled question should find the abstract it was
  written from, among all 1,000 abstracts. The questions paraphrase the papers' titles,
  which are not in the data, so each paper is indexed as ``PMID <id>`` + its abstract.
* ``scifact`` (BEIR layout): each claim should find the abstracts cited as evidence for
  or against it (qrels), among all 5,183 abstracts.

Both measure retrieval at a scale the hand-written seed cases cannot (hundreds of
questions, thousands of papers), which is why generated suites are usually
``retrieval_only``.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from evals.cases import AskCase, CaseError, CaseFile
from store.papers import Paper


@dataclass(frozen=True)
class Generated:
    papers: list[Paper]
    cases: list[AskCase]
    grades: dict[str, dict[str, int]]  # case id -> paper id -> relevance grade


def source_files(suite: CaseFile, shared: Path | None) -> list[Path]:
    """The data files a generated suite reads (for the index key and for clear errors)."""
    assert suite.generate is not None
    if shared is None:
        raise CaseError(f"{suite.path}: generating {suite.generate.source} cases needs the shared data dir (--shared)")
    if suite.generate.source == "pubmedqa":
        root = shared / "data" / "pubmedqa"
        files = [root / "ori_pqal.json", root / "test_ground_truth.json"]
    else:
        root = shared / "data" / "scifact_beir"
        qrels = root / "qrels"
        files = [root / "corpus.jsonl", root / "queries.jsonl", qrels / "test.tsv", qrels / "train.tsv"]
    for path in files:
        if not path.is_file():
            raise CaseError(f"{suite.path}: {suite.generate.source} data file {path} is missing")
    return files


def generate(suite: CaseFile, shared: Path | None) -> Generated:
    """Papers to index and cases to run for a ``generate`` suite."""
    assert suite.generate is not None
    files = source_files(suite, shared)
    made = _pubmedqa(files, suite) if suite.generate.source == "pubmedqa" else _scifact(files, suite)
    limit = suite.generate.limit
    if limit is not None:
        kept = made.cases[:limit]
        made = Generated(made.papers, kept, {c.id: made.grades[c.id] for c in kept})
    return made


def _contexts(value: object) -> str:
    if isinstance(value, str):  # some copies store the list as its Python repr
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return str(value)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _pubmedqa(files: list[Path], suite: CaseFile) -> Generated:
    assert suite.generate is not None
    try:
        data = json.loads(files[0].read_text(encoding="utf-8"))
        test_ids = set(json.loads(files[1].read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise CaseError(f"{suite.path}: cannot read PubMedQA data: {exc}") from None
    papers: list[Paper] = []
    cases: list[AskCase] = []
    grades: dict[str, dict[str, int]] = {}
    split = suite.generate.split
    for pmid in sorted(data):
        row = data[pmid]
        pid = f"pubmed-{pmid}"
        papers.append(Paper(id=pid, title=f"PMID {pmid}", abstract=_contexts(row["CONTEXTS"])))
        if split == "all" or (split == "test") == (pmid in test_ids):
            cid = f"pubmedqa-{pmid}"
            cases.append(AskCase(id=cid, question=str(row["QUESTION"]), expect=[pid]))
            grades[cid] = {pid: 1}
    return Generated(papers, cases, grades)


def _scifact(files: list[Path], suite: CaseFile) -> Generated:
    assert suite.generate is not None
    corpus_path, queries_path, test_path, train_path = files
    papers = []
    with corpus_path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            papers.append(Paper(id=f"sf{row['_id']}", title=row.get("title") or "", abstract=row["text"]))
    queries: dict[str, str] = {}
    with queries_path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            queries[str(row["_id"])] = row["text"]
    split = suite.generate.split
    qrels: dict[str, dict[str, int]] = {}
    for path in [p for name, p in (("test", test_path), ("train", train_path)) if split in (name, "all")]:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            parts = line.split("\t")
            if i == 0 and not parts[-1].strip().lstrip("-").isdigit():
                continue  # header
            qid, did, grade = parts[0], parts[1], int(parts[2])
            if grade > 0:
                qrels.setdefault(qid, {})[f"sf{did}"] = grade
    cases = []
    grades: dict[str, dict[str, int]] = {}
    for qid in sorted(qrels, key=lambda q: int(q) if q.isdigit() else q):
        if qid not in queries:
            continue
        cid = f"scifact-{qid}"
        cases.append(AskCase(id=cid, question=queries[qid], expect=sorted(qrels[qid])))
        grades[cid] = qrels[qid]
    return Generated(papers, cases, grades)
