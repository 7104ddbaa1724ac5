"""``ask`` cases (and retrieval-only ones): the real ask pipeline, scored per case, then groundedness per suite."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from agent.ask.pipeline import AskError, ask_events
from agent.ask.quote_write import rewrite_styles
from agent.runtime import ask_options
from agent.types import Answer, Done, Token
from evals.cases import AskCase, CaseFile
from evals.kinds.common import CaseRecord, Metrics, RunContext, Suite, error_record, ks, ref_json
from evals.metrics import (
    Calibration,
    SentenceSupport,
    abstention_metrics,
    answer_quality,
    calibrate,
    citation_metrics,
    claims,
    groundedness,
    ndcg_at,
    phrase_metrics,
    retrieval_metrics,
)
from store.index import Index
from store.retrieve import search

_RAW_LIMIT = 4000
QUOTE_THEN_WRITE_PROMPT = "answer_rewrite"


def ask_case(run: RunContext, suite: Suite, case: AskCase, expected: list[tuple[str, str]]) -> CaseRecord:
    """Answer the case's question with ``agent.ask.pipeline``; score retrieval, citations, modes, support."""
    spec, index = suite.spec, suite.index
    options = replace(
        ask_options(run.settings, k=spec.k, since=case.since, until=case.until, prompt_dir=run.prompts_dir),
        strategy=run.strategy,
    )
    started = time.perf_counter()
    raw: list[str] = []
    answer: Answer | None = None
    try:
        events = ask_events(case.question, index=index, llm=run.llm, options=options, prices=run.settings.llm.prices)
        for event in events:
            if isinstance(event, Token):
                raw.append(event.text)
            elif isinstance(event, Done):
                answer = event.answer
    except AskError as exc:
        return error_record(case, str(exc))
    assert answer is not None
    wall_ms = (time.perf_counter() - started) * 1000.0
    run.prompts[answer.prompt.name] = answer.prompt
    if answer.prompt.name == QUOTE_THEN_WRITE_PROMPT:  # every rewrite style is part of the prompt set under test
        for style in rewrite_styles(run.prompts_dir):
            run.prompts[style.name] = style.ref
    suite.sources[case.id] = answer.sources
    expected_ids = [pid for pid, _ in expected]
    ranked = [h.paper_id for h in answer.retrieved]
    raw_text = "".join(raw).strip()
    # quote-then-write citations are attached by paperbrief, so they are scored on the answer shown;
    # a single prompt's are scored on the model's own output, before any fallback replaces it
    written_by_us = answer.prompt.name == QUOTE_THEN_WRITE_PROMPT
    cited_text = answer.text if written_by_us else raw_text
    cites = citation_metrics(cited_text, answer.sources, expected_ids, called=bool(raw) or written_by_us)
    phrases = phrase_metrics(answer.text, case.must_include, case.must_not_include)
    metrics: Metrics = {}
    metrics.update(retrieval_metrics(ranked, expected_ids, ks(spec.k)))
    metrics.update(cites.metrics)
    answered = not answer.abstained and not case.should_abstain
    answered = answered and not answer.abstained
    source_texts = [f"{s.title} {s.text}" for s in answer.sources]
    quality = answer_quality(answer, source_texts, raw_text, answered=answered)
    metrics.update(quality.metrics)
    metrics.update(abstention_metrics(answer.abstained, case.should_abstain))
    metrics.update(phrases.metrics)
    metrics.update(
        {
            "latency_ms": wall_ms,
            "tokens.prompt": float(answer.usage.prompt_tokens),
            "tokens.completion": float(answer.usage.completion_tokens),
            "cost.usd": answer.cost_usd,
        }
    )
    titles = dict(expected)
    shown = {s.paper_id for s in answer.sources}
    return {
        "id": case.id,
        "kind": "ask",
        "question": case.question,
        "should_abstain": case.should_abstain,
        "needs_review": case.needs_review,
        "expected": [{"id": pid, "title": t} for pid, t in expected],
        "answer": answer.text,
        "raw": raw_text[:_RAW_LIMIT],
        "mode": answer.mode,
        "abstained": answer.abstained,
        "retrieved": ranked,
        "sources": [{"n": s.n, "paper_id": s.paper_id, "title": s.title} for s in answer.sources],
        "cited": cites.cited_ids,
        "invalid_citations": cites.invalid,
        "answer_citations": [c.paper_id for c in answer.citations],
        "sentences": [s.to_json() for s in answer.sentences],
        "rewrites": [r.to_json() for r in answer.rewrites],  # every quote-then-write call and its check
        "invented_links": quality.invented,
        "missing": {
            "not_retrieved": [titles[p] for p in expected_ids if p not in ranked],
            "not_shown": [titles[p] for p in expected_ids if p in ranked and p not in shown],
            "not_cited": [titles[p] for p in expected_ids if p in shown and p not in cites.cited_ids],
            "phrases": phrases.missing,
            "forbidden": phrases.forbidden,
            "unsupported": [],
            "unsupported_sentences": quality.unsupported,
        },
        "warnings": answer.warnings,
        "prompts": [ref_json(answer.prompt)],
        "metrics": metrics,
    }


