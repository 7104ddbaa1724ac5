"""Eval suites over ../shared: the seed cases name real papers, the generated sets build from the data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from evals.cases import AskCase, BriefCase, CompareCase, load_case_file
from evals.generate import generate
from store.ingest import IngestReport, load_files
from store.papers import title_key
from tests.conftest import REPO

pytestmark = pytest.mark.shared


def test_every_seed_case_names_papers_on_the_seed_pages(shared_dir: Path) -> None:
    suite = load_case_file(REPO / "evals" / "cases" / "seeds.yaml")
    assert suite.corpus is not None
    papers = load_files([shared_dir / "seeds"], IngestReport(), year=suite.corpus.year)
    titles = {title_key(p.title): p for p in papers}
    for case in suite.cases:
        if isinstance(case, AskCase):
            named = case.expect
        elif isinstance(case, CompareCase):
            named = [p.paper for p in case.papers]
        else:
            assert isinstance(case, BriefCase)
            named = case.papers
            for title in named:  # a brief's papers must be listed inside its window
                days = titles[title_key(title)].listing_dates
                assert any(case.since <= d <= case.until for d in days), (case.id, title, days)
        for title in named:
            assert title_key(title) in titles, (case.id, title)
    assert {d for p in papers for d in p.listing_dates} == {date(2024, 3, 11), date(2024, 3, 13)}


def test_generated_suites_build_cases_from_the_shared_data(shared_dir: Path) -> None:
    pubmed = load_case_file(REPO / "evals" / "cases" / "generated" / "pubmedqa.yaml")
    made = generate(pubmed, shared_dir)
    assert len(made.papers) == 1000 and len(made.cases) == 500  # PQA-L, test split
    case = made.cases[0]
    assert case.expect == [case.id.replace("pubmedqa-", "pubmed-")] and case.question.endswith("?")
    assert {p.id for p in made.papers} >= {c.expect[0] for c in made.cases}
    scifact = load_case_file(REPO / "evals" / "cases" / "generated" / "scifact.yaml")
    made = generate(scifact, shared_dir)
    assert len(made.papers) == 5183 and len(made.cases) == 300  # BEIR test qrels
    ids = {p.id for p in made.papers}
    assert all(set(c.expect) <= ids for c in made.cases)
    assert any(len(c.expect) > 1 for c in made.cases)  # some claims cite several abstracts
