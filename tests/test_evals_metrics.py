"""Eval metrics: each one on answers small enough to check by hand."""

from __future__ import annotations

import pytest

from agent.checks.extractive import LABEL
from agent.types import Source
from evals.judge import parse_verdicts
from evals.metrics import (
    DEFAULT_THRESHOLD,
    SentenceSupport,
    abstention_metrics,
    aggregate,
    calibrate,
    citation_metrics,
    claims,
    groundedness,
    is_regression,
    ndcg_at,
    phrase_metrics,
    retrieval_metrics,
)
from store.config import EmbeddingConfig
from store.embeddings import make_embeddings

SOURCES = [
    Source(1, "p1", "Tile-Based Contrastive Loss", None,
           "We partition the contrastive loss into small tiles so the similarity matrix is never materialised. "
           "Batch sizes reach four million on eight GPUs."),
    Source(2, "p2", "Coral Reef Bleaching Forecasts", None,
           "We forecast coral bleaching two months ahead from satellite sea surface temperatures."),
    Source(3, "p3", "Speculative Decoding", None, "A small draft model proposes tokens the large model verifies."),
]


def test_retrieval_recall_and_mrr() -> None:
    ranked = ["a", "b", "c", "d"]
    m = retrieval_metrics(ranked, ["c", "z"], [1, 3])
    assert m == {"retrieval.recall@1": 0.0, "retrieval.recall@3": 0.5, "retrieval.mrr": pytest.approx(1 / 3)}
    assert retrieval_metrics(ranked, [], [1]) == {}  # nothing expected: nothing to score
    assert retrieval_metrics(ranked, ["z"], [3])["retrieval.mrr"] == 0.0
    assert ndcg_at(["a", "b"], {"a": 1}, 10) == 1.0
    assert ndcg_at(["b", "a"], {"a": 1}, 10) == pytest.approx(1 / 1.585, rel=1e-3)


def test_citations_are_scored_on_the_model_output() -> None:
    score = citation_metrics("Tiles save memory [1]. Reefs bleach [2][7].", SOURCES, ["p1"], called=True)
    assert score.metrics == {"citations.validity": pytest.approx(2 / 3), "citations.precision": 0.5,
                             "citations.recall": 1.0}
    assert score.cited_ids == ["p1", "p2"] and score.invalid == [7]
    uncited = citation_metrics("Tiles save memory.", SOURCES, ["p1"], called=True)
    assert uncited.metrics == {"citations.validity": None, "citations.precision": None, "citations.recall": 0.0}
    never = citation_metrics("", SOURCES, ["p1"], called=False)
    assert set(never.metrics.values()) == {None}


def test_abstention_and_phrases() -> None:
    assert abstention_metrics(True, True) == {
        "abstention.answerable": None, "abstention.unanswerable": 1.0, "abstention.accuracy": 1.0
    }
    assert abstention_metrics(True, False)["abstention.answerable"] == 0.0
    score = phrase_metrics("It solves CTF tasks — fast.", ["ctf", ["Capture the Flag", "tasks — fast"], "Ubuntu"],
                           ["android"])
    assert score.metrics == {"phrases.include": pytest.approx(2 / 3), "phrases.exclude": 1.0}
    assert score.missing == ["Ubuntu"] and score.forbidden == []
    assert phrase_metrics("x", [], []).metrics == {"phrases.include": None, "phrases.exclude": None}


def test_claims_skip_headers_and_short_connecting_prose() -> None:
    text = (
        f"{LABEL}\n- “We partition the contrastive loss into small tiles.” [1]\n"
        "In short:\nBoth are fine. This uncited sentence is long enough to state a finding of its own."
    )
    found = claims(text)
    assert [(c.text, c.cites) for c in found] == [
        ("We partition the contrastive loss into small tiles.", (1,)),
        ("This uncited sentence is long enough to state a finding of its own.", ()),
    ]


def test_calibration_picks_a_separating_threshold() -> None:
    cal = calibrate([0.7, 0.8, 0.65, 0.9, 0.75], [0.2, 0.3, 0.35, 0.1, 0.6])
    assert 0.6 < cal.threshold < 0.65 and cal.balanced_accuracy == 1.0
    assert calibrate([0.9], [0.1]).threshold == DEFAULT_THRESHOLD  # too few pairs: the documented default


@pytest.fixture(scope="module")
def support() -> SentenceSupport:
    return SentenceSupport(make_embeddings(EmbeddingConfig()))


def test_groundedness_counts_sentences_their_sources_support(support: SentenceSupport) -> None:
    answer = (
        "The loss is split into small tiles so the similarity matrix is never built [1]. "
        "Coral reefs are forecast to bleach from sea temperatures [1]."
    )
    score = groundedness(answer, SOURCES, support, threshold=0.5)
    assert score.value == 0.5  # the second sentence cites the wrong source
    assert score.unsupported == ["Coral reefs are forecast to bleach from sea temperatures."]
    fixed = groundedness(answer.replace("temperatures [1]", "temperatures [2]"), SOURCES, support, threshold=0.5)
    assert fixed.value == 1.0
    assert groundedness("Short.", SOURCES, support, threshold=0.5).value is None


def test_aggregate_and_regression_direction() -> None:
    cases = [
        {"citations.recall": 1.0, "latency_ms": 100.0, "cost.usd": 0.01, "phrases.include": None},
        {"citations.recall": 0.0, "latency_ms": 300.0, "cost.usd": 0.02, "phrases.include": 1.0},
    ]
    m = aggregate(cases)
    assert m["citations.recall"] == 0.5 and m["phrases.include"] == 1.0
    assert m["latency.p50_ms"] == 200.0 and m["cost.usd"] == pytest.approx(0.03)
    assert is_regression("citations.recall", 0.9, 0.8, 0.05) and not is_regression("citations.recall", 0.9, 0.86, 0.05)
    assert is_regression("latency.p50_ms", 100.0, 200.0, 50.0) and not is_regression("latency.p50_ms", 200.0, 100.0, 0)


def test_judge_replies_are_parsed_leniently_but_never_guessed() -> None:
    reply = "1: SUPPORTED\n2. unsupported\n**3**: Supported\n4 - NOT SUPPORTED\n9: SUPPORTED\n1: UNSUPPORTED"
    assert parse_verdicts(reply, 4) == {1: True, 2: False, 4: False}
    assert parse_verdicts("I think they are all fine.", 3) == {}
