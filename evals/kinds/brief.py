"""``brief`` cases: the weekly brief through ``agent.brief.pipeline``, scored by papers, highlights, themes."""

from __future__ import annotations

import time

from agent.brief.cache import BriefCache
from agent.brief.pipeline import BriefError, BriefOptions, build_brief
from agent.brief.weeks import Window
from agent.prompts import load_prompt
from evals.cases import BriefCase
from evals.kinds.common import CaseRecord, Metrics, RunContext, Suite, error_record, ref_json
from evals.metrics import phrase_found, show_phrase

#: Model-written TL;DRs per brief case (the rest are extractive): keeps a local-model run affordable.
BRIEF_MODEL_TLDRS = 8


def brief_case(run: RunContext, suite: Suite, case: BriefCase, papers: list[tuple[str, str]]) -> CaseRecord:
    """Build the case's weekly brief with the real pipeline; score papers, highlights and themes."""
    window = Window(case.since, case.until, f"{case.since.isoformat()}..{case.until.isoformat()}")
    # the brief's own cache stays in memory: the response cache alone decides what is replayed
    cache = BriefCache(None)
    options = BriefOptions(fetch=False, max_model_tldrs=BRIEF_MODEL_TLDRS, today=case.until)
    started = time.perf_counter()
    try:
        brief = build_brief(
            window, index=suite.index, llm=run.llm, options=options, cache=cache, prices=run.settings.llm.prices
        )
    except BriefError as exc:
        return error_record(case, str(exc))
    finally:
        cache.close()
    wall_ms = (time.perf_counter() - started) * 1000.0
    refs = [load_prompt(name).ref for name in sorted(brief.provenance.prompts)]
    for ref in refs:
        run.prompts[ref.name] = ref
    listed = {p.paper_id for p in brief.papers}
    prominent = {h.paper_id for h in brief.highlights} | {
        p.paper_id for t in brief.themes for p in t.cited_papers()
    }
    text = "\n".join(
        f"{t.name} ({', '.join(t.keywords)}): {t.synthesis.text}" for t in brief.themes
    )
    themes_missing = [show_phrase(t) for t in case.themes if not phrase_found(text, t)]
    expected = [pid for pid, _ in papers]
    titles = dict(papers)
    real = [t for t in brief.themes if not t.is_other]
    prov = brief.provenance
    metrics: Metrics = {
        "brief.papers": sum(p in listed for p in expected) / len(expected) if expected else None,
        "brief.highlighted": sum(p in prominent for p in expected) / len(expected) if expected else None,
        "brief.themes": 1 - len(themes_missing) / len(case.themes) if case.themes else None,
        "brief.generative_syntheses": (
            sum(t.synthesis.mode == "generative" for t in real) / len(real) if real else None
        ),
        "latency_ms": wall_ms,
        "tokens.prompt": float(prov.prompt_tokens),
        "tokens.completion": float(prov.completion_tokens),
        "cost.usd": prov.cost_usd,
    }
    return {
        "id": case.id,
        "kind": "brief",
        "question": f"brief {window.label}: {prov.papers} papers, {prov.themes} themes",
        "expected": [{"id": pid, "title": t} for pid, t in papers],
        "answer": text,
        "missing": {
            "not_listed": [titles[p] for p in expected if p not in listed],
            "not_highlighted": [titles[p] for p in expected if p in listed and p not in prominent],
            "themes": themes_missing,
        },
        "warnings": brief.warnings,
        "prompts": [ref_json(r) for r in refs],
        "metrics": metrics,
    }
