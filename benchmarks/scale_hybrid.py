"""Hybrid search at 75k papers: the vector snapshot against Chroma's HNSW query, in one run.

    python -m benchmarks.scale_hybrid LEXICAL_INDEX_DIR [--day DAY_JSONL]

Used by ``bench_scale`` (its ``hybrid`` phase) on the 75k lexical index it builds. A real
dense backfill of 76k chunks takes over an hour on 2 cores, so the copy measured here gets
its vectors this way: a slice of real chunks is embedded by the local model (its rate is
reported), and every other chunk gets one of those real vectors plus Gaussian noise
(sigma 0.05 per dimension, then normalised), written to Chroma and marked embedded through
the same calls ``index embed`` makes. Exact search costs the same for any values; Chroma's
HNSW sees clustered data like real abstracts. Each measurement runs in its own process so
its peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SLICE = 512  # chunks embedded for real
NOISE = 0.05
QUERIES = 40


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _index(data_dir: Path, *, snapshot: bool = True):  # type: ignore[no-untyped-def]
    from store.config import RetrievalConfig, StoreConfig
    from store.index import Index

    return Index(StoreConfig(data_dir=data_dir, retrieval=RetrievalConfig(dense_snapshot=snapshot)))


def fill(data_dir: Path) -> dict[str, Any]:
    """Give every pending chunk a vector (a real slice, the rest noisy copies), then build the snapshot."""
    import numpy as np

    rng = np.random.default_rng(7)
    with _index(data_dir, snapshot=False) as index:
        rows = index.catalog.pending_chunks(10**7)
        texts = [r[3] for r in rows]
        index.embedder.embed(["warm up"])
        t = time.perf_counter()
        real = index.embedder.embed(texts[:SLICE])
        rate = len(real) / (time.perf_counter() - t)
        titles = index.catalog.titles(r[1] for r in rows)
        t = time.perf_counter()
        for start in range(0, len(rows), 5000):
            part = rows[start : start + 5000]
            base = real[np.arange(start, start + len(part)) % len(real)]
            noisy = base + rng.normal(0.0, NOISE, base.shape).astype(np.float32)
            noisy[: max(0, SLICE - start)] = base[: max(0, SLICE - start)]  # the slice keeps its real vectors
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            ids = [r[0] for r in part]
            index.vectors.upsert(ids, noisy, [r[3] for r in part],
                                 [{"paper_id": pid, "seq": seq, "title": titles.get(pid, "")[:500]}
                                  for _, pid, seq, _ in part])
            index.catalog.mark_embedded(ids)
        written = time.perf_counter() - t
        t = time.perf_counter()
        snap = index.dense()
        build = time.perf_counter() - t
    return {"chunks": len(rows), "embed_rate": rate, "chroma_write_s": written, "snapshot_build_s": build,
            "snapshot_rows": snap.rows}


def _queries(index: Any) -> list[str]:
    rng = random.Random(13)
    papers = index.catalog.list_papers(limit=5000)
    return [" ".join(p.title.split()[:8]) for p in rng.sample(papers, min(QUERIES, len(papers)))]


def measure(data_dir: Path, snapshot: bool) -> dict[str, Any]:
    """Hybrid search p50/p95, unfiltered and for one week, plus each signal's share, in this process."""
    from store.retrieve import bm25_signal, dense_signal, search

    def pct(values: list[float], q: int) -> float:
        return 1000 * (statistics.median(values) if q == 50 else statistics.quantiles(values, n=20)[18])

    with _index(data_dir, snapshot=snapshot) as index:
        queries = _queries(index)
        t = time.perf_counter()
        search(index, queries[0], k=10)  # loads BM25, the embedder and the snapshot (or opens Chroma)
        first = time.perf_counter() - t
        index.query_vectors.update(zip(queries, index.embedder.embed(queries), strict=True))
        last = index.catalog.listing_range()[1]
        assert last is not None
        since = last - timedelta(days=last.weekday() + 7)
        until = since + timedelta(days=6)
        allowed = index.catalog.paper_ids_in_window(since, until)
        runs: dict[str, list[float]] = {"all": [], "week": [], "bm25": [], "dense": []}
        for q in queries:
            for name, call in (
                ("all", lambda q=q: search(index, q, k=10)),
                ("week", lambda q=q: search(index, q, k=10, since=since, until=until)),
                ("bm25", lambda q=q: bm25_signal(index, q, 100, None)),
                ("dense", lambda q=q: dense_signal(index, q, 100, None, snapshot=snapshot)),
            ):
                t = time.perf_counter()
                call()
                runs[name].append(time.perf_counter() - t)
        cfg = replace(index.config.retrieval, dense_snapshot=snapshot)
        top = [h.paper_id for h in search(index, queries[1], k=10, config=cfg)]
    return {"p50_ms": pct(runs["all"], 50), "p95_ms": pct(runs["all"], 95), "week_p50_ms": pct(runs["week"], 50),
            "week_p95_ms": pct(runs["week"], 95), "bm25_p50_ms": pct(runs["bm25"], 50),
            "dense_p50_ms": pct(runs["dense"], 50), "first_ms": 1000 * first, "week_papers": len(allowed),
            "peak_mb": _rss_mb(), "top": top}


