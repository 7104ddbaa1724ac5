"""Run every benchmark, print one table, and write BENCHMARKS.md.

    python -m benchmarks.run [--only retrieval,ingest,ask,batch,brief,scale,service] [--shared ../shared]

Speed and memory targets live here, measured side by side with their baselines in
one run, never as timed tests. Each suite returns rows ``{benchmark, setting, value,
unit, [peak_mb], [note]}``; suites whose data is absent return nothing.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("retrieval", "ingest", "ask", "answers", "batch", "brief", "scale", "service")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, Python {platform.python_version()}"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SUITES))
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    shared = Path(args.shared) if (Path(args.shared) / "data").is_dir() else None
    console = Console()
    rows: list[dict[str, object]] = []
    timings: dict[str, float] = {}
    for name in [s.strip() for s in args.only.split(",") if s.strip()]:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        console.print(f"[bold]running {name}…[/]")
        start = time.perf_counter()
        rows += module.run(shared)
        timings[name] = time.perf_counter() - start
    table = Table(title="paperbrief benchmarks")
    for col in ("benchmark", "setting", "value", "unit", "peak MB", "note"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["benchmark"]), str(r["setting"]), _fmt(r["value"]), str(r["unit"]),
            _fmt(r.get("peak_mb", "")), str(r.get("note", "")),
        )
    console.print(table)
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m benchmarks.run`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"commit {_commit()}, on {_machine()}.",
        "Each suite measures paperbrief next to its baseline in the same run. Suites: "
        + ", ".join(f"{k} ({v:.0f} s)" for k, v in timings.items()) + ".",
        "",
        "| benchmark | setting | value | unit | peak MB | note |",
        "|---|---|---:|---|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['benchmark']} | {r['setting']} | {_fmt(r['value'])} | {r['unit']} | "
            f"{_fmt(r.get('peak_mb', ''))} | {r.get('note', '')} |"
        )
    notes = ROOT / "benchmarks" / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
