"""arXiv API Atom feeds: 2026 and 2016 formats, JSON recordings, error and empty feeds."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from store.errors import SourceError
from store.sources.arxiv_atom import AtomPage, parse_atom, repair_mojibake

FIX = "data/arxiv_atom_fixtures"
NEW = f"{FIX}/new_api_2026_xml"
OLD = f"{FIX}/old_api_xml"


def _xml(shared_dir: Path, rel: str) -> bytes:
    return (shared_dir / rel).read_bytes()


def _parse(shared_dir: Path, rel: str) -> AtomPage:
    """Parse a stored response from its bytes, as the live fetcher does."""
    return parse_atom(_xml(shared_dir, rel), source="arxiv-api")


@pytest.mark.shared
def test_single_paper_2026(shared_dir: Path) -> None:
    page = _parse(shared_dir, f"{NEW}/id_1707.08567_s0_m100_6a1afebfc6a3.xml")
    assert (page.total_results, page.start_index, page.items_per_page) == (1, 0, 100)
    [paper] = page.papers
    assert paper.id == paper.arxiv_id == "1707.08567"  # "v1" dropped
    assert paper.title == (
        "Proceedings of Workshop AEW10: Concepts in Information Theory and Communications"
    )
    assert paper.abstract.startswith('The 10th Asia-Europe workshop in "Concepts in Information')
    assert paper.authors[0] == "Kees A. Schouhamer Immink"
    assert "Peter H. N. de With" in paper.authors
    assert paper.published == date(2017, 7, 27)
    assert paper.listing_dates == (date(2017, 7, 27),)  # no announce date in the API
    assert paper.categories == ("cs.IT",)
    assert paper.url == "https://arxiv.org/abs/1707.08567"
    assert paper.sources == ("arxiv-api",)


@pytest.mark.shared
def test_old_style_ids(shared_dir: Path) -> None:
    astro = _parse(shared_dir, f"{NEW}/id_astro-ph_0601001_s0_m100_3150dca9dc76.xml").papers[0]
    assert astro.arxiv_id == "astro-ph/0601001"
    assert astro.url == "https://arxiv.org/abs/astro-ph/0601001"
    # &amp; and &lt; in the feed are decoded once, not twice.
    assert "Gould & Morgan (2003)" in astro.abstract
    assert "V_max<17.5" in astro.abstract
    quant = _parse(shared_dir, f"{NEW}/id_quant-ph_0201082v1_s0_m100_86989fe779ef.xml").papers[0]
    assert quant.arxiv_id == "quant-ph/0201082"


@pytest.mark.shared
def test_paging_numbers(shared_dir: Path) -> None:
    page = _parse(shared_dir, f"{NEW}/q_testing_s20_m10_348a237fecab.xml")
    assert (page.total_results, page.start_index, page.items_per_page) == (214881, 20, 10)
    assert len(page.papers) == 10
    assert page.papers[0].arxiv_id == "2008.01944"
    big = _parse(shared_dir, f"{NEW}/q_testing_s0_m100_cfe7536492ca.xml")
    assert len(big.papers) == 100
    assert len({p.id for p in big.papers}) == 100


@pytest.mark.shared
def test_2016_format(shared_dir: Path) -> None:
    page = _parse(shared_dir, f"{OLD}/id_list=1111.2011v2.xml")
    assert (page.total_results, page.start_index, page.items_per_page) == (1, 0, 10)
    [paper] = page.papers
    assert paper.arxiv_id == "1111.2011"
    assert paper.title == (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert paper.abstract.startswith("Theoretical description of anisotropic systems, such as")
    assert paper.abstract.endswith("the theory describing a single node.")
    assert paper.authors == ("James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic")
    assert paper.categories == ("cond-mat.str-el", "cond-mat.stat-mech")  # primary first
    assert paper.published == date(2011, 11, 8)
    many = _parse(shared_dir, f"{OLD}/search_query=au_del_maestro.xml")
    assert (many.total_results, len(many.papers)) == (31, 10)


@pytest.mark.shared
def test_json_recordings_match_their_xml_twins(shared_dir: Path) -> None:
    """The recordings' bodies were decoded as Latin-1; the parser repairs that (Ramírez)."""
    json_dir = shared_dir / FIX / "new_api_2026_json"
    checked = 0
    for path in sorted(json_dir.glob("q_testing_*.json")) + sorted(json_dir.glob("id_1*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))["body"]
        twin = shared_dir / NEW / (path.stem + ".xml")
        assert parse_atom(body, source="arxiv-api") == parse_atom(
            twin.read_bytes(), source="arxiv-api"
        )
        checked += 1
    assert checked >= 10
    body = json.loads((json_dir / "q_testing_s0_m10_bc5a6c384fe9.json").read_text())["body"]
    authors = [a for p in parse_atom(body, source="arxiv-api").papers for a in p.authors]
    assert "Aurora Ramírez" in authors


def test_repair_mojibake_leaves_correct_text_alone() -> None:
    assert repair_mojibake("RamÃ\xadrez") == "Ramírez"
    assert repair_mojibake("Ramírez") == "Ramírez"
    assert repair_mojibake("Ω ascii") == "Ω ascii"


@pytest.mark.shared
def test_error_feed_raises_api_error(shared_dir: Path) -> None:
    with pytest.raises(SourceError) as info:
        _parse(shared_dir, f"{NEW}/id_abc_s0_m100_b79c8dcf6bc3.xml")
    assert str(info.value) == "arxiv-api: arXiv API error: incorrect id format for abc"
    assert info.value.location == "arxiv-api"


@pytest.mark.shared
def test_empty_feed_is_a_page_without_papers(shared_dir: Path) -> None:
    page = _parse(shared_dir, f"{NEW}/id_0000.0000_s0_m100_8b51d9633a68.xml")
    assert page.papers == []
    assert (page.total_results, page.start_index, page.items_per_page) == (0, 0, 100)


FEED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom">\n'
    "{entries}</feed>\n"
)


def _entry(
    id_: str = "http://arxiv.org/abs/2401.00001v2", title: str = "T", summary: str = "S"
) -> str:
    return (
        f"<entry><id>{id_}</id><title>{title}</title><summary>{summary}</summary>"
        "<published>2024-01-01T00:00:00Z</published></entry>\n"
    )


def test_missing_opensearch_numbers_default_to_the_page() -> None:
    page = parse_atom(FEED.format(entries=_entry()), source="arxiv-api")
    assert (page.total_results, page.start_index, page.items_per_page) == (1, 0, 1)
    assert page.papers[0].id == "2401.00001"


def test_malformed_xml_names_the_line() -> None:
    broken = FEED.format(entries=_entry()).replace("</title>", "</titel>")
    with pytest.raises(SourceError, match=r"^feed\.xml:3: malformed XML: mismatched tag"):
        parse_atom(broken, source="arxiv-api", origin="feed.xml")


def test_truncated_xml_is_malformed() -> None:
    body = FEED.format(entries=_entry())[:-20].encode()
    with pytest.raises(SourceError, match=r"^arxiv-api:\d+: malformed XML"):
        parse_atom(body, source="arxiv-api")


def test_doctype_is_refused() -> None:
    body = '<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">]><feed/>'
    with pytest.raises(SourceError, match="DOCTYPE is not accepted"):
        parse_atom(body, source="arxiv-api")


def test_other_root_is_not_a_feed() -> None:
    with pytest.raises(SourceError, match=r"not an Atom feed \(root element is <html>\)"):
        parse_atom("<html><body>502</body></html>", source="arxiv-api")


@pytest.mark.parametrize(
    ("entry", "pattern"),
    [
        (
            _entry(id_="http://example.org/x"),
            r"^f:entry\[0\]\.id: 'http://example\.org/x' is not an arXiv id",
        ),
        (_entry(title=" "), r"^f:entry\[0\]\.title: missing"),
        (_entry(summary=""), r"^f:entry\[0\]\.summary: missing"),
        (_entry(summary="x" * 100_001), r"^f:entry\[0\]\.summary: abstract is 100,001 characters"),
    ],
)
def test_bad_entries_name_the_entry_and_field(entry: str, pattern: str) -> None:
    with pytest.raises(SourceError, match=pattern):
        parse_atom(FEED.format(entries=entry), source="arxiv-api", origin="f")
