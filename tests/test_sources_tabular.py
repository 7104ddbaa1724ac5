"""JSON Lines and CSV paper files: the real arXiv daily sample, aliases, ids and bad rows."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from store.errors import SourceError
from store.papers import title_hash_id
from store.sources.tabular import arxiv_id_from, parse_csv, parse_jsonl, split_list


def _line(**fields: object) -> str:
    record: dict[str, object] = {"title": "A Title", "abstract": "An abstract."}
    record.update(fields)
    return json.dumps({k: v for k, v in record.items() if v is not None})


@pytest.mark.shared
def test_arxiv_daily_sample(shared_dir: Path) -> None:
    path = shared_dir / "data/arxiv_daily_cs/sample_first1000.jsonl"
    with path.open(encoding="utf-8") as lines:
        papers = parse_jsonl(lines, source="file:sample_first1000.jsonl")
    assert len(papers) == 1000
    first = papers[0]
    assert first.id == first.arxiv_id == "2503.11677"
    assert first.title == (
        "Simulation of prosthetic vision with PRIMA system and enhancement of face representation"
    )
    assert first.authors[:2] == ("Jungyeon Park", "Anna Kochnev Goldstein")
    assert first.categories == ("cs.HC", "cs.CV")
    # arXiv's hard line wraps are folded away.
    assert first.abstract.startswith(
        "Objective. Patients implanted with the PRIMA photovoltaic subretinal prosthesis in"
    )
    assert "\n" not in first.abstract
    assert first.listing_dates == (date(2025, 3, 18),)  # first_seen_date
    assert first.url == "https://arxiv.org/abs/2503.11677"  # abs_url
    assert first.sources == ("file:sample_first1000.jsonl",)
    assert all(p.arxiv_id for p in papers)


def test_jsonl_aliases_and_list_or_string_fields() -> None:
    lines = [
        _line(id="2401.00001v3", authors="Ada Lovelace; Alan Turing", date="2024-01-05"),
        "",
        _line(arxiv_id="cs/0503050", authors="Ada Lovelace, Alan Turing", categories="cs.AI cs.LG"),
        _line(id="corpus-17", authors=["Grace Hopper"], first_seen_date="2024-02-01T10:00:00Z"),
        _line(title="No Id Here", abs_url="https://example.org/p", keywords="rag; retrieval"),
    ]
    a, b, c, d = parse_jsonl(lines, source="file:x.jsonl")
    assert (a.id, a.arxiv_id, a.url) == (
        "2401.00001",
        "2401.00001",
        "https://arxiv.org/abs/2401.00001",
    )
    assert a.authors == ("Ada Lovelace", "Alan Turing")
    assert a.listing_dates == (date(2024, 1, 5),)
    assert (b.id, b.authors, b.categories) == (
        "cs/0503050",
        ("Ada Lovelace", "Alan Turing"),
        ("cs.AI", "cs.LG"),
    )
    assert (c.id, c.arxiv_id, c.authors) == ("corpus-17", None, ("Grace Hopper",))
    assert c.listing_dates == (date(2024, 2, 1),)
    assert (d.id, d.url, d.keywords) == (
        title_hash_id("No Id Here"),
        "https://example.org/p",
        ("rag", "retrieval"),
    )


def test_arxiv_id_from_requires_the_whole_value() -> None:
    assert arxiv_id_from("arXiv:2401.00001v2") == "2401.00001"
    assert arxiv_id_from("https://arxiv.org/abs/hep-th/9901001v1") == "hep-th/9901001"
    assert arxiv_id_from("doc-2401.00001-copy") is None
    assert arxiv_id_from("4983") is None


def test_split_list_prefers_semicolons() -> None:
    assert split_list("Smith, J.; Doe, A.") == ("Smith, J.", "Doe, A.")
    assert split_list(" a ,b,, a") == ("a", "b")
    assert split_list(None) == ()


def test_csv_with_aliases_and_quoted_multiline_abstract() -> None:
    text = (
        "\ufeffID,Title,Abstract,Authors,First_Seen_Date,abs_url\n"
        '2401.00001,First,"Line one\nline two.",Ada;Alan,2024-01-05,https://arxiv.org/abs/2401.00001\n'
        "\n"
        "x-2,Second,Plain abstract.,,,\n"
    )
    first, second = parse_csv(text, source="file:p.csv")
    assert (first.arxiv_id, first.abstract, first.authors) == (
        "2401.00001",
        "Line one line two.",
        ("Ada", "Alan"),
    )
    assert first.listing_dates == (date(2024, 1, 5),)
    assert (second.id, second.authors, second.listing_dates, second.url) == ("x-2", (), (), None)


@pytest.mark.parametrize(
    ("lines", "pattern"),
    [
        ([_line(), "{not json"], r"^x\.jsonl:2: invalid JSON: Expecting property name"),
        ([_line(), "", "[1, 2]"], r"^x\.jsonl:3: expected a JSON object, got list"),
        ([_line(title=None)], r"^x\.jsonl:1: field 'title' is missing or empty"),
        ([_line(abstract="")], r"^x\.jsonl:1: field 'abstract' is missing or empty"),
        ([_line(abstract=["a"])], r"^x\.jsonl:1: field 'abstract' must be text, got list"),
        ([_line(date="2024-13-01")], r"^x\.jsonl:1: field 'date': '2024-13-01' is not a date"),
        ([_line(first_seen_date="1985-01-01")], r"^x\.jsonl:1: field 'first_seen_date': date 1985"),
        ([_line(date="2999-01-01")], r"^x\.jsonl:1: field 'date': date 2999-01-01 is implausible"),
        ([_line(upvotes="many")], r"^x\.jsonl:1: field 'upvotes': 'many' is not a whole number"),
        ([_line(), _line(abstract="y" * 5_000_000)], r"^x\.jsonl:2: field 'abstract' is 5,000,000"),
    ],
)
def test_bad_jsonl_names_line_and_field(lines: list[str], pattern: str) -> None:
    with pytest.raises(SourceError, match=pattern):
        parse_jsonl(lines, source="file:x.jsonl")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "id,title,authors\n1,T,A\n",
            r"^p\.csv:1: missing required column 'abstract' \(columns: id",
        ),
        ("", r"^p\.csv:1: CSV has no header row"),
        ("title,abstract\nT,A\nU,\n", r"^p\.csv:3: field 'abstract' is missing or empty"),
        ("title,abstract\nT,A,extra\n", r"^p\.csv:2: 3 fields but the header has 2"),
        (
            "title,abstract,date\nT,A,13/01/2024\n",
            r"^p\.csv:2: field 'date': '13/01/2024' is not a date",
        ),
        (
            'title,abstract\nT,"' + "z" * 200_000 + '"\n',
            r"^p\.csv:2: (a field is over|field 'abstract' is 200,000)",
        ),
    ],
)
def test_bad_csv_names_line_and_column(text: str, pattern: str) -> None:
    with pytest.raises(SourceError, match=pattern):
        parse_csv(text, source="file:p.csv")
