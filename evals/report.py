"""``report.md``: what a person reads after a run: per-suite metrics and the worst cases, with evidence.

The worst cases are ranked by the mean of their rate metrics (retrieval, citations,
groundedness, abstention, phrases, compare facts), lowest first, and each shows the
question, the answer and what was missing: expected papers not retrieved, retrieved
but not shown to the model, shown but not cited; phrases not said; sentences the
sources did not support. Quote-then-write runs also get a tally of every rewrite call:
how many the check let through and why the others were rejected (what to fix next).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from agent.checks.rewrite import compressed
from evals.metrics import LOWER_IS_BETTER

WORST_CASES = 5
_ANSWER_LIMIT = 700


def fmt(name: str, value: float | None) -> str:
    """A metric value as people read it: rates with 3 decimals, ms and tokens whole, cost in dollars."""
    if value is None:
        return "–"
    if name.endswith("_ms"):
        return f"{value:,.0f} ms"
    if name.startswith("tokens."):
        return f"{value:,.0f}"
    if name == "cost.usd":
        return f"${value:.4f}"
    return f"{value:.3f}"


def badness(record: Mapping[str, Any]) -> float | None:
    rates = [
        float(v)
        for k, v in record.get("metrics", {}).items()
        if v is not None and k not in ("latency_ms", "tokens.prompt", "tokens.completion", "cost.usd")
    ]
    return sum(rates) / len(rates) if rates else None


def rewrite_tally(cases: list[Mapping[str, Any]]) -> str | None:
    """One line: rewrite calls, how many passed their check, and the rejections by reason, most common first."""
    attempts = [a for c in cases for a in c.get("rewrites") or []]
    if not attempts:
        return None
    reasons = Counter(str(a.get("reason", "")).split(":")[0].split(" (")[0] for a in attempts if not a.get("ok"))
    accepted = [a for a in attempts if a.get("ok")]
    shortened = sum(compressed(str(a.get("rewrite", "")), str(a.get("quote", ""))) for a in accepted)
    share = len(accepted) / len(attempts)
    line = (
        f"Rewrite checks: {len(attempts)} quote-then-write calls, {len(accepted)} accepted ({share:.0%}; "
        f"{shortened} of them shortened quotes, the rest reworded)"
    )
    styles = Counter(str(a.get("prompt") or "") for a in attempts)
    if len(styles) > 1:
        passed = Counter(str(a.get("prompt") or "") for a in accepted)
        line += "; by style: " + ", ".join(f"{name} {passed[name]} of {n}" for name, n in styles.items())
    if reasons:
        line += "; rejected: " + ", ".join(f"{reason} ×{n}" for reason, n in reasons.most_common())
    return line + "."


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _evidence(record: Mapping[str, Any]) -> list[str]:
    missing = record.get("missing", {})
    lines: list[str] = []
    labels = {
        "not_retrieved": "expected, not retrieved",
        "not_shown": "retrieved, not among the sources the model saw",
        "not_cited": "shown to the model, not cited",
        "phrases": "phrases missing",
        "forbidden": "forbidden phrases present",
        "unsupported": "sentences not supported by their cited sources",
        "not_listed": "expected in the brief, not listed",
        "not_highlighted": "listed, but neither highlighted nor cited by a synthesis",
        "themes": "themes not mentioned",
    }
    for key, label in labels.items():
        values = missing.get(key) or []
        if values:
            lines.append(f"- {label}: " + "; ".join(f"“{_cell(v)}”" for v in values[:4]))
    for title, facts in (missing.get("facts") or {}).items():
        lines.append(f"- column “{_cell(title)}” lacks: " + "; ".join(f"“{f}”" for f in facts))
    if record.get("should_abstain") and not record.get("abstained"):
        lines.append("- should have declined (outside the indexed papers) but answered")
    if record.get("should_abstain") is False and record.get("abstained"):
        lines.append("- declined a question the papers answer")
    if record.get("error"):
        lines.append(f"- error: {record['error']}")
    return lines


def render_report(results: Mapping[str, Any]) -> str:
    out = [
        "# Eval report",
        "",
        f"- model: `{results.get('model')}`"
        + (f", judge: `{results['judge_model']}`" if results.get("judge_model") else ""),
        f"- prompt set: `{results.get('prompt_set')}` — "
        + ", ".join(f"{n} v{p['version']} ({p['hash']})" for n, p in results.get("prompts", {}).items()),
        f"- cases: `{results.get('cases_glob')}`; created {results.get('created')}; {results.get('seconds')} s",
        f"- response cache: {results.get('cache', {}).get('hits', 0)} hits, {results.get('cache', {}).get('misses', 0)}"
        " misses (model calls)",
        "",
    ]
    for name, suite in results.get("suites", {}).items():
        out += [f"## Suite `{name}` ({suite.get('file')})", ""]
        if suite.get("skipped"):
            out += [f"Skipped: {suite['skipped']}", ""]
            continue
        if suite.get("description"):
            out += [str(suite["description"]).strip(), ""]
        cases = suite.get("cases", [])
        errors = [c for c in cases if c.get("error")]
        skipped = [c for c in cases if c.get("skipped")]
        out += [f"{len(cases)} cases" + (f", {len(errors)} errors" if errors else "")
                + (f", {len(skipped)} skipped ({skipped[0]['skipped']})" if skipped else "") + ".", ""]
        out += ["| metric | value | cases | tolerance |", "|---|---:|---:|---:|"]
        tolerances = suite.get("tolerances", {})
        for metric, value in suite.get("metrics", {}).items():
            arrow = "↓" if metric in LOWER_IS_BETTER else "↑"
            tol = tolerances.get(metric)
            out.append(
                f"| {metric} {arrow} | {fmt(metric, value)} | {suite.get('counts', {}).get(metric, '')} | "
                f"{'' if tol is None else tol} |"
            )
        out.append("")
        tally = rewrite_tally(cases)
        if tally:
            out += [tally, ""]
        review = [c["id"] for c in cases if c.get("needs_review")]
        if review:
            out += [f"Saved from chat and still needing review ({len(review)}): {', '.join(review)}.", ""]
        calibration = suite.get("calibration")
        if calibration:
            out += [
                f"Groundedness threshold {calibration['threshold']} (cosine), calibrated on "
                f"{calibration['positives']} supported / {calibration['negatives']} unsupported question–paper pairs "
                f"(balanced accuracy {calibration['balanced_accuracy']}; {calibration['method']}).",
                "",
            ]
            sentence = calibration.get("sentence_support")
            if sentence:
                out += [
                    f"Sentence-support threshold {sentence['threshold']} (cosine), calibrated on "
                    f"{sentence['positives']} cited / {sentence['negatives']} other-source sentence pairs "
                    f"(balanced accuracy {sentence['balanced_accuracy']}; {sentence['method']}).",
                    "",
                ]
        ranked = sorted(
            ((b, c) for c in cases if (b := badness(c)) is not None and b < 1.0),
            key=lambda bc: (bc[0], bc[1]["id"]),
        )
        if not ranked:
            continue
        out += [f"### Worst cases ({min(WORST_CASES, len(ranked))} of {len(ranked)} below a perfect score)", ""]
        for score, case in ranked[:WORST_CASES]:
            out += [f"**{case['id']}** (mean score {score:.2f}): {_cell(case.get('question', ''))}", ""]
            answer = str(case.get("answer") or "")
            if answer:
                shown = answer if len(answer) <= _ANSWER_LIMIT else answer[:_ANSWER_LIMIT].rstrip() + " …"
                out += ["> " + "\n> ".join(shown.splitlines()), ""]
            out += [*_evidence(case), ""]
    return "\n".join(out).rstrip() + "\n"