def day(data_dir: Path, day_file: Path) -> dict[str, Any]:
    """A day's papers ingested lexically, embedded, then the snapshot brought up to date (timed apart)."""
    from store.ingest import embed_pending, ingest_paths

    with _index(data_dir, snapshot=False) as index:
        index.dense()
        report = ingest_paths(index, [day_file], lexical_only=True)
        t = time.perf_counter()
        index.dense()  # a lexical day: the catalog moved, no vector did
        lexical = time.perf_counter() - t
        written = embed_pending(index)
        t = time.perf_counter()
        snap = index.dense()
        dense = time.perf_counter() - t
    return {"new": report.new, "written": written, "after_lexical_s": lexical, "after_dense_s": dense,
            "rows": snap.rows}


def _child(*args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "benchmarks.scale_hybrid", "--child", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scale_hybrid {args[0]} failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(lexical_dir: Path, work: Path, day_file: Path | None = None) -> dict[str, Any]:
    """Copy the lexical index to ``work`` once, fill its vectors, then measure both dense paths."""
    filled = work / "filled.json"
    if not filled.exists():
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(lexical_dir, work / "data")
        filled.write_text(json.dumps(_child("fill", str(work / "data"))))
    out: dict[str, Any] = {"fill": json.loads(filled.read_text()), "load": os.getloadavg()[0]}
    out["snapshot"] = _child("measure", str(work / "data"), "snapshot")
    out["chroma"] = _child("measure", str(work / "data"), "chroma")
    dense_dir = work / "data" / "index" / "dense"
    out["snapshot_mb"] = sum(f.stat().st_size for f in dense_dir.rglob("*") if f.is_file()) / 2**20
    if day_file is not None:
        out["day"] = _child("day", str(work / "data"), str(day_file))
        shutil.rmtree(work, ignore_errors=True)  # the day changed the copy: the next run fills afresh
    return out


def table_rows(lexical_dir: Path, day_file: Path | None, row: Any) -> list[dict[str, Any]]:
    """:func:`run` as ``bench_scale`` rows (``row(setting, value, unit, **extra)``)."""
    r = run(lexical_dir, ROOT / "benchmarks" / ".cache" / "scale" / "hybrid", day_file)
    f, snap, chroma = r["fill"], r["snapshot"], r["chroma"]
    same = "same top 10" if snap["top"] == chroma["top"] else "top 10 differs"
    load = f"load average {r['load']:.1f}"
    out = [
        row(f"vectors for the 75k index: {f['chunks']:,} chunks ({SLICE} embedded for real, the rest noisy "
            "copies), written to Chroma", f["chroma_write_s"], "s",
            note=f"local embedder {f['embed_rate']:.1f} chunks/s"),
        row("vector snapshot built from Chroma (all rows)", f["snapshot_build_s"], "s",
            note=f"{r['snapshot_mb']:.0f} MB on disk"),
    ]
    for name, m in (("snapshot", snap), ("Chroma HNSW (baseline)", chroma)):
        out += [
            row(f"hybrid search p50, 75k papers, dense from {name}", m["p50_ms"], "ms", peak_mb=m["peak_mb"],
                note=f"p95 {m['p95_ms']:.1f} ms; BM25 part {m['bm25_p50_ms']:.1f} ms, dense part "
                     f"{m['dense_p50_ms']:.1f} ms (p50); {load}; target p50 ≤ 25 ms, p95 ≤ 80 ms"),
            row(f"hybrid search p95, 75k papers, dense from {name}", m["p95_ms"], "ms"),
            row(f"week-filtered hybrid search p50, 75k ({m['week_papers']:,} papers), dense from {name}",
                m["week_p50_ms"], "ms", note=f"p95 {m['week_p95_ms']:.1f} ms"),
            row(f"first hybrid search in a process, 75k, dense from {name}", m["first_ms"], "ms",
                note=same if name == "snapshot" else ""),
        ]
    if "day" in r:
        d = r["day"]
        out += [
            row(f"snapshot after a lexical day ({d['new']:,} papers, no new vector)", d["after_lexical_s"], "s"),
            row(f"snapshot after that day's {d['written']:,} vectors (read from Chroma)", d["after_dense_s"], "s",
                note=f"{d['rows']:,} rows"),
        ]
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        phase, where = sys.argv[2], Path(sys.argv[3])
        if phase == "fill":
            result = fill(where)
        elif phase == "measure":
            result = measure(where, sys.argv[4] == "snapshot")
        else:
            result = day(where, Path(sys.argv[4]))
        print(json.dumps(result))
        sys.exit(0)
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lexical_dir", type=Path)
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / ".cache" / "scale" / "hybrid")
    parser.add_argument("--day", type=Path, default=None)
    opts = parser.parse_args()
    print(json.dumps(run(opts.lexical_dir, opts.work, opts.day), indent=2))
