"""``ask`` latency with the local default model on the seed pages.

Reports p50 over 10 questions of time to first token and total latency, tokens per
second, and how the time splits into retrieval, prompt building and generation;
plus the peak memory of one ``paperbrief ask`` process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from agent.ask.pipeline import SENTINEL, AskOptions, ask_events, build_sources, pack_sources
from agent.prompts import load_prompt
from agent.runtime import build_llm
from agent.settings import load_settings
from agent.types import Done, Retrieved, Token
from store.index import Index
from store.ingest import ingest_paths

CACHE = Path(__file__).resolve().parent / ".cache" / "seeds"
QUESTIONS = [
    "How can continual learning trade off performance between tasks without retraining?",
    "Which work lets open-source language models improve by critiquing their own outputs?",
    "How are diffusion models used to generate video?",
    "What methods make large language model inference cheaper?",
    "How do robots learn manipulation skills from demonstrations?",
    "Which papers evaluate the reasoning of large language models on math problems?",
    "How can 3D scenes be reconstructed from a few images?",
    "What approaches reduce hallucinations in vision-language models?",
    "How are agents built that use tools or browse the web?",
    "Which work studies speech recognition or audio generation?",
]


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[int(q * (len(values) - 1))]


def run(shared: Path | None) -> list[dict[str, object]]:
    if shared is None:
        return []
    settings = load_settings(data_dir=CACHE)
    with Index(settings.store_config()) as index:
        ingest_paths(index, [shared / "seeds"])
        llm = build_llm(settings)
        llm.complete([{"role": "user", "content": "hi"}], max_tokens=1)  # load the model once
        ttft, total, retrieval, generation, prompt_ms, tps = [], [], [], [], [], []
        modes: list[str] = []
        for q in QUESTIONS:
            start = time.perf_counter()
            t_retrieved = t_first = None
            tokens = 0
            for event in ask_events(q, index=index, llm=llm, options=AskOptions()):
                now = time.perf_counter()
                if isinstance(event, Retrieved):
                    t_retrieved = now
                    p0 = time.perf_counter()
                    prompt = load_prompt("answer_compact" if llm.is_small else "answer")
                    srcs, _ = pack_sources(build_sources(index, event.hits, 3), 3000)
                    prompt.render(question=q, sources=[s.for_prompt() for s in srcs], sentinel=SENTINEL)
                    prompt_ms.append((time.perf_counter() - p0) * 1000)
                elif isinstance(event, Token):
                    tokens += 1
                    t_first = t_first or now
                elif isinstance(event, Done):
                    end = now
                    modes.append(event.answer.mode + (" (abstained)" if event.answer.abstained else ""))
                    gen_tokens = event.answer.usage.completion_tokens or tokens
            assert t_retrieved is not None
            total.append((end - start) * 1000)
            retrieval.append((t_retrieved - start) * 1000)
            if t_first is not None:
                ttft.append((t_first - start) * 1000)
                generation.append((end - t_retrieved) * 1000)
                tps.append(gen_tokens / max(end - t_first, 1e-6))
    peak = _peak_process_mb(shared)
    name = llm.name
    rows: list[dict[str, object]] = [
        {"benchmark": "ask (local)", "setting": f"{name}: time to first token p50", "value": statistics.median(ttft),
         "unit": "ms"},
        {"benchmark": "ask (local)", "setting": f"{name}: total latency p50", "value": statistics.median(total),
         "unit": "ms", "note": f"p95 {_percentile(total, 0.95):.0f} ms; modes: "
         + ", ".join(f"{m} ×{modes.count(m)}" for m in sorted(set(modes)))},
        {"benchmark": "ask (local)", "setting": f"{name}: generation speed p50", "value": statistics.median(tps),
         "unit": "tokens/s"},
        {"benchmark": "ask (local)", "setting": "split: retrieval p50", "value": statistics.median(retrieval),
         "unit": "ms"},
        {"benchmark": "ask (local)", "setting": "split: prompt building p50", "value": statistics.median(prompt_ms),
         "unit": "ms"},
        {"benchmark": "ask (local)", "setting": "split: generation incl. checks p50",
         "value": statistics.median(generation), "unit": "ms"},
        {"benchmark": "ask (local)", "setting": "peak memory of one `paperbrief ask` process", "value": peak,
         "unit": "MB"},
    ]
    return rows


def _peak_process_mb(shared: Path) -> float:
    env = {**os.environ, "PAPERBRIEF_DATA_DIR": str(CACHE)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "ask", QUESTIONS[0], "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not every child's so far
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"paperbrief ask exited {proc.returncode}")
    return usage.ru_maxrss / 1024


if __name__ == "__main__":
    for row in run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared")):
        print(json.dumps(row))