def retrieval_case(
    spec: CaseFile,
    case: AskCase,
    index: Index,
    expected: list[tuple[str, str]],
    grades: dict[str, int] | None,
) -> CaseRecord:
    """A retrieval-only case: ranking metrics, no model call."""
    started = time.perf_counter()
    hits = search(index, case.question, k=spec.k)
    ranked = [h.paper_id for h in hits]
    expected_ids = [pid for pid, _ in expected]
    metrics: Metrics = dict(retrieval_metrics(ranked, expected_ids, ks(spec.k)))
    relevance = grades or dict.fromkeys(expected_ids, 1)
    metrics[f"retrieval.ndcg@{spec.k}"] = ndcg_at(ranked, relevance, spec.k)
    metrics["latency_ms"] = (time.perf_counter() - started) * 1000.0
    return {
        "id": case.id,
        "kind": "retrieval",
        "question": case.question,
        "expected": [{"id": pid, "title": t} for pid, t in expected],
        "retrieved": ranked,
        "prompts": [],
        "missing": {"not_retrieved": [t for pid, t in expected if pid not in ranked]},
        "metrics": metrics,
    }


def score_groundedness(
    run: RunContext, suite: Suite, resolved: dict[str, list[tuple[str, str]]]
) -> dict[str, Any] | None:
    """Calibrate the threshold on this suite's questions, then score every answered ask case."""
    ask_records = [r for r in suite.records if r.get("kind") == "ask" and "error" not in r]
    if not ask_records:
        return None
    support = SentenceSupport(suite.index.embedder)
    positives, negatives = calibration_pairs(suite, support, resolved)
    calibration = calibrate(positives, negatives)
    judge = run.judge_llm
    for record in ask_records:
        if record["abstained"]:
            record["metrics"]["groundedness.embedding"] = None
            continue
        sources = suite.sources.get(record["id"], [])
        score = groundedness(record["answer"], sources, support, calibration.threshold)
        record["metrics"]["groundedness.embedding"] = score.value
        record["missing"]["unsupported"] = score.unsupported
        if judge is not None:
            from evals.judge import judge as run_judge

            verdicts = run_judge(judge, claims(record["answer"]), sources)
            run.prompts[verdicts.prompt.name] = verdicts.prompt
            record["metrics"]["groundedness.judge"] = verdicts.value
            record["judge_unsupported"] = verdicts.unsupported
    if judge is not None:
        judge.take_stats()
    return {**calibration.to_json(), "sentence_support": support_calibration(suite, support).to_json()}


def support_calibration(suite: Suite, support: SentenceSupport) -> Calibration:
    """Where the per-sentence ``supported`` threshold should sit, from this suite's answers.

    Supported pairs: each shown sentence against the source it cites; unsupported pairs: the same
    sentence against the other sources the answer was given (the nearest wrong evidence there is).
    The result is reported beside the groundedness threshold; ``agent.checks.support.SUPPORTED``
    is set from it.
    """
    positives: list[float] = []
    negatives: list[float] = []
    for record in suite.records:
        if record.get("kind") != "ask" or record.get("abstained") or "error" in record:
            continue
        by_n = {s.n: s for s in suite.sources.get(record["id"], [])}
        rows = [s for s in record.get("sentences", []) if s.get("citations")]
        if not rows or not by_n:
            continue
        vectors = support.embed([s["text"] for s in rows])
        for sentence, vector in zip(rows, vectors, strict=True):
            cited = [by_n[n] for n in sentence["citations"] if n in by_n]
            others = [src for n, src in by_n.items() if n not in sentence["citations"]]
            if cited:
                positives.append(support.best(vector, [support.source(c.paper_id, c.title, c.text) for c in cited]))
            if others:
                negatives.append(support.best(vector, [support.source(o.paper_id, o.title, o.text) for o in others]))
    method = "max balanced accuracy: answer sentence vs the source it cites (supported) and vs its other sources"
    return calibrate(positives, negatives, method)

def calibration_pairs(
    suite: Suite, support: SentenceSupport, resolved: dict[str, list[tuple[str, str]]]
) -> tuple[list[float], list[float]]:
    catalog = suite.index.catalog
    rows = [r for r in suite.records if r.get("kind") == "ask" and r.get("expected") and "error" not in r]
    if not rows:
        return [], []
    vectors = support.embed([r["question"] for r in rows])
    positives: list[float] = []
    negatives: list[float] = []
    for record, vector in zip(rows, vectors, strict=True):
        wanted = {pid for pid, _ in resolved[record["id"]]}
        other = next((pid for pid in record["retrieved"] if pid not in wanted), None)
        papers = catalog.get_many([*wanted, *([other] if other else [])])
        pos = [support.source(p, papers[p].title, papers[p].abstract) for p in wanted if p in papers]
        if pos:
            positives.append(support.best(vector, pos))
        if other and other in papers:
            paper = papers[other]
            negatives.append(support.best(vector, [support.source(other, paper.title, paper.abstract)]))
    return positives, negatives
