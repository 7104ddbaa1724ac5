"""Weekly brief generation: the seed pages' week on the local default model, and one real
~1,000-paper week of ``arxiv_daily_cs`` with a loopback server standing in for an API.

    python -m benchmarks.bench_brief [../shared]

For each: wall time cold (empty TL;DR cache) and warm (same window again), LLM calls
and tokens per paper, the pipeline's own overhead (wall time with no model request
in flight, from the brief's call intervals), time per stage, and the peak memory of
the process that made the brief. Every brief runs in its own child process so peak
memory is its own. The loopback model (``benchmarks/loopback_model.py`` answering with
``benchmarks/brief_model.py``) replies in each prompt's format at hosted-model speed: ``API_DELAY_S`` before the first
token, then ``API_MS_PER_TOKEN`` per completion word, ``settings.llm.concurrency`` requests at a time.
It also times the two ways to get paper vectors (read back from Chroma, or re-embed).
"""

from __future__ import annotations

import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
SEED_DIR = CACHE / "brief-seeds"
ARXIV_DIR = CACHE / "brief-arxiv"
SEED_WEEK = "2026-W11"
ARXIV_WEEK = "2025-W15"  # 983 papers listed; 2025-W14 (1,098) is the previous window
API_DELAY_S = 0.3
API_MS_PER_TOKEN = 10.0  # ~100 tokens/s per request, a hosted small model's streaming speed
EMBED_SAMPLE = 200


def run(shared: Path | None) -> list[dict[str, object]]:
    """Rows ``{benchmark, setting, value, unit, [peak_mb], [note]}``; nothing when ../shared is absent."""
    if shared is None or not (shared / "seeds").is_dir():
        return []
    rows: list[dict[str, object]] = []
    arxiv = shared / "data" / "arxiv_daily_cs" / "arxiv_daily_cs_dedup.jsonl.gz"
    if arxiv.exists():
        _child("prepare-arxiv", shared)
        rows += _child("arxiv", shared)
    _child("prepare-seeds", shared)
    rows += _child("seeds", shared)
    return rows


