"""Batch throughput: questions per minute at concurrency 1, 4 and 16, and with the local model.

The API rows run against the benchmarks' own loopback model (``loopback_model.py``) with a
fixed delay before every reply (a stand-in for a hosted model's latency), so they
measure what the batch runner adds on top of the model: retrieval, threading,
writing. The index is real: 1,000 arXiv abstracts from ``../shared`` (or the test
synthetic papers without it), built once into ``benchmarks/.cache/batch``. Each
question is a paper's title turned into a question, so retrieval finds something
relevant and every question reaches the model.

Also measured: the same concurrency-16 run with one shared ``Index`` behind a lock
(the alternative to per-worker catalogs), and the local default model (SmolLM2 via
llama.cpp) with one worker and with the default two (generation serialised,
retrieval overlapped).

    python -m benchmarks.bench_batch
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from agent.ask.pipeline import AskOptions
from agent.batch.io import Job, derived_id
from agent.batch.output import JsonlWriter
from agent.batch.run import BatchRun, workers_for
from agent.batch.stats import BatchStats
from agent.llm.base import LLM
from agent.runtime import build_llm
from agent.settings import Settings, load_settings
from store.index import Index
from store.ingest import ingest_paths

CACHE = Path(__file__).resolve().parent / ".cache" / "batch"
DELAY_S = 0.5  # per request, before the server sends anything
API_QUESTIONS = 96
CONCURRENCY = (1, 4, 16)
LOCAL_QUESTIONS = 6
REPLY = "The paper reports its main result on the benchmarks it studies [1]."
BENCH = "batch throughput"


def _corpus(shared: Path | None) -> tuple[Path, str]:
    if shared is not None:
        sample = shared / "data" / "arxiv_daily_cs" / "sample_first1000.jsonl"
        if sample.is_file():
            return sample, "arxiv1000"
    return _write_fixture(CACHE / "fixture" / "papers.jsonl"), "fixture"


def _write_fixture(path: Path, n: int = 24) -> Path:
    """A small corpus when ../shared is absent: distinct synthetic abstracts, enough to batch over."""
    topics = ["contrastive learning", "speculative decoding", "coral reef forecasting", "protein folding",
              "graph neural networks", "robot grasping", "speech recognition", "code generation"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            topic = topics[i % len(topics)]
            fh.write(json.dumps({
                "id": f"2501.{i + 1:05d}", "title": f"A study of {topic}, part {i // len(topics) + 1}",
                "abstract": f"We study {topic} and report results on standard benchmarks for {topic}.",
                "authors": ["A. Author"], "date": f"2025-03-{10 + i % 5:02d}",
            }) + "\n")
    return path


def _questions(corpus: Path, n: int) -> list[Job]:
    titles = [json.loads(line)["title"] for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = []
    for i in range(n):
        title = " ".join(titles[i % len(titles)].split())
        suffix = f" (take {i // len(titles) + 1})" if i >= len(titles) else ""
        questions.append(f"What does the work on {title[0].lower() + title[1:]} find?{suffix}")
    return [Job(derived_id(q), q, n) for n, q in enumerate(questions, 1)]


def _measure(
    jobs: list[Job], index: Index, llm: LLM, settings: Settings, concurrency: int, *, warm: bool = False, **kw: Any
) -> BatchStats:
    """One batch run; unless ``warm``, with no source sentence embedded yet (each run as the first)."""
    if not warm:
        from agent.checks import support

        support.clear_sentence_cache()
    options = AskOptions(
        max_answer_tokens=settings.llm.max_answer_tokens, abstain_threshold=settings.retrieval.abstain_threshold
    )
    with tempfile.TemporaryDirectory() as tmp, JsonlWriter(Path(tmp) / "answers.jsonl") as writer:
        run = BatchRun(jobs, index=index, llm=llm, writer=writer, options=options, concurrency=concurrency, **kw)
        stats = run.run()
        lines = (Path(tmp) / "answers.jsonl").read_bytes().count(b"\n")
    if stats.ok != len(jobs) or lines != len(jobs):
        raise RuntimeError(f"{stats.failed} of {len(jobs)} questions failed: {stats.errors[:3]}")
    return stats


def _row(setting: str, value: float, unit: str = "questions/min") -> dict[str, Any]:
    return {"benchmark": BENCH, "setting": setting, "value": round(value, 2), "unit": unit}


def run(shared: Path | None) -> list[dict[str, Any]]:
    from benchmarks.loopback_model import LoopbackModel

    corpus, name = _corpus(shared)
    data_dir = CACHE / name / "data"
    base = load_settings(data_dir=data_dir)
    with Index(base.store_config()) as index:
        ingest_paths(index, [corpus])  # a no-op after the first run
        papers = index.catalog.count_papers()
        rows: list[dict[str, Any]] = []
        jobs = _questions(corpus, API_QUESTIONS)
        where = f"{papers:,} papers, {len(jobs)} questions, loopback API {DELAY_S:g} s/request"
        with LoopbackModel(REPLY, delay_s=DELAY_S, models=("gpt-test",)) as server:
            settings = load_settings(
                data_dir=data_dir, openai_base_url=server.url, openai_api_key="sk-bench", model="gpt-test"
            )
            llm = build_llm(settings)
            rates: dict[int, float] = {}
            for c in CONCURRENCY:
                stats = _measure(jobs, index, llm, settings, c)
                rates[c] = stats.per_minute
                rows.append(_row(f"{where}, concurrency {c}", stats.per_minute))
            for c in CONCURRENCY[1:]:
                rows.append(_row(f"speed-up, concurrency {c} vs 1", rates[c] / rates[1], "x"))
            top = CONCURRENCY[-1]
            locked = _measure(jobs, index, llm, settings, top, index_lock=True)
            rows.append(_row(f"{where}, concurrency {top}, one shared Index behind a lock", locked.per_minute))
            _measure(jobs, index, llm, settings, top)
            again = _measure(jobs, index, llm, settings, top, warm=True)
            rows.append(_row(f"{where}, concurrency {top}, a re-run (source sentences already embedded)",
                             again.per_minute))
        if LOCAL_QUESTIONS:
            from agent.llm.local import default_gguf

            local = build_llm(base, str(default_gguf()))
            local_jobs = _questions(corpus, LOCAL_QUESTIONS)
            default_workers = workers_for(local, base.llm.concurrency)
            for c in sorted({1, default_workers}):
                stats = _measure(local_jobs, index, local, base, c)
                label = "default" if c == default_workers else "no overlap"
                rows.append(
                    _row(
                        f"{papers:,} papers, {len(local_jobs)} questions, local {local.name}, "
                        f"{c} worker{'s' if c > 1 else ''} ({label}), {os.cpu_count()} cores",
                        stats.per_minute,
                    )
                )
    return rows


if __name__ == "__main__":
    import sys

    shared_dir = Path(os.environ.get("PAPERBRIEF_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
    results = run(shared_dir if shared_dir.is_dir() else None)
    width = max(len(r["setting"]) for r in results)
    for r in results:
        print(f"{r['setting']:<{width}}  {r['value']:>9,.2f} {r['unit']}")
    sys.stdout.flush()
