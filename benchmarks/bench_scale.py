"""Scale: cold start, lexical-first ingest of the whole 74,728-paper arXiv dump, search and a day's update.

    python -m benchmarks.bench_scale [--shared ../shared] [--fresh] [--full-dense] [--write]

Measured side by side with a baseline in the same run:

* cold start: ``paperbrief --help`` and ``paperbrief search`` (seed index) as whole
  processes, beside ``python -c pass``;
* lexical ingest of the dump minus its newest ~700 papers (``--lexical-only``: catalog
  + BM25), against raw ``bm25s`` tokenizing and indexing the same chunk texts; the
  time to first searchable is the ingest's wall time;
* dense rate on a slice (``embed_pending``: embed + Chroma upsert + catalog mark)
  against the embedder alone (onnxruntime, same texts); ``--full-dense`` backfills
  everything (over an hour on 2 cores);
* search p50/p95 at 10k and 75k papers, unfiltered and for one week, with the search
  process's peak RSS, and on-disk size;
* adding the held-out day: BM25 brought up to date incrementally (one new segment)
  against a from-scratch rebuild of the same catalog.

The 75k index is built once into ``benchmarks/.cache/scale`` (``--fresh`` rebuilds it;
its ingest figures are then reused from ``ingest.json``). Each phase runs in its own
process so its peak RSS is its own. ``--write`` puts the table into BENCHMARKS.md
between the ``scale`` markers, leaving the other sections alone.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache" / "scale"
DUMP = Path("data") / "arxiv_daily_cs" / "arxiv_daily_cs_dedup.jsonl.gz"
HOLDOUT = 700  # newest papers kept out of the base index: "one day" of updates
SLICE = 256  # chunks embedded to measure the dense rate
RUNS = 5  # cold-start repetitions (median)
BENCH = "scale"
BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"


def _rss_mb() -> float:
    """This process's peak RSS (VmHWM: ru_maxrss would carry the forking parent's peak across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """This process's CPU time (user + sys): what a loaded machine cannot inflate, unlike wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def _row(setting: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {"benchmark": BENCH, "setting": setting, "value": round(value, 3), "unit": unit, **extra}


def _child(*args: str) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_scale", "--child", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench_scale child {args[0]} failed: {done.stderr[-2000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


# --- data ------------------------------------------------------------------------------


def _split(shared: Path) -> tuple[Path, Path, int]:
    """The dump as base (all but the newest ~HOLDOUT papers) and day files, in the temp dir (not the repo)."""
    where = Path(tempfile.gettempdir()) / "paperbrief-bench-scale"
    base, day = where / "base.jsonl", where / "day.jsonl"
    if not base.exists() or not day.exists():
        where.mkdir(parents=True, exist_ok=True)
        with gzip.open(shared / DUMP, "rt", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        rows.sort(key=lambda r: (str(r.get("first_seen_date") or ""), str(r["id"])))
        cut = str(rows[-HOLDOUT].get("first_seen_date"))
        newest = [r for r in rows if str(r.get("first_seen_date")) >= cut]
        older = [r for r in rows if str(r.get("first_seen_date")) < cut]
        base.write_text("".join(json.dumps(r) + "\n" for r in older), encoding="utf-8")
        day.write_text("".join(json.dumps(r) + "\n" for r in newest), encoding="utf-8")
    return base, day, sum(1 for _ in day.open(encoding="utf-8"))


def _index(data_dir: Path):  # type: ignore[no-untyped-def]
    from store.config import StoreConfig
    from store.index import Index

    return Index(StoreConfig(data_dir=data_dir))


# --- child phases ----------------------------------------------------------------------


def _ingest(source: Path, data_dir: Path, limit: int | None) -> dict[str, Any]:
    """Lexical-only ingest (timed by stage, wall and CPU), then raw bm25s over the same chunk texts."""
    import bm25s
    import Stemmer

    from store.ingest import IngestReport, Progress, ingest_papers, load_files

    marks: dict[str, tuple[float, float]] = {}

    def tick(p: Progress) -> None:
        marks.setdefault(p.stage, (time.perf_counter(), _cpu_s()))

    load_before = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), _cpu_s()
    report = IngestReport()
    papers = load_files([source], report)[:limit]
    parsed, cpu_parsed = time.perf_counter(), _cpu_s()
    with _index(data_dir) as index:
        ingest_papers(index, papers, report, on_progress=tick, lexical_only=True)
        done, cpu_done = time.perf_counter(), _cpu_s()
        _, _, texts = index.catalog.all_chunks()
    at_index, cpu_at_index = marks.get("index", (done, cpu_done))
    raw_start, raw_cpu = time.perf_counter(), _cpu_s()
    # the baseline is bm25s on its own: its tokenizer, its string-token index path
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False,
                            show_progress=False)
    bm25s.BM25().index(tokens, show_progress=False)
    raw, raw_cpu = time.perf_counter() - raw_start, _cpu_s() - raw_cpu
    return {"papers": len(papers), "chunks": len(texts), "parse_s": parsed - start,
            "catalog_s": at_index - parsed, "bm25_s": done - at_index, "total_s": done - start,
            "cpu_s": cpu_done - cpu_start, "parse_cpu_s": cpu_parsed - cpu_start,
            "catalog_cpu_s": cpu_at_index - cpu_parsed, "bm25_cpu_s": cpu_done - cpu_at_index,
            "raw_bm25s_s": raw, "raw_bm25s_cpu_s": raw_cpu, "peak_mb": _rss_mb(),
            "load": (load_before + os.getloadavg()[0]) / 2}


def _queries(index: Any, n: int = 40) -> list[str]:
    rng = random.Random(13)
    papers = index.catalog.list_papers(limit=5000)
    picks = rng.sample(papers, min(n, len(papers)))
    return [" ".join(p.title.split()[:8]) for p in picks]


def _search(data_dir: Path) -> dict[str, Any]:
    from datetime import timedelta

    from store.retrieve import search

    with _index(data_dir) as index:
        queries = _queries(index)
        open_start = time.perf_counter()
        search(index, queries[0], k=10)  # first query loads BM25 (memory-mapped) and, with vectors, Chroma
        first = time.perf_counter() - open_start
        times = []
        for q in queries:
            t = time.perf_counter()
            search(index, q, k=10)
            times.append(time.perf_counter() - t)
        last = index.catalog.listing_range()[1]
        assert last is not None
        since = last - timedelta(days=last.weekday() + 7)
        until = since + timedelta(days=6)
        week = []
        for q in queries:
            t = time.perf_counter()
            search(index, q, k=10, since=since, until=until)
            week.append(time.perf_counter() - t)
        allowed = index.catalog.paper_ids_in_window(since, until)
        coverage = index.dense_coverage()
        bm25 = index.bm25()
        windowed, scanned = [], []  # BM25 alone: the window's rows only, against scoring everything then filtering
        for q in queries:
            t = time.perf_counter()
            bm25.top(q, 40, allowed)
            windowed.append(time.perf_counter() - t)
            t = time.perf_counter()
            [r for r in bm25.top(q, 10**9) if r[1] in allowed][:40]
            scanned.append(time.perf_counter() - t)
    pct = statistics.quantiles
    return {"p50_ms": 1000 * statistics.median(times), "p95_ms": 1000 * pct(times, n=20)[18],
            "week_p50_ms": 1000 * statistics.median(week), "week_p95_ms": 1000 * pct(week, n=20)[18],
            "bm25_week_p50_ms": 1000 * statistics.median(windowed),
            "bm25_scan_p50_ms": 1000 * statistics.median(scanned),
            "first_ms": 1000 * first, "week_papers": len(allowed), "dense_coverage": coverage, "peak_mb": _rss_mb(),
            "load": os.getloadavg()[0]}


def _day(base_dir: Path, day: Path) -> dict[str, Any]:
    """Add the held-out day to a copy of the base index; then rebuild its BM25 from scratch."""
    from store.bm25 import refresh
    from store.ingest import Progress, ingest_paths

    work = CACHE / "day-copy"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base_dir, work)
    try:
        with _index(work) as index:
            marks: dict[str, float] = {}

            def tick(p: Progress) -> None:
                marks.setdefault(p.stage, time.perf_counter())

            start, cpu = time.perf_counter(), _cpu_s()
            report = ingest_paths(index, [day], lexical_only=True, on_progress=tick)
            done, cpu = time.perf_counter(), _cpu_s() - cpu
            segments = len(index.bm25().segments)
            shutil.rmtree(index.config.bm25_dir)
            scratch_start = time.perf_counter()
            refresh(index.catalog, index.config.bm25_dir)
            scratch = time.perf_counter() - scratch_start
        return {"new": report.new, "total_s": done - start, "bm25_s": done - marks.get("index", done),
                "segments": segments, "scratch_s": scratch, "cpu_s": cpu, "load": os.getloadavg()[0]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _dense(data_dir: Path, full: bool) -> dict[str, Any]:
    """Dense rate on a slice of pending chunks: embed_pending vs the embedder alone on the same texts."""
    from store.ingest import embed_pending

    with _index(data_dir) as index:
        texts = [r[3] for r in index.catalog.pending_chunks(SLICE)]
        index.embedder.embed(["warm up"])
        t = time.perf_counter()
        index.embedder.embed(texts)
        raw = time.perf_counter() - t
        t = time.perf_counter()
        written = embed_pending(index, limit=None if full else SLICE)
        ours = time.perf_counter() - t
        pending = index.catalog.count_pending()
    return {"raw_rate": len(texts) / raw, "rate": written / ours, "written": written, "pending": pending}


def _child_main(args: list[str]) -> None:
    phase = args[0]
    if phase == "ingest":
        out = _ingest(Path(args[1]), Path(args[2]), int(args[3]) if args[3] != "all" else None)
    elif phase == "search":
        out = _search(Path(args[1]))
    elif phase == "day":
        out = _day(Path(args[1]), Path(args[2]))
    else:
        out = _dense(Path(args[1]), args[2] == "full")
    print(json.dumps(out))


# --- the parent: cold start and the table -----------------------------------------------


def _time_cmd(cmd: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _cold(shared: Path) -> list[dict[str, Any]]:
    seeds = CACHE / "seeds"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PAPERBRIEF_DATA_DIR": str(seeds)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled once, not at every start
    if not any(seeds.rglob("catalog.sqlite3")):
        subprocess.run([sys.executable, "-m", "agent", "ingest", str(shared / "seeds"), "--json"], cwd=ROOT,
                       env=env, capture_output=True, check=True)
    subprocess.run([sys.executable, "-m", "agent", "search", "warm up", "--json"], cwd=ROOT, env=env,
                   capture_output=True, check=True)  # writes the .pyc files and the vector snapshot
    py = _time_cmd([sys.executable, "-c", "pass"], env)
    helps = _time_cmd([sys.executable, "-m", "agent", "--help"], env)
    search = _time_cmd([sys.executable, "-m", "agent", "search", "retrieval augmented generation", "--json"], env)
    note = f"median of {RUNS}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    return [
        _row("python -c pass (baseline)", py, "s", note=note),
        _row("paperbrief --help", helps, "s", note=f"{helps - py:+.2f} s over bare Python; target ≤ +0.30 s"),
        _row("paperbrief search --json, seed index (131 papers, hybrid)", search, "s", note="target ≤ 1.0 s"),
    ]


def run(shared: Path | None, *, fresh: bool = False, full_dense: bool = False) -> list[dict[str, Any]]:
    if shared is None or not (shared / DUMP).is_file():
        return []
    rows = _cold(shared)
    base_file, day_file, _ = _split(shared)
    base_dir, small_dir = CACHE / "base", CACHE / "10k"
    saved = CACHE / "ingest.json"
    if fresh or not saved.exists():
        shutil.rmtree(base_dir, ignore_errors=True)
        shutil.rmtree(small_dir, ignore_errors=True)
        big = _child("ingest", str(base_file), str(base_dir), "all")[0]
        small = _child("ingest", str(base_file), str(small_dir), "10000")[0]
        saved.write_text(json.dumps({"big": big, "small": small, "load": os.getloadavg()[0]}), encoding="utf-8")
    ingest = json.loads(saved.read_text(encoding="utf-8"))
    big = ingest["big"]
    note = f"load average {big.get('load', ingest['load']):.1f} during the run"
    rows += [
        _row(f"lexical ingest, {big['papers']:,} papers ({big['chunks']:,} chunks): time to first searchable",
             big["total_s"], "s", peak_mb=big["peak_mb"],
             note=f"parse {big['parse_s']:.0f} s + catalog {big['catalog_s']:.0f} s + BM25 {big['bm25_s']:.0f} s; "
                  f"{note}; target < 300 s"),
        _row("lexical ingest, CPU time (user + sys)", big["cpu_s"], "s",
             note=f"parse {big['parse_cpu_s']:.0f} s + catalog {big['catalog_cpu_s']:.0f} s + "
                  f"BM25 {big['bm25_cpu_s']:.0f} s: the wall time on an idle core"),
        _row("lexical ingest rate", big["papers"] / big["total_s"], "papers/s"),
        _row("raw bm25s: tokenize + index the same chunk texts (baseline)", big["raw_bm25s_s"], "s",
             note=f"CPU {big['raw_bm25s_cpu_s']:.0f} s; ours, catalog to saved segment: CPU {big['bm25_cpu_s']:.0f} s"),
    ]
    for label, where in (("10k", small_dir), ("75k", base_dir)):
        s = _child("search", str(where))[0]
        cov = f"dense coverage {s['dense_coverage']:.1%}; load average {s['load']:.1f}"
        rows += [
            _row(f"search p50, {label} papers", s["p50_ms"], "ms", peak_mb=s["peak_mb"], note=cov),
            _row(f"search p95, {label} papers", s["p95_ms"], "ms"),
            _row(f"week-filtered search p50, {label} papers ({s['week_papers']:,} in the week)",
                 s["week_p50_ms"], "ms"),
            _row(f"week-filtered search p95, {label} papers", s["week_p95_ms"], "ms"),
            _row(f"BM25 top-40 in the week, {label} papers: the window's rows only", s["bm25_week_p50_ms"], "ms",
                 note="p50"),
            _row(f"BM25 top-40 in the week, {label} papers: score all, then filter (baseline)",
                 s["bm25_scan_p50_ms"], "ms", note="p50"),
            _row(f"first search in a process (loads the index), {label} papers", s["first_ms"], "ms"),
        ]
    rows.append(_row("on-disk size, 75k lexical index (catalog + BM25)", _du_mb(base_dir), "MB"))
    d = _child("day", str(base_dir), str(day_file))[0]
    rows += [
        _row(f"add one day ({d['new']:,} papers): catalog + BM25, incremental", d["total_s"], "s",
             note=f"BM25 part {d['bm25_s']:.1f} s; CPU {d['cpu_s']:.1f} s; {d['segments']} segments after; "
                  f"load average {d['load']:.1f}; target < 10 s"),
        _row("BM25 rebuilt from scratch after that day (baseline)", d["scratch_s"], "s"),
    ]
    dense = _child("dense", str(base_dir if full_dense else small_dir), "full" if full_dense else "slice")[0]
    rows += [
        _row(f"dense backfill rate (index embed), {dense['written']:,}-chunk slice", dense["rate"], "chunks/s",
             note=f"embed + Chroma upsert + catalog mark; {dense['pending']:,} chunks still pending"),
        _row("raw onnxruntime embedder, same texts (baseline)", dense["raw_rate"], "chunks/s"),
        _row("full dense backfill of 75k, extrapolated", big["chunks"] / max(dense["rate"], 1e-9) / 60, "min",
             note="behind --full-dense"),
    ]
    if not full_dense:  # hybrid at 75k: vectors filled on a copy (see benchmarks/scale_hybrid.py)
        from benchmarks.scale_hybrid import table_rows

        rows += table_rows(base_dir, day_file, _row)
    return rows


def _write(rows: list[dict[str, Any]]) -> None:
    lines = [BEGIN, "## Scale (benchmarks/bench_scale.py)", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {os.cpu_count()} cores shared with "
             "other jobs (see the load average notes: figures on a quiet machine are lower).", "",
             "| setting | value | unit | peak MB | note |", "|---|---:|---|---:|---|"]
    for r in rows:
        peak = round(r["peak_mb"]) if r.get("peak_mb") else ""
        lines.append(f"| {r['setting']} | {r['value']:,} | {r['unit']} | {peak} | {r.get('note', '')} |")
    lines.append(END)
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + "\n".join(lines) + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child_main(sys.argv[2:])
        sys.exit(0)
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached 75k index")
    parser.add_argument("--full-dense", action="store_true", help="embed every pending chunk of the 75k index (hours)")
    parser.add_argument("--write", action="store_true", help="update the scale section of BENCHMARKS.md")
    opts = parser.parse_args()
    result = run(Path(opts.shared), fresh=opts.fresh, full_dense=opts.full_dense)
    for r in result:
        print(f"{r['setting']:<90} {r['value']:>12,.3f} {r['unit']:<9} {r.get('note', '')}")
    if opts.write and result:
        _write(result)
