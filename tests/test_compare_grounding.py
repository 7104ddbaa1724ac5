"""The rules every comparison cell passes, tested without a model: numbers, degeneration, quotes."""

from __future__ import annotations

import pytest

from agent.compare.grounding import (
    ASPECTS,
    BY_KEY,
    allowed_numbers,
    check_cell,
    check_summary,
    clean_cell,
    is_not_stated,
    numbers_in,
    quote_cells,
    unsupported_numbers,
)
from agent.compare.pipeline import TableFormatError, parse_table
from agent.settings import load_settings
from store.embeddings import VectorEmbeddings, make_embeddings
from store.papers import Paper

RAG = Paper(
    "2501.00004",
    "Retrieval-Augmented Generation Reduces Hallucinated Citations",
    "Language models invent references. Grounding answers in retrieved abstracts and checking every citation "
    "against the retrieved set cut fabricated citations from 31% to 2% in our study of scientific question "
    "answering.",
)
LONG = Paper(
    "2502.00001",
    "Sparse Mixture Routing for Speech Translation",
    "End-to-end speech translation is expensive because every frame passes through every expert. "
    "We propose a sparse router that sends each frame to two of sixty-four experts. "
    "On the CoVoST 2 benchmark the model matches the dense baseline at 3.1 times lower cost. "
    "However, the router remains unstable for languages with under ten hours of training data.",
)


@pytest.fixture(scope="module")
def embedder() -> VectorEmbeddings:
    return make_embeddings(load_settings().store_config().embedding)


def test_numbers_are_canonical_and_words_count_in_the_abstract() -> None:
    assert numbers_in("from 31% to 2%, 2.80x, 1,200 hours, GPT-4") == {"31", "2", "2.8", "1200", "4"}
    allowed = allowed_numbers("sixty times faster; four million on eight GPUs; twenty-five; 1.2 million")
    assert {"60", "4", "4000000", "8", "25", "1.2", "1200000"} <= allowed
    assert unsupported_numbers("cut fabricated citations by 95% (31% to 2%) [1]", RAG.abstract) == ["95"]
    assert unsupported_numbers("batch sizes of 4 million on 8 GPUs", "four million on eight GPUs") == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Fabricated citations fell by 29 points.", "number 29"),
        ("the the the the the the the the the the the", "repetitive"),
        ("ok", "too short"),
        ("<abstract>Language models invent references.</abstract>", "echoed the prompt"),
    ],
)
def test_bad_cells_fail_with_a_reason(text: str, reason: str) -> None:
    verdict = check_cell(text, f"{RAG.title}\n{RAG.abstract}", strict=False)
    assert not verdict.ok and reason in verdict.reason


def test_small_model_cells_must_stay_on_the_abstract() -> None:
    source = f"{LONG.title}\n{LONG.abstract}"
    assert check_cell("A sparse router sends each frame to two of sixty-four experts.", source, strict=True).ok
    drifted = check_cell("This groundbreaking system revolutionises global communication forever.", source, strict=True)
    assert not drifted.ok and "grounded" in drifted.reason
    vague = check_cell("The router matches the dense baseline at lower cost.", source, strict=True, aspect="results")
    assert not vague.ok and "numbers" in vague.reason
    # the capable-model check trusts paraphrase; only numbers and degeneration are held against it
    assert check_cell("It rivals dense models far more cheaply.", source, strict=False, aspect="results").ok
    invented = check_cell("Language models still invent some citations.", f"{RAG.title}\n{RAG.abstract}",
                          strict=True, aspect="limitations")
    assert not invented.ok and "no limitation" in invented.reason


def test_not_stated_variants_and_cleaning() -> None:
    for text in ("not stated", "Not stated.", "N/A", "The abstract does not say.", "No limitations are mentioned."):
        assert is_not_stated(text), text
    for text in ("None of the baselines match it.", "Not only faster but exact."):
        assert not is_not_stated(text), text
    assert clean_cell("Answer: It is 2.8 times faster [1]. It is exact. It is fun.\n\nMore.") == (
        "It is 2.8 times faster. It is exact."
    )


def test_quotes_pick_fitting_sentences_and_say_not_stated_otherwise(embedder: VectorEmbeddings) -> None:
    quotes = quote_cells(LONG, list(ASPECTS), embedder)
    sentences = [s.strip() for s in LONG.abstract.split(". ")]
    assert quotes["problem"] and "expensive" in quotes["problem"]
    assert quotes["results"] and "3.1 times" in quotes["results"]
    assert quotes["limitations"] and quotes["limitations"].startswith("“However")
    for text in quotes.values():  # every quote is verbatim from the abstract
        assert text is None or any(s.rstrip(".") in text for s in sentences)
    # an abstract that states no limitation gets none, whatever the similarity
    assert quote_cells(RAG, [BY_KEY["limitations"]], embedder) == {"limitations": None}


def test_summary_check_drops_bad_citations_and_rejects_invented_numbers() -> None:
    text, _ = check_summary("[1] and [2] attack the same cost problem from different sides [7].", [RAG, LONG],
                            strict=False)
    assert text == "[1] and [2] attack the same cost problem from different sides."
    text, reason = check_summary("[1] is 40 times cheaper than [2] on every benchmark they share.", [RAG, LONG],
                                 strict=False)
    assert text is None and "40" in reason
    text, reason = check_summary("Both papers are about models and they are both very good papers.", [RAG, LONG],
                                 strict=True)
    assert text is None and "[n]" in reason


def test_parse_table_matches_papers_by_number_or_id() -> None:
    raw = '```json\n{"papers": [{"paper": 2, "problem": "p2"}, {"paper_id": "2501.00004", "results": ["a", "b"]}],' \
          ' "summary": "s"}\n```'
    cells, summary = parse_table(raw, [RAG, LONG])
    assert cells == {("2502.00001", "problem"): "p2", ("2501.00004", "results"): "a; b"} and summary == "s"
    for bad in ("no json here", '{"rows": []}', '{"papers": [{"paper": 9, "problem": "x"}]}', '{"papers": [1,'):
        with pytest.raises(TableFormatError):
            parse_table(bad, [RAG, LONG])
