"""normalize_text / normalize_title and the shared field checks."""

from __future__ import annotations

from datetime import date

import pytest

from store.errors import SourceError
from store.text import (
    check_abstract,
    check_date,
    location_for,
    normalize_text,
    normalize_title,
    parse_iso_date,
)


def test_hard_wraps_and_paragraphs_fold_to_single_spaces() -> None:
    raw = "Contrastive loss is a powerful approach for representation learning, where\nlarger batch"
    assert normalize_text(raw) == (
        "Contrastive loss is a powerful approach for representation learning, where larger batch"
    )
    assert normalize_text("  one\n\n\ttwo\u00a0 three\r\nfour  ") == "one two three four"


def test_html_entities_are_decoded_but_bare_ampersands_kept() -> None:
    assert (
        normalize_text("Gould &amp; Morgan &#39;03&#x27; V&lt;17.5") == "Gould & Morgan '03' V<17.5"
    )
    # Without the ';' it is not an entity: html.unescape alone would make "x¬ation".
    assert normalize_text("R&D x&notation Q&A;") == "R&D x&notation Q&A;"


def test_control_and_invisible_characters_are_stripped() -> None:
    assert normalize_text("ab\x00c\x07d\u200be\ufefff\u00adg") == "abcdefg"


def test_nfc_normalization_composes_accents() -> None:
    decomposed = "Re\u0301sume\u0301"
    assert normalize_text(decomposed) == "Résumé"
    assert len(normalize_text(decomposed)) == 6


def test_latex_math_and_markup_stay_readable_as_is() -> None:
    raw = r"costs $\mathcal{O}(n)$ with M^{3}ViT, 3.2\% better, see \url{x} and \underline{y}"
    assert normalize_text(raw) == raw


def test_latex_accent_escapes_become_letters() -> None:
    raw = r"Cet article d\'ecrit \`a int\'egrer, r\^ole; Fr\'echet na\"ive {\"U}ber \c{c}a \v{S}"
    assert normalize_text(raw) == "Cet article décrit à intégrer, rôle; Fréchet naïve Über ça Š"


def test_backslash_escaped_quotes_are_not_accents() -> None:
    assert normalize_text(r"the model\'s output") == "the model's output"
    assert normalize_text(r"a \"quoted\" word") == 'a "quoted" word'


def test_normalize_title_is_one_line() -> None:
    raw = "Quantum Criticality on a Bethe Lattice in the Large\n  Connectivity Limit"
    title = normalize_title(raw)
    assert "\n" not in title
    assert title.endswith("Large Connectivity Limit")


def test_empty_input_gives_empty_string() -> None:
    assert normalize_text("") == ""
    assert normalize_text(" \n\t ") == ""


def test_check_abstract_rejects_over_100k_characters() -> None:
    assert check_abstract("x" * 100_000, "f.jsonl:3") == "x" * 100_000
    with pytest.raises(SourceError, match=r"^f\.jsonl:3: abstract is 100,001 characters"):
        check_abstract("x" * 100_001, "f.jsonl:3")


def test_check_date_bounds() -> None:
    today = date(2026, 3, 1)
    assert check_date(date(1990, 1, 1), "f", today=today) == date(1990, 1, 1)
    assert check_date(date(2027, 3, 1), "f", today=today) == date(2027, 3, 1)
    with pytest.raises(SourceError, match="1989-12-31 is implausible"):
        check_date(date(1989, 12, 31), "f", today=today)
    with pytest.raises(SourceError, match="2027-03-02 is implausible"):
        check_date(date(2027, 3, 2), "f", today=today)


def test_parse_iso_date_accepts_timestamps_and_names_bad_values() -> None:
    assert parse_iso_date("2024-10-25T00:57:09.392Z", "f") == date(2024, 10, 25)
    with pytest.raises(SourceError, match=r"^f:\[0\]\.publishedAt: 'yesterday' is not a date"):
        parse_iso_date("yesterday", "f:[0].publishedAt")
    with pytest.raises(SourceError, match="expected an ISO date, got 20241025"):
        parse_iso_date(20241025, "f")


def test_location_for_prefers_origin_then_file_name_in_tag() -> None:
    assert location_for("hf-page:000.txt", None) == "000.txt"
    assert location_for("file:a.csv", None) == "a.csv"
    assert location_for("hf-api", "day.json") == "day.json"
    assert location_for("arxiv-api", None) == "arxiv-api"
