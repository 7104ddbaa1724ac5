"""Ingest throughput and search latency on real arXiv abstracts, with peak memory.

Each measurement runs in its own subprocess so peak RSS belongs to that phase alone.
Three rates are measured on the same N abstracts in one run:

* ``raw onnxruntime``: a plain loop of the same int8 MiniLM over the same texts
  (tokenize, batch 32 in input order, run, mean-pool) — the baseline ingest is held to;
* ``ingest (dense)``: the full ingest path: parse-free Papers → chunks → vectors →
  Chroma → catalog → BM25;
* ``ingest (no dense)``: the same path with a zero-cost embedder, i.e. our own overhead.

Then search latency p50/p95 over 50 real queries against the index built.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

N_QUERIES = 50


def load_papers(shared: Path, n: int) -> list[dict[str, object]]:
    rows = []
    with gzip.open(shared / "data" / "arxiv_daily_cs" / "arxiv_daily_cs_dedup.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if len(rows) >= n:
                break
    return rows


def _papers(rows: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    from store.sources.tabular import parse_jsonl

    return parse_jsonl((json.dumps(r) for r in rows), source="bench")


class _NullEmbedder:
    """Zero vectors at no cost: isolates the pipeline's own overhead."""

    model_id = "null"

    def embed(self, texts: Sequence[str], on_batch=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        vectors[:, 0] = 1.0
        if on_batch:
            on_batch(len(texts))
        return vectors


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_raw(rows: list[dict[str, object]]) -> dict[str, float]:
    """The baseline: onnxruntime over the same texts, batch 32, input order."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from store.chunking import chunk_paper
    from store.embeddings import mean_pool_normalize, model_file, tokenizer_file

    papers = _papers(rows)
    texts = [c.text for p in papers for c in chunk_paper(p, size=384, overlap=48)]
    tok = Tokenizer.from_file(str(tokenizer_file()))
    tok.enable_truncation(max_length=256)
    tok.enable_padding()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model_file()), sess_options=opts, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    start = time.perf_counter()
    for i in range(0, len(texts), 32):
        enc = tok.encode_batch(texts[i : i + 32])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = session.run(None, feeds)[:1]
        mean_pool_normalize(hidden, mask)
    seconds = time.perf_counter() - start
    return {"papers": len(papers), "chunks": len(texts), "seconds": seconds, "peak_mb": _peak_mb()}


def phase_ingest(rows: list[dict[str, object]], data_dir: Path, dense: bool) -> dict[str, float]:
    from store.config import StoreConfig
    from store.index import Index
    from store.ingest import ingest_papers

    papers = _papers(rows)
    index = Index(StoreConfig(data_dir=data_dir))
    if not dense:
        index.__dict__["embedder"] = _NullEmbedder()
    start = time.perf_counter()
    report = ingest_papers(index, papers)
    seconds = time.perf_counter() - start
    return {"papers": len(papers), "chunks": report.chunks_written, "seconds": seconds, "peak_mb": _peak_mb()}


def phase_search(data_dir: Path, queries: list[str]) -> dict[str, float]:
    from store.config import StoreConfig
    from store.index import Index
    from store.retrieve import search

    index = Index(StoreConfig(data_dir=data_dir))
    search(index, "warm up the caches", k=10)
    times = []
    for q in queries:
        start = time.perf_counter()
        search(index, q, k=10)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "peak_mb": _peak_mb(),
    }


def _subprocess(phase: str, n: int, shared: Path, data_dir: Path) -> dict[str, float]:
    cmd = [sys.executable, "-m", "benchmarks.bench_ingest", phase, str(n), str(shared), str(data_dir)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ})
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(
    shared: Path | None, sizes: Sequence[int] = (1000, 10_000), raw_all: bool = False
) -> list[dict[str, object]]:
    if shared is None:
        return []
    rows: list[dict[str, object]] = []
    raw_rate = 0.0
    for i, n in enumerate(sizes):
        with tempfile.TemporaryDirectory(prefix="pb-bench-") as tmp:
            # the raw baseline scales linearly; it is measured beside the first size only
            raw = _subprocess("raw", n, shared, Path(tmp) / "unused") if i == 0 or raw_all else None
            nodense = _subprocess("nodense", n, shared, Path(tmp) / "nodense")
            dense = _subprocess("dense", n, shared, Path(tmp) / "dense")
            search = _subprocess("search", n, shared, Path(tmp) / "dense")
        dense_rate = dense["papers"] / dense["seconds"]
        if raw is not None:
            raw_rate = raw["papers"] / raw["seconds"]
            rows.append({"benchmark": "ingest", "setting": f"{n:,} papers, raw onnxruntime (baseline)",
                         "value": raw_rate, "unit": "abstracts/s", "peak_mb": raw["peak_mb"]})
        rows += [
            {"benchmark": "ingest", "setting": f"{n:,} papers, paperbrief ingest with dense vectors",
             "value": dense_rate, "unit": "abstracts/s", "peak_mb": dense["peak_mb"],
             "note": f"{dense_rate / raw_rate:.0%} of the raw rate (target ≥ 85%)"},
            {"benchmark": "ingest", "setting": f"{n:,} papers, paperbrief ingest without dense vectors",
             "value": nodense["papers"] / nodense["seconds"], "unit": "abstracts/s", "peak_mb": nodense["peak_mb"]},
            {"benchmark": "search", "setting": f"{n:,} papers, hybrid search p50", "value": search["p50_ms"],
             "unit": "ms", "peak_mb": search["peak_mb"], "note": "target < 50 ms at 10k"},
            {"benchmark": "search", "setting": f"{n:,} papers, hybrid search p95", "value": search["p95_ms"],
             "unit": "ms"},
        ]
    return rows


def _queries(shared: Path) -> list[str]:
    lines = (shared / "data" / "scifact_beir" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:N_QUERIES]]


def _main(argv: list[str]) -> None:
    phase, n, shared, data_dir = argv[0], int(argv[1]), Path(argv[2]), Path(argv[3])
    if phase == "search":
        result = phase_search(data_dir, _queries(shared))
    else:
        rows = load_papers(shared, n)
        result = phase_raw(rows) if phase == "raw" else phase_ingest(rows, data_dir, dense=phase == "dense")
    print(json.dumps(result))


if __name__ == "__main__":
    _main(sys.argv[1:])
