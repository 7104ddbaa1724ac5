"""Paper ids, normalisation keys and merging of sightings."""

from __future__ import annotations

from datetime import date

from store.papers import Paper, dedupe, merge_papers, normalize_arxiv_id, paper_id_for, title_key


def test_arxiv_ids() -> None:
    assert normalize_arxiv_id("http://arxiv.org/abs/2202.12139v1") == "2202.12139"
    assert normalize_arxiv_id("https://arxiv.org/pdf/2410.17243") == "2410.17243"
    assert normalize_arxiv_id("astro-ph/0601001v2") == "astro-ph/0601001"
    assert normalize_arxiv_id("not an id") is None
    assert normalize_arxiv_id(None) is None


def test_title_key_folds_case_accents_punctuation() -> None:
    assert title_key("Café: A  Study!") == title_key("cafe - a study")
    assert paper_id_for("Café: A Study", None) == paper_id_for("CAFE a study", None)
    assert paper_id_for("x", "2501.00001") == "2501.00001"


def test_merge_keeps_every_date_and_source_and_best_fields() -> None:
    a = Paper(
        id="t-1", title="T", abstract="short", listing_dates=(date(2025, 3, 13),), sources=("hf-page:a",), upvotes=3
    )
    b = Paper(
        id="2501.1", title="T", abstract="a longer abstract", listing_dates=(date(2025, 3, 11),),
        sources=("hf-api",), upvotes=1, arxiv_id="2501.1",
    )
    m = merge_papers(a, b)
    assert m.id == "2501.1" and m.arxiv_id == "2501.1"
    assert m.listing_dates == (date(2025, 3, 11), date(2025, 3, 13))
    assert m.sources == ("hf-page:a", "hf-api")
    assert m.abstract == "a longer abstract" and m.upvotes == 3
    revised = merge_papers(m, Paper(id="2501.1", title="T", abstract="revised"))
    assert revised.abstract == "revised"
    truncated = merge_papers(m, Paper(id="2501.1", title="T", abstract="a longer …"))
    assert truncated.abstract == "a longer abstract"


def test_dedupe_by_id_and_title() -> None:
    p1 = Paper(id=paper_id_for("Same Title", None), title="Same Title", abstract="x", listing_dates=(date(2025, 1, 1),))
    p2 = Paper(
        id=paper_id_for("same title!", None), title="same title!", abstract="x", listing_dates=(date(2025, 1, 2),)
    )
    p3 = Paper(id="2501.2", title="Other", abstract="y")
    out = dedupe([p1, p2, p3, p3])
    assert len(out) == 2
    assert out[0].listing_dates == (date(2025, 1, 1), date(2025, 1, 2))


def test_json_round_trip() -> None:
    p = Paper(id="2501.3", title="T", abstract="A", authors=("X",), published=date(2025, 1, 1), keywords=("k",))
    assert Paper.from_json(p.to_json()) == p
    assert p.content_hash == Paper.from_json(p.to_json()).content_hash
