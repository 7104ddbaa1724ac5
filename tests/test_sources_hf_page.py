"""Saved Hugging Face Papers listing pages: the two real seed pages and every failure mode."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from store.errors import SourceError
from store.papers import Paper, dedupe, paper_id_for
from store.sources.hf_page import HEADER_LINES, infer_year, looks_like_title, parse_hf_page

TODAY = date(2026, 4, 1)
# the page chrome lines the parser knows (it compares them case-insensitively), one per paragraph
HEADER = "".join(line + "\n\n" for line in sorted(HEADER_LINES))
ABSTRACT = (
    "We study a problem that matters. Our method improves the state of the art by a wide "
    "margin on three benchmarks, and we release code. Real abstracts are long (the shortest "
    "on the seed pages has 1,396 characters), and length is one of the signals that tell an "
    "abstract from a title, so this stand-in is longer than any title could be: over three "
    "hundred characters."
)


def _page(*paragraphs: str, date_line: str = "Mar 13") -> str:
    return HEADER + date_line + "\n\n" + "\n\n".join(paragraphs) + "\n"


def _parse(text: str, **kwargs: object) -> list[Paper]:
    kwargs.setdefault("today", TODAY)
    return parse_hf_page(text, source="hf-page:p.txt", **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def seeds(shared_dir: Path) -> tuple[list[Paper], list[Paper]]:
    """Both real seed pages, parsed once for the module."""
    seed = shared_dir / "seeds"
    first = parse_hf_page(
        (seed / "000_f7422311099462f1.txt").read_text(encoding="utf-8"),
        source="hf-page:000_f7422311099462f1.txt",
        today=TODAY,
    )
    second = parse_hf_page(
        (seed / "001_a834c5e8dd613bd9.txt").read_text(encoding="utf-8"),
        source="hf-page:001_a834c5e8dd613bd9.txt",
        today=TODAY,
    )
    return first, second


@pytest.mark.shared
def test_seed_pages_count_and_dates(seeds: tuple[list[Paper], list[Paper]]) -> None:
    first, second = seeds
    assert len(first) == 80
    assert len(second) == 68
    assert {p.listing_dates for p in first} == {(date(2026, 3, 13),)}
    assert {p.listing_dates for p in second} == {(date(2026, 3, 11),)}
    assert {p.sources for p in first} == {("hf-page:000_f7422311099462f1.txt",)}


@pytest.mark.shared
def test_seed_pages_pair_titles_with_their_abstracts(
    seeds: tuple[list[Paper], list[Paper]],
) -> None:
    first, second = seeds
    assert (
        first[0].title
        == "IBCL: Zero-shot Model Generation for Task Trade-offs in Continual Learning"
    )
    assert first[0].abstract.startswith("Like generic multi-task learning, continual learning")
    assert (
        first[-1].title
        == "Generative AI vs. AGI: The Cognitive Strengths and Weaknesses of Modern LLMs"
    )
    assert first[-1].abstract.endswith("human-level AGI were at hand.")
    assert second[-1].title.startswith("A Unified Generative Retriever for Knowledge-Intensive")
    # No title is an abstract and no abstract is a title.
    for paper in first + second:
        assert len(paper.title) <= 123
        assert len(paper.abstract) >= 1396
        assert paper.id == paper_id_for(paper.title, None)
        assert paper.arxiv_id is None


@pytest.mark.shared
def test_seed_page_keeps_non_english_text_and_decodes_latex_accents(
    seeds: tuple[list[Paper], list[Paper]],
) -> None:
    _, second = seeds
    etude = next(p for p in second if p.title.startswith("Étude cognitive"))
    assert etude.title.endswith("système de gestion de connaissances médicales")
    assert "Cet article décrit le projet Cogni-CISMeF" in etude.abstract
    assert "\\'" not in etude.abstract
    anomalous = next(p for p in second if p.title == "Are we certain it's anomalous?")
    assert anomalous.abstract.startswith("The progress in modelling time series")


@pytest.mark.shared
def test_seed_pages_share_17_papers_131_distinct(seeds: tuple[list[Paper], list[Paper]]) -> None:
    first, second = seeds
    merged = dedupe(first + second)
    assert len(merged) == 131
    both = [p for p in merged if len(p.listing_dates) == 2]
    assert len(both) == 17
    inverse = next(p for p in both if p.title == "Inverse Scaling: When Bigger Isn't Better")
    assert inverse.listing_dates == (date(2026, 3, 11), date(2026, 3, 13))
    assert set(inverse.sources) == {
        "hf-page:000_f7422311099462f1.txt",
        "hf-page:001_a834c5e8dd613bd9.txt",
    }


def test_year_is_latest_not_in_the_future() -> None:
    assert _parse(_page("A Title", ABSTRACT), today=date(2026, 3, 13))[0].listing_dates == (
        date(2026, 3, 13),
    )
    assert _parse(_page("A Title", ABSTRACT), today=date(2026, 3, 12))[0].listing_dates == (
        date(2025, 3, 13),
    )
    assert infer_year(2, 29, date(2026, 3, 1)) == 2024


def test_explicit_year_wins() -> None:
    papers = _parse(_page("A Title", ABSTRACT), year=2024)
    assert papers[0].listing_dates == (date(2024, 3, 13),)


def test_full_month_name_and_crlf_and_bom_are_accepted() -> None:
    text = "\ufeff" + _page("A Title", ABSTRACT, date_line="March 13").replace("\n", "\r\n")
    papers = _parse(text)
    assert [p.title for p in papers] == ["A Title"]
    assert papers[0].listing_dates == (date(2026, 3, 13),)


def test_hard_wrapped_paragraphs_are_joined() -> None:
    papers = _parse(_page("A Long Title\nWrapped Over Two Lines", "First half of the\nabstract."))
    assert papers[0].title == "A Long Title Wrapped Over Two Lines"
    assert papers[0].abstract == "First half of the abstract."


def test_abstract_split_across_two_paragraphs_stays_one_abstract() -> None:
    text = _page(
        "First Paper",
        "An abstract that was cut in the middle of a sentence because of",
        "a stray blank line, which the parser must join back.",
        "Second Paper",
        ABSTRACT,
    )
    papers = _parse(text)
    assert [p.title for p in papers] == ["First Paper", "Second Paper"]
    assert papers[0].abstract == (
        "An abstract that was cut in the middle of a sentence because of "
        "a stray blank line, which the parser must join back."
    )


def test_abstract_with_a_second_full_paragraph() -> None:
    text = _page(
        "First Paper", ABSTRACT, "Code and data: https://example.org/x", "Second", ABSTRACT
    )
    papers = _parse(text)
    assert [p.title for p in papers] == ["First Paper", "Second"]
    assert papers[0].abstract == ABSTRACT + " Code and data: https://example.org/x"


def test_very_short_abstract_is_still_paired() -> None:
    papers = _parse(_page("Tiny Paper", "We show it", "Next Paper", ABSTRACT))
    assert [(p.title, p.abstract) for p in papers] == [
        ("Tiny Paper", "We show it"),
        ("Next Paper", ABSTRACT),
    ]


def test_abstract_ending_in_url_is_followed_by_a_title() -> None:
    text = _page("One", ABSTRACT + " See https://x.io", "Two", ABSTRACT)
    assert [p.title for p in _parse(text)] == ["One", "Two"]


def test_title_ending_in_a_period_is_still_a_title() -> None:
    text = _page("A Title.", ABSTRACT, "Another Title Ending In A Period.", ABSTRACT)
    papers = _parse(text)
    assert [p.title for p in papers] == ["A Title.", "Another Title Ending In A Period."]
    assert {p.abstract for p in papers} == {ABSTRACT}


def test_short_closing_sentence_paragraph_stays_in_the_abstract() -> None:
    text = _page("One", ABSTRACT, "Code is available.", "Two", ABSTRACT)
    papers = _parse(text)
    assert [p.title for p in papers] == ["One", "Two"]
    assert papers[0].abstract == ABSTRACT + " Code is available."


def test_looks_like_title_rule() -> None:
    assert looks_like_title("Are we certain it's anomalous?")
    assert not looks_like_title(ABSTRACT)
    assert not looks_like_title("Project page: https://x.io")
    assert not looks_like_title("x" * 301)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (HEADER + "A Title\n\n" + ABSTRACT, r"^p\.txt:9: no date line"),
        (HEADER, r"^p\.txt:1: no date line and no papers"),
        (
            _page("A Title", ABSTRACT, date_line="Feb 30"),
            r"^p\.txt:9: date line 'Feb 30' is not a date",
        ),
        (
            _page("A Title", ABSTRACT, date_line="Foo 12"),
            r"^p\.txt:9: date line 'Foo 12' is not a date",
        ),
        (HEADER + "Mar 13\n", r"^p\.txt:9: the page lists no papers"),
        (
            _page("One", ABSTRACT, "Two"),
            r"^p\.txt:15: title 'Two' has no abstract \(page truncated\?\)",
        ),
        (_page("Only A Title"), r"^p\.txt:11: title 'Only A Title' has no abstract"),
        (_page("One", "Two", ABSTRACT), r"^p\.txt:11: title 'One' has no abstract: the next"),
        (_page(ABSTRACT, "A Title"), r"^p\.txt:11: expected a paper title but found an abstract"),
    ],
)
def test_bad_pages_raise_with_line_numbers(text: str, pattern: str) -> None:
    with pytest.raises(SourceError, match=pattern):
        _parse(text)


def test_feb_29_in_a_common_year_is_rejected() -> None:
    with pytest.raises(SourceError, match=r"^p\.txt:9: date line 'Feb 29' is not a date in 2023"):
        _parse(_page("A Title", ABSTRACT, date_line="Feb 29"), year=2023)


def test_absurd_year_is_rejected() -> None:
    with pytest.raises(SourceError, match=r"^p\.txt:9: date 1985-03-13 is implausible"):
        _parse(_page("A Title", ABSTRACT), year=1985)


def test_abstract_over_limit_names_its_line() -> None:
    with pytest.raises(SourceError, match=r"^p\.txt:13: abstract is 100,001 characters"):
        _parse(_page("A Title", "x" * 100_000 + "."))


def test_origin_names_the_file_in_errors() -> None:
    with pytest.raises(SourceError, match=r"^seeds/x\.txt:1:"):
        parse_hf_page("", source="hf-page:x.txt", origin="seeds/x.txt", today=TODAY)


def _split_abstracts(text: str, where: str) -> str:
    """Insert a blank line inside every abstract (lines over 300 characters) of a page."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if len(line) <= 300:
            continue
        if where == "mid-sentence":  # "... because of" / "a lower-case continuation"
            cut = line.index(" ", len(line) // 2)
            while not line[cut + 1].islower():
                cut = line.index(" ", cut + 1)
        else:  # after the first or before the last sentence
            ends = [m.start() + 1 for m in re.finditer(r"\. (?=[A-Z])", line)]
            cut = ends[0] if where == "first-sentence" else ends[-1]
        lines[i] = line[:cut] + "\n\n" + line[cut + 1 :]
    return "\n".join(lines)


@pytest.mark.shared
@pytest.mark.parametrize("where", ["mid-sentence", "first-sentence", "last-sentence"])
@pytest.mark.parametrize(
    ("name", "count"), [("000_f7422311099462f1.txt", 80), ("001_a834c5e8dd613bd9.txt", 68)]
)
def test_real_abstracts_split_in_two_keep_the_pairing(
    shared_dir: Path, name: str, count: int, where: str
) -> None:
    """Break every real abstract into two paragraphs: same papers, same text."""
    text = (shared_dir / "seeds" / name).read_text(encoding="utf-8")
    whole = parse_hf_page(text, source="hf-page:x.txt", today=TODAY)
    broken = _split_abstracts(text, where)
    assert broken.count("\n\n") == text.count("\n\n") + count  # every abstract was split
    split = parse_hf_page(broken, source="hf-page:x.txt", today=TODAY)
    assert len(split) == count
    assert [(p.title, p.abstract) for p in split] == [(p.title, p.abstract) for p in whole]
