"""Eval indexes: built once per corpus and settings, reused while unchanged, rebuilt when changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.settings import load_settings
from evals.cases import CaseError, parse_case_file
from evals.corpus import open_suite_index, resolve_papers
from tests.support.papers_fixture import PAPERS, write_jsonl

SUITE = "suite: {name}\ncorpus: {{paths: [papers.jsonl]}}\ncases:\n  - id: q\n    question: Why so?\n    expect: [x]\n"


def _suite(tmp_path: Path, name: str = "mini"):  # type: ignore[no-untyped-def]
    return parse_case_file(SUITE.format(name=name), str(tmp_path / f"{name}.yaml"))


@pytest.mark.slow
def test_index_is_reused_until_the_corpus_changes(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "papers.jsonl", PAPERS[:2])
    settings = load_settings(data_dir=tmp_path / "data")
    cache = tmp_path / "cache"
    statuses: list[str] = []
    with open_suite_index(_suite(tmp_path), settings, cache, shared=None, on_status=statuses.append) as index:
        first = index.config.data_dir
        assert index.catalog.count_papers() == 2
    with open_suite_index(_suite(tmp_path, "mini-two"), settings, cache, shared=None):
        pass  # another suite whose name starts with this one's
    with open_suite_index(_suite(tmp_path), settings, cache, shared=None, on_status=statuses.append) as index:
        assert index.config.data_dir == first
    assert len(statuses) == 1  # built once, then reused

    write_jsonl(tmp_path / "papers.jsonl", PAPERS[:3])
    with open_suite_index(_suite(tmp_path), settings, cache, shared=None, on_status=statuses.append) as index:
        assert index.config.data_dir != first and index.catalog.count_papers() == 3
    assert not first.exists()  # the stale index is gone
    assert len(list((cache / "index").glob("mini-two-*"))) == 1  # the other suite's index is not

    with open_suite_index(_suite(tmp_path), settings, cache, shared=None) as index:
        assert resolve_papers(index, ["2501.00002", "tile-based contrastive loss for near-unlimited batch sizes"],
                              where="f: case q") == [
            ("2501.00002", "Speculative Decoding with Tiny Draft Models"),
            ("2501.00001", "Tile-Based Contrastive Loss for Near-Unlimited Batch Sizes"),
        ]
        with pytest.raises(CaseError, match="f: case q: expected paper 'Tile-Based' is not in the index"):
            resolve_papers(index, ["Tile-Based"], where="f: case q")  # titles match whole, never by prefix


def test_missing_corpus_or_shared_dir_is_a_case_error(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    with pytest.raises(CaseError, match=r"mini\.yaml: corpus path .*papers\.jsonl does not exist"):
        open_suite_index(_suite(tmp_path), settings, tmp_path / "cache", shared=None)
    shared = parse_case_file(SUITE.format(name="s").replace("papers.jsonl", "'{shared}/seeds'"), "s.yaml")
    with pytest.raises(CaseError, match=r"s\.yaml: corpus path \{shared\}/seeds needs the shared data dir"):
        open_suite_index(shared, settings, tmp_path / "cache", shared=None)
