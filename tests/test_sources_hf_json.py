"""Hugging Face Daily Papers JSON: 2024 and 2026 API schemas, the curated dict, bad shapes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from store.errors import SourceError
from store.sources.hf_json import parse_hf_daily

HF = "data/hf_daily_papers"


def _load(shared_dir: Path, name: str) -> Any:
    return json.loads((shared_dir / HF / name).read_text(encoding="utf-8"))


def _item(**paper: object) -> dict[str, object]:
    """A minimal API item: only what the parser requires, plus overrides."""
    body: dict[str, object] = {"id": "2410.00001", "title": "A Title", "summary": "An abstract."}
    body.update(paper)
    return {"paper": {k: v for k, v in body.items() if v is not None}}


@pytest.mark.shared
def test_2024_schema(shared_dir: Path) -> None:
    papers = parse_hf_daily(
        _load(shared_dir, "raw_api_2024-10-25_first2items.json"), source="hf-api"
    )
    assert [p.id for p in papers] == ["2410.17243", "2410.16251"]
    first = papers[0]
    # The API hard-wraps the title ("Scaling for\n  Contrastive Loss"); it comes out on one line.
    assert first.title == (
        "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    )
    assert first.abstract.startswith("Contrastive loss is a powerful approach for representation")
    assert "\n" not in first.abstract
    assert first.authors[:2] == ("Zesen Cheng", "Hang Zhang")
    assert len(first.authors) == 9
    assert first.published == date(2024, 10, 22)
    assert first.listing_dates == (date(2024, 10, 25),)  # the item's top-level publishedAt
    assert first.upvotes == 64
    assert first.arxiv_id == "2410.17243"
    assert first.url == "https://arxiv.org/abs/2410.17243"
    assert first.sources == ("hf-api",)
    assert first.keywords == ()


@pytest.mark.shared
def test_2026_schema_single_item(shared_dir: Path) -> None:
    papers = parse_hf_daily(
        _load(shared_dir, "raw_api_2026-03_single_item_from_doc.json"), source="hf-api"
    )
    assert len(papers) == 1
    paper = papers[0]
    assert paper.id == "2602.23229"
    assert paper.title == "Large Multimodal Models as General In-Context Classifiers"
    assert paper.published == date(2026, 2, 26)
    assert paper.listing_dates == (date(2026, 3, 6),)  # submittedOnDailyAt wins
    assert paper.upvotes == 10
    assert paper.keywords[:2] == ("Vision-Language Models", "Large Multimodal Models")
    assert len(paper.keywords) == 9
    assert paper.authors[-1] == "Elisa Ricci"


@pytest.mark.shared
def test_listing_date_argument_overrides(shared_dir: Path) -> None:
    papers = parse_hf_daily(
        _load(shared_dir, "raw_api_2026-03_single_item_from_doc.json"),
        source="hf-api",
        listing_date=date(2026, 3, 7),
    )
    assert papers[0].listing_dates == (date(2026, 3, 7),)


@pytest.mark.shared
def test_paperexplorer_curated_dict(shared_dir: Path) -> None:
    papers = parse_hf_daily(
        _load(shared_dir, "paperexplorer_2024/papers.json"), source="file:papers.json"
    )
    assert len(papers) == 753
    larp = papers[0]
    assert larp.id == larp.arxiv_id == "2312.17653"
    assert larp.title == "LARP: Language-Agent Role Play for Open-World Games"
    assert larp.authors == (
        "Ming Yan", "Ruihao Li", "Hao Zhang", "Hao Wang", "Zhilan Yang", "Ji Yan",
    )  # fmt: skip
    assert larp.upvotes == 29
    assert larp.published == date(2023, 12, 24)
    assert larp.listing_dates == (date(2023, 12, 24),)
    assert larp.abstract.endswith("https://miao-ai-lab.github.io/LARP/.")
    assert "\n" not in larp.abstract
    assert larp.url == "https://arxiv.org/abs/2312.17653"


def test_minimal_item_without_optional_fields() -> None:
    paper = parse_hf_daily([_item()], source="hf-api")[0]
    assert (paper.id, paper.title, paper.abstract) == ("2410.00001", "A Title", "An abstract.")
    assert paper.authors == () and paper.keywords == ()
    assert paper.upvotes is None and paper.published is None and paper.listing_dates == ()


def test_item_without_arxiv_id_uses_title_hash_and_hf_url() -> None:
    paper = parse_hf_daily(_item(id="not-arxiv"), source="hf-api")[0]
    assert paper.arxiv_id is None
    assert paper.id.startswith("t-")
    assert paper.url == "https://huggingface.co/papers/not-arxiv"


def test_item_level_title_stands_in_for_missing_paper_title() -> None:
    item = _item(title=None)
    item["title"] = "Top Level Title"
    assert parse_hf_daily(item, source="hf-api")[0].title == "Top Level Title"


def test_empty_list_is_no_papers() -> None:
    assert parse_hf_daily([], source="hf-api") == []


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        ([_item(), _item(title=None)], r"^day\.json:\[1\]\.paper\.title: missing$"),
        ([_item(summary=None)], r"^day\.json:\[0\]\.paper\.summary: missing$"),
        ([_item(summary=42)], r"^day\.json:\[0\]\.paper\.summary: expected a string, got int"),
        ([{"title": "x"}], r"^day\.json:\[0\]\.paper: missing$"),
        ([{"paper": "x"}], r"^day\.json:\[0\]\.paper: expected an object, got str"),
        (["x"], r"^day\.json:\[0\]: expected an object, got str"),
        (
            [_item(publishedAt="soon")],
            r"^day\.json:\[0\]\.paper\.publishedAt: 'soon' is not a date",
        ),
        ([_item(publishedAt="1970-01-01")], r"^day\.json:\[0\]\.paper\.publishedAt: date 1970"),
        ([_item(summary="x" * 100_001)], r"^day\.json:\[0\]\.paper\.summary: abstract is 100,001"),
        ({"a": 1}, r"^day\.json: unexpected JSON shape \(dict\)"),
        ("text", r"^day\.json: unexpected JSON shape \(str\)"),
        ({"2401.1": {"title": "T"}}, r"^day\.json:\['2401\.1'\]\.abstract: missing$"),
    ],
)
def test_wrong_shapes_name_the_json_path(data: object, pattern: str) -> None:
    with pytest.raises(SourceError, match=pattern):
        parse_hf_daily(data, source="hf-api", origin="day.json")
