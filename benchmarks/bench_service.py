"""The local model service against today's in-process model, on the seed pages.

    python -m benchmarks.bench_service [../shared]

Three measurements, each side by side with its baseline in this one run:

1. **Warm service vs in-process first call.** Each ``ask`` runs in a fresh process, as a
   ``paperbrief ask`` would: ``PAPERBRIEF_LOCAL_MODE=inprocess`` loads the model first;
   ``service`` finds the already-running service. TTFT and total p50 (compact prompt, the
   small model's), timed from the start of the command (after imports); in-process runs
   ``BENCH_SERVICE_INPROCESS_ASKS`` (default 1) questions, each cut off at
   ``BENCH_SERVICE_INPROCESS_TIMEOUT`` seconds (default 180).
2. **An ask beside a cold brief.** The seed week's brief (``max_model_tldrs=4``, no cache)
   runs in one process while an ``ask`` runs in another; each against its solo time, with
   the service (and, with ``BENCH_SERVICE_BASELINE_BESIDE=1``, with each process loading its
   own model: two more cold briefs, too slow for a shared machine).
3. **A model process killed mid-answer.** SIGKILL to the service's model process after the
   first token: time until ``ask`` has its quoted fallback answer, then the time until the
   next answer comes from a restarted service.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / ".cache" / "service"
WEEK = "2026-W11"
QUESTIONS = [
    "What methods make large language model inference cheaper?",
    "How are diffusion models used to generate video?",
    "How do robots learn manipulation skills from demonstrations?",
]
BRIEF_TLDRS = 4
#: In-process first calls measured (each loads the model), and how long one may take: on a
#: loaded machine llama.cpp's spinning threads make one take many minutes (issue 10: 437 s).
INPROCESS_ASKS = int(os.environ.get("BENCH_SERVICE_INPROCESS_ASKS", "1"))
INPROCESS_TIMEOUT_S = float(os.environ.get("BENCH_SERVICE_INPROCESS_TIMEOUT", "180"))
#: The in-process side of "ask beside a brief" costs two more cold briefs; off unless asked.
BASELINE_BESIDE = os.environ.get("BENCH_SERVICE_BASELINE_BESIDE") == "1"
#: How long the brief runs alone before the ask starts beside it.
ASK_AFTER_S = 5.0
#: How long after retrieval the model process is killed (its request is then in flight).
KILL_AFTER_S = 0.3


def run(shared: Path | None) -> list[dict[str, object]]:
    if shared is None or not (shared / "seeds").is_dir():
        return []
    _prepare(shared)
    _stop_service()
    rows: list[dict[str, object]] = []
    try:
        parts = (_first_call_rows, _beside_brief_rows, _killed_rows)
        only = os.environ.get("BENCH_SERVICE_PARTS")  # e.g. "killed_rows"
        for part in [p for p in parts if not only or p.__name__.strip("_") in only.split(",")]:
            try:
                got = part()
            except Exception as exc:  # one broken part must not lose the others' numbers
                got = [_row(part.__name__.strip("_"), "failed", float("nan"), "", f"{type(exc).__name__}: {exc}")]
            for row in got:
                print(json.dumps(row), file=sys.stderr, flush=True)  # partial results survive a kill
            rows += got
    finally:
        _stop_service()
    return rows


# --- parts ------------------------------------------------------------------------------


def _first_call_rows() -> list[dict[str, object]]:
    inproc = [_child("ask", "inprocess", q, timeout_s=INPROCESS_TIMEOUT_S) for q in QUESTIONS[:INPROCESS_ASKS]]
    _child("ask", "service", QUESTIONS[0])  # start the service and load the model once
    warm = [_child("ask", "service", q) for q in QUESTIONS]
    rows: list[dict[str, object]] = []
    for label, runs in (("in-process, first call of the process", inproc), ("service, warm", warm)):
        rows.append(_row("ask TTFT p50", label, statistics.median(r["ttft_ms"] for r in runs), "ms",
                         "modes: " + ", ".join(r["mode"] for r in runs)))
        rows.append(_row("ask total p50", label, statistics.median(r["total_ms"] for r in runs), "ms"))
    return rows


def _beside_brief_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    question = QUESTIONS[0]
    for mode in ("service", "inprocess") if BASELINE_BESIDE else ("service",):
        if mode == "service":
            _child("ask", "service", question)  # warm, so "solo" is what a user sees on a warm machine
        ask_solo = _child("ask", mode, question)["total_ms"]
        brief_solo = _child("brief", mode)["seconds"]
        brief = _spawn("brief", mode)
        time.sleep(ASK_AFTER_S)
        ask_beside = _child("ask", mode, question)["total_ms"]
        brief_beside = _collect(brief)["seconds"]
        label = "service" if mode == "service" else "in-process (each process its own model; baseline)"
        rows += [
            _row("ask beside a cold brief", label, ask_beside / ask_solo, "× solo",
                 f"{ask_beside / 1000:.1f} s vs {ask_solo / 1000:.1f} s alone; target ≤ 2.5×"),
            _row("cold brief beside an ask", label, brief_beside / brief_solo, "× solo",
                 f"{brief_beside:.1f} s vs {brief_solo:.1f} s alone; target ≤ 1.5×"),
        ]
    return rows


def _killed_rows() -> list[dict[str, object]]:
    from agent.ask.pipeline import ask_events
    from agent.llm.service.state import ServicePaths, read_state
    from agent.runtime import ask_options, build_llm
    from agent.settings import load_settings
    from agent.types import Done, Retrieved
    from store.index import Index

    settings = load_settings(data_dir=DATA, local_mode="service")
    with Index(settings.store_config()) as index:
        llm = build_llm(settings)
        llm.complete([{"role": "user", "content": "hi"}], max_tokens=1)  # warm
        opts = ask_options(settings, k=6, since=None, until=None)
        answer = None
        killed: list[float] = []

        def kill() -> None:
            state = read_state(ServicePaths(DATA))
            if state is not None:
                os.kill(state.pid, signal.SIGKILL)
                killed.append(time.perf_counter())

        for question in QUESTIONS:  # a short answer may be all in the socket before the kill lands
            killed.clear()
            for event in ask_events(question, index=index, llm=llm, options=opts):
                if isinstance(event, Retrieved):
                    # from another thread, while this one is inside the model request
                    threading.Timer(KILL_AFTER_S, kill).start()
                elif isinstance(event, Done):
                    answer = event.answer
            fallback_s = time.perf_counter() - (killed[0] if killed else 0.0)
            if answer is not None and answer.model_error and killed:
                break
        killed_at = killed[0] if killed else None
        assert answer is not None and answer.model_error, "the kill never reached an answer"
        start = time.perf_counter()
        nxt = None
        for event in ask_events(QUESTIONS[2], index=index, llm=llm, options=opts):
            if isinstance(event, Done):
                nxt = event.answer
        next_s = time.perf_counter() - start
        assert nxt is not None and not nxt.model_error
    return [
        _row("model process killed mid-answer", "time to the quoted fallback answer", fallback_s, "s",
             f"target < 5 s; mode {answer.mode}"),
        _row("model process killed mid-answer", "next ask, from a restarted service", next_s, "s",
             f"incl. 1 s backoff and model load; {(start - (killed_at or start)) + next_s:.1f} s after the kill; "
             f"mode {nxt.mode}"),
    ]


# --- helpers ----------------------------------------------------------------------------------


def _row(benchmark: str, setting: str, value: float, unit: str, note: str = "") -> dict[str, object]:
    return {"benchmark": f"model service: {benchmark}", "setting": setting, "value": value, "unit": unit,
            "note": note}


def _prepare(shared: Path) -> None:
    from agent.settings import load_settings
    from store.index import Index
    from store.ingest import ingest_paths

    with Index(load_settings(data_dir=DATA).store_config()) as index:
        ingest_paths(index, [shared / "seeds"], year=2026)


def _stop_service() -> None:
    from agent.llm.service.process import stop
    from agent.llm.service.state import ServicePaths

    stop(ServicePaths(DATA))


def _spawn(kind: str, mode: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_service", "--child", kind, mode, *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _collect(proc: subprocess.Popen[str], timeout_s: float = 1800) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"ttft_ms": timeout_s * 1000, "total_ms": timeout_s * 1000, "mode": f"timed out (> {timeout_s:g} s)"}
    if proc.returncode != 0:
        raise RuntimeError(f"bench_service child failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _child(kind: str, mode: str, *args: str, timeout_s: float = 1800) -> dict[str, Any]:
    return _collect(_spawn(kind, mode, *args), timeout_s)


def _ask_child(mode: str, question: str) -> None:
    from agent.ask.pipeline import ask_events
    from agent.runtime import ask_options, build_llm
    from agent.settings import load_settings
    from agent.types import Done, Token
    from store.index import Index

    start = time.perf_counter()
    settings = load_settings(data_dir=DATA, local_mode=mode)
    ttft = None
    with Index(settings.store_config()) as index:
        llm = build_llm(settings)
        for event in ask_events(question, index=index, llm=llm, options=ask_options(settings, k=6, since=None,
                                                                                      until=None)):
            now = time.perf_counter()
            if isinstance(event, Token) and ttft is None:
                ttft = now - start
            elif isinstance(event, Done):
                total, mode_done = now - start, event.answer.mode
    print(json.dumps({"ttft_ms": (ttft or total) * 1000, "total_ms": total * 1000, "mode": mode_done}))


def _brief_child(mode: str) -> None:
    from agent.brief.cache import BriefCache
    from agent.brief.pipeline import BriefOptions, build_brief
    from agent.brief.weeks import parse_week
    from agent.runtime import build_llm
    from agent.settings import load_settings
    from store.index import Index

    start = time.perf_counter()
    settings = load_settings(data_dir=DATA, local_mode=mode)
    with Index(settings.store_config()) as index:
        brief = build_brief(parse_week(WEEK), index=index, llm=build_llm(settings),
                            options=BriefOptions(max_model_tldrs=BRIEF_TLDRS), cache=BriefCache(None))
    print(json.dumps({"seconds": time.perf_counter() - start, "calls": brief.provenance.llm_calls}))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        if sys.argv[2] == "ask":
            _ask_child(sys.argv[3], sys.argv[4])
        else:
            _brief_child(sys.argv[3])
    else:
        for r in run(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared"):
            print(json.dumps(r))