def _child(kind: str, shared: Path) -> list[dict[str, object]]:
    """Run one part in a fresh interpreter; it prints its rows as JSON lines."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_brief", "--child", kind, str(shared)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench_brief {kind} failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


# --- children ---------------------------------------------------------------------------------


def _prepare_seeds(shared: Path) -> None:
    from agent.settings import load_settings
    from store.index import Index
    from store.ingest import ingest_paths

    with Index(load_settings(data_dir=SEED_DIR).store_config()) as index:
        ingest_paths(index, [shared / "seeds"], year=2026)


def _arxiv_weeks() -> tuple[str, str]:
    from agent.brief.weeks import parse_week

    week = parse_week(ARXIV_WEEK)
    return week.previous().since.isoformat(), week.until.isoformat()


def _prepare_arxiv(shared: Path) -> None:
    """Index the benchmark week and the one before it (once; the cache dir keeps them)."""
    from agent.settings import load_settings
    from store.index import Index
    from store.ingest import ingest_paths

    settings = load_settings(data_dir=ARXIV_DIR)
    with Index(settings.store_config()) as index:
        if index.catalog.count_papers() > 0:
            return
        lo, hi = _arxiv_weeks()
        rows = []
        with gzip.open(shared / "data" / "arxiv_daily_cs" / "arxiv_daily_cs_dedup.jsonl.gz", "rt") as fh:
            for line in fh:
                row = json.loads(line)
                if lo <= str(row["first_seen_date"])[:10] <= hi:
                    rows.append(line)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "weeks.jsonl"
            path.write_text("".join(rows), encoding="utf-8")
            ingest_paths(index, [path])


def _brief_rows(label: str, data_dir: Path, llm_factory: object, *, note: str = "") -> list[dict[str, object]]:
    """Cold and warm briefs of one window; stage times from the events; accounting from the provenance."""
    from agent.brief.cache import BriefCache
    from agent.brief.pipeline import BriefOptions, brief_events
    from agent.brief.types import BriefDone, Stage
    from agent.brief.weeks import parse_week
    from agent.settings import load_settings
    from store.index import Index

    settings = load_settings(data_dir=data_dir)
    week = parse_week(SEED_WEEK if label == "seeds" else ARXIV_WEEK)
    results = []
    with tempfile.TemporaryDirectory() as tmp, Index(settings.store_config()) as index:
        cache = BriefCache(Path(tmp) / "brief.sqlite3")
        llm = llm_factory()  # type: ignore[operator]
        for run_kind in ("cold", "warm"):
            stages: list[tuple[str, float]] = []
            start = time.perf_counter()
            brief = None
            options = BriefOptions(concurrency=settings.llm.concurrency)
            for event in brief_events(week, index=index, llm=llm, options=options, cache=cache):
                if isinstance(event, Stage):
                    stages.append((event.name, time.perf_counter()))
                elif isinstance(event, BriefDone):
                    brief = event.brief
            wall = time.perf_counter() - start
            assert brief is not None
            ends = [t for _, t in stages[1:]] + [start + wall]
            results.append((run_kind, wall, brief, {n: e - s for (n, s), e in zip(stages, ends, strict=True)}))
        cache.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bench = f"brief ({'seed week, local default' if label == 'seeds' else 'arXiv week, loopback API'})"
    rows: list[dict[str, object]] = []
    for run_kind, wall, brief, stage_s in results:
        p = brief.provenance
        overhead = max(0.0, wall - p.llm_wall_s)
        tokens = p.prompt_tokens + p.completion_tokens
        split = ", ".join(f"{name} {sec:.1f} s" for name, sec in stage_s.items())
        rows += [
            {"benchmark": bench, "setting": f"{run_kind}: wall time ({p.papers} papers, {p.themes} themes)",
             "value": wall, "unit": "s", "peak_mb": peak if run_kind == "cold" else "", "note": f"{split}{note}"},
            {"benchmark": bench, "setting": f"{run_kind}: LLM calls per paper", "value": p.calls_per_paper,
             "unit": "calls", "note": f"{p.llm_calls} calls, {p.reused_calls} reused; TL;DRs {p.tldrs}"},
            {"benchmark": bench, "setting": f"{run_kind}: tokens per paper",
             "value": tokens / p.papers if p.papers else 0.0, "unit": "tokens",
             "note": f"{p.prompt_tokens} prompt + {p.completion_tokens} completion"},
            {"benchmark": bench, "setting": f"{run_kind}: pipeline overhead", "value": overhead, "unit": "s",
             "note": f"{100 * overhead / wall:.1f}% of wall time; a model request was in flight {p.llm_wall_s:.1f} s"},
        ]
    return rows


def _seeds() -> list[dict[str, object]]:
    from agent.runtime import build_llm
    from agent.settings import load_settings

    return _brief_rows("seeds", SEED_DIR, lambda: build_llm(load_settings(data_dir=SEED_DIR)))


def _arxiv() -> list[dict[str, object]]:
    from agent.runtime import build_llm
    from agent.settings import load_settings
    from benchmarks.brief_model import brief_reply
    from benchmarks.loopback_model import LoopbackModel

    with LoopbackModel(brief_reply, delay_s=API_DELAY_S, ms_per_token=API_MS_PER_TOKEN) as fake:
        settings = load_settings(data_dir=ARXIV_DIR, openai_base_url=fake.url, openai_api_key="sk-bench",
                                 model="gpt-bench")
        rows = _brief_rows("arxiv", ARXIV_DIR, lambda: build_llm(settings))
        note = (f"; loopback model: {API_DELAY_S:.1f} s + {API_MS_PER_TOKEN:.0f} ms/token, "
                f"concurrency {settings.llm.concurrency}, at most {fake.max_in_flight} requests in flight")
    rows[0]["note"] = str(rows[0]["note"]) + note
    return rows + _vector_rows() + _interest_rows()


def _interest_rows() -> list[dict[str, object]]:
    """Ranking by the reader's interests and stars: what it adds to a brief and to ``papers list --for-me``.

    Side by side in one run: the brief's reader stage (embed the interests, score the
    window's vectors) against scoring nothing, and the ``--for-me`` path (read the
    window's stored vectors back, then score) for the same ~1,000 papers.
    """
    from agent.brief.weeks import parse_week
    from agent.settings import load_settings
    from store.affinity import Affinity
    from store.chunking import chunk_id
    from store.index import Index
    from store.interests import Reader

    week = parse_week(ARXIV_WEEK)
    with Index(load_settings(data_dir=ARXIV_DIR).store_config()) as index:
        papers = index.catalog.list_papers(week.since, week.until)
        stored = index.vectors.get_vectors([chunk_id(p.id, 0) for p in papers])
        vectors = [stored[chunk_id(p.id, 0)] for p in papers if chunk_id(p.id, 0) in stored]
        import numpy as np

        matrix = np.stack(vectors)
        reader = Reader(
            interests=("retrieval-augmented generation for question answering",
                       "reinforcement learning from human feedback", "graph neural networks for molecules"),
            stars=tuple(p.id for p in papers[:2]),
        )
        index.embedder.embed(["warm up"])
        start = time.perf_counter()
        affinity = Affinity.for_index(index, reader)
        assert affinity is not None
        matches = affinity.score(matrix)
        brief_s = time.perf_counter() - start
        start = time.perf_counter()
        for_me = affinity.score_papers(index, papers)
        list_s = time.perf_counter() - start
    matched = sum(m.matched for m in matches)
    return [
        {"benchmark": "brief (interest ranking)", "setting": "baseline: --for-everyone (nothing scored)",
         "value": 0.0, "unit": "s"},
        {"benchmark": "brief (interest ranking)",
         "setting": f"brief reader stage: 3 interests + 2 stars over {len(matrix)} papers", "value": brief_s,
         "unit": "s", "note": f"{matched} papers match; target < 1 s"},
        {"benchmark": "brief (interest ranking)", "setting": f"papers list --for-me: {len(for_me)} papers",
         "value": list_s, "unit": "s", "note": "vectors read back from Chroma, then scored; target < 1 s"},
    ]


def _vector_rows() -> list[dict[str, object]]:
    """Chunk-0 vectors read back from Chroma vs re-embedding title + abstract, for the week's papers."""
    from agent.brief.weeks import parse_week
    from agent.settings import load_settings
    from store.chunking import chunk_id
    from store.index import Index

    week = parse_week(ARXIV_WEEK)
    with Index(load_settings(data_dir=ARXIV_DIR).store_config()) as index:
        papers = index.catalog.list_papers(week.since, week.until)
        start = time.perf_counter()
        index.vectors.get_vectors([chunk_id(p.id, 0) for p in papers])
        chroma = time.perf_counter() - start
        sample = papers[:EMBED_SAMPLE]
        index.embedder.embed(["warm up"])
        start = time.perf_counter()
        index.embedder.embed([f"{p.title}\n\n{p.abstract}" for p in sample])
        embed = (time.perf_counter() - start) * len(papers) / len(sample)
    return [
        {"benchmark": "brief (paper vectors)", "setting": f"read {len(papers)} chunk-0 vectors from Chroma",
         "value": chroma, "unit": "s"},
        {"benchmark": "brief (paper vectors)", "setting": f"re-embed {len(papers)} titles + abstracts (local MiniLM)",
         "value": embed, "unit": "s", "note": f"extrapolated from {len(sample)} papers"},
    ]


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        kind, shared = argv[1], Path(argv[2])
        rows: list[dict[str, object]] = []
        if kind == "prepare-seeds":
            _prepare_seeds(shared)
        elif kind == "prepare-arxiv":
            _prepare_arxiv(shared)
        elif kind == "seeds":
            rows = _seeds()
        elif kind == "arxiv":
            rows = _arxiv()
        for row in rows:
            print(json.dumps(row, default=str))
        return
    only = None
    if argv[:1] == ["--only"]:  # e.g. --only arxiv: skip the local-model seed week on a busy machine
        only, argv = argv[1], argv[2:]
    shared = Path(argv[0]) if argv else ROOT.parent / "shared"
    if only is not None:
        _child(f"prepare-{only}", shared)
        for row in _child(only, shared):
            print(json.dumps(row, default=str))
        return
    for row in run(shared if (shared / "data").is_dir() else None):
        print(json.dumps(row, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
