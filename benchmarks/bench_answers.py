"""Answers from the local default model: today's single prompt beside quote-then-write, same questions, one run.

For each of ``bench_ask``'s questions both strategies answer with the same loaded model
(alternating which goes first, so neither always gets a warm cache) and the table reports,
per strategy: answers by mode, the share written by the model (generative or
quote-then-write), citation validity, invented links, the supported- and
unsupported-sentence rates, time to first token and total latency p50 with the ratio to the
single prompt, and the rewrite calls per answer (issue 15's targets: >= 60% written, validity
100%, 0 invented links, supported >= 0.9, latency <= 1.5x).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from agent.ask.pipeline import AskOptions, ask_events
from agent.checks.links import invented_links
from agent.runtime import build_llm
from agent.settings import load_settings
from agent.types import Answer, Done, Token
from benchmarks.bench_ask import CACHE, QUESTIONS
from evals.metrics import citation_metrics
from store.index import Index
from store.ingest import ingest_paths

STRATEGIES = ("single-prompt", "quote-then-write")


Run = tuple[Answer, str, float, float]  # answer, streamed text, total ms, time to first token ms


def _one(question: str, index: Index, llm: object, strategy: str) -> Run:
    start = time.perf_counter()
    first: float | None = None
    raw: list[str] = []
    answer: Answer | None = None
    options = AskOptions(strategy=strategy)  # type: ignore[arg-type]
    for event in ask_events(question, index=index, llm=llm, options=options):  # type: ignore[arg-type]
        if isinstance(event, Token):
            if first is None and event.text.strip():
                first = time.perf_counter()
            raw.append(event.text)
        elif isinstance(event, Done):
            answer = event.answer
    assert answer is not None
    end = time.perf_counter()
    return answer, "".join(raw), (end - start) * 1000, ((first or end) - start) * 1000


def run(shared: Path | None) -> list[dict[str, object]]:
    if shared is None:
        return []
    settings = load_settings(data_dir=CACHE)
    results: dict[str, list[Run]] = {s: [] for s in STRATEGIES}
    with Index(settings.store_config()) as index:
        ingest_paths(index, [shared / "seeds"])
        llm = build_llm(settings)
        llm.complete([{"role": "user", "content": "hi"}], max_tokens=1)  # load the model once
        for i, question in enumerate(QUESTIONS):
            order = STRATEGIES if i % 2 == 0 else tuple(reversed(STRATEGIES))
            for strategy in order:
                results[strategy].append(_one(question, index, llm, strategy))
    rows: list[dict[str, object]] = []
    base_p50 = statistics.median(ms for _, _, ms, _ in results["single-prompt"])
    for strategy in STRATEGIES:
        rows += _rows(strategy, results[strategy], base_p50, llm.name)
    return rows


def _rows(strategy: str, runs: list[Run], base_p50: float, model: str) -> list[dict[str, object]]:
    answered = [r for r in runs if not r[0].abstained]
    modes = [a.mode for a, *_ in answered]
    written = sum(m != "extractive" for m in modes) / len(modes) if modes else 0.0
    validity = []
    for a, raw, *_ in answered:
        text = a.text if a.prompt.name == "answer_rewrite" else raw
        value = citation_metrics(text, a.sources, [], called=True).metrics["citations.validity"]
        if value is not None:
            validity.append(value)
    invented = sum(bool(invented_links(a.text, [f"{s.title} {s.text}" for s in a.sources])) for a, *_ in answered)
    verdicts = [s.support.verdict for a, *_ in answered for s in a.sentences if s.support is not None]
    p50 = statistics.median(ms for _, _, ms, _ in runs)
    ttft = statistics.median(t for *_, t in answered) if answered else 0.0
    calls = [len(a.rewrites) for a, *_ in answered]
    name = f"ask ({strategy})"
    mode_note = ", ".join(f"{m} ×{modes.count(m)}" for m in sorted(set(modes)))
    mode_note += f"; abstained ×{len(runs) - len(answered)}"
    supported = verdicts.count("supported") / max(len(verdicts), 1)
    rows: list[dict[str, object]] = [
        {"benchmark": name, "setting": f"{model}: answers written by the model", "value": written,
         "unit": "share of answered", "note": mode_note},
        {"benchmark": name, "setting": "citation validity", "value": statistics.mean(validity) if validity else 0.0,
         "unit": "share"},
        {"benchmark": name, "setting": "answers with an invented link", "value": invented, "unit": "answers"},
        {"benchmark": name, "setting": "supported sentences", "value": supported,
         "unit": "share", "note": f"{len(verdicts)} sentences; unsupported {verdicts.count('unsupported')}"},
        {"benchmark": name, "setting": "total latency p50", "value": p50, "unit": "ms",
         "note": f"{p50 / base_p50:.2f}× the single prompt"},
        {"benchmark": name, "setting": "time to first token p50", "value": ttft, "unit": "ms",
         "note": "answered questions"},
    ]
    if any(calls):
        rows.append({"benchmark": name, "setting": "rewrite calls per answer, median",
                     "value": statistics.median(calls), "unit": "calls", "note": f"max {max(calls)}"})
    return rows


if __name__ == "__main__":
    for row in run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared")):
        print(json.dumps(row))
