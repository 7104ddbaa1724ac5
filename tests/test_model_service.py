"""The local model service: lifecycle and crash isolation, with a fake model process on a real port.

The service starts ``tests/support/fake_model_server.py`` in place of llama.cpp (through
``PAPERBRIEF_SERVICE_TEST_SERVER``), so the supervisor, the state file, the exit record and
every front end's fallback run for real; only the model is fake. It dies with a real
SIGILL/SIGSEGV/SIGKILL on a request, or hangs, as a broken llama.cpp build would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.cli.app import main
from agent.llm.base import ModelProcessError
from agent.llm.local import default_gguf
from agent.llm.service.main import TEST_SERVER_ENV, free_port, health
from agent.llm.service.state import (
    ServicePaths,
    ServiceState,
    pid_alive,
    read_exit,
    read_state,
    write_state,
)
from agent.runtime import build_llm
from agent.settings import load_settings
from store.index import Index
from store.ingest import ingest_paths
from tests.conftest import REPO
from tests.support.papers_fixture import PAPERS

SCRIPT = REPO / "tests" / "support" / "fake_model_server.py"
ANSWER = "A small draft model proposes tokens that the large model verifies in one pass [1]."
QUESTION = "How can a small draft model speed up LLM decoding?"
MESSAGES = [{"role": "user", "content": "Say hello."}]
STATE_KEYS = {"pid", "port", "host", "model", "started_at", "idle_timeout_s"}


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``fake(mode, once=False)`` configures the fake model; returns the request log's path."""
    log = tmp_path / "requests.log"
    monkeypatch.setenv(TEST_SERVER_ENV, str(SCRIPT))
    monkeypatch.setenv("FAKE_MODEL_LOG", str(log))
    monkeypatch.setenv("FAKE_MODEL_TEXT", ANSWER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))

    def configure(mode: str = "ok", once: bool = False) -> Path:
        monkeypatch.setenv("FAKE_MODEL_MODE", mode)
        if once:
            monkeypatch.setenv("FAKE_MODEL_ONCE", str(tmp_path / "crashed-once"))
        return log

    return configure


@pytest.fixture
def data_dir(index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the small index (each test's service and exit record are its own)."""
    import shutil

    target = tmp_path / "data"
    shutil.copytree(index_dir, target)
    monkeypatch.setenv("PAPERBRIEF_DATA_DIR", str(target))
    return target


def _requests(log: Path) -> list[tuple[int, str]]:
    if not log.exists():
        return []
    return [(int(line.split(" ", 1)[0]), line.split(" ", 1)[1]) for line in log.read_text().splitlines()]


def _cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# --- lifecycle ---------------------------------------------------------------------------


def test_first_call_starts_the_service_and_another_process_reuses_it(
    fake: Callable[..., Path], tmp_path: Path
) -> None:
    log = fake("ok")
    settings = load_settings()
    paths = ServicePaths(settings.data_dir)
    assert read_state(paths) is None
    llm = build_llm(settings)
    assert llm.provider == "local" and llm.name == default_gguf().stem  # the eval cache key stays the same
    text, _ = llm.complete(MESSAGES, max_tokens=16)
    assert text == ANSWER
    state = read_state(paths)
    assert state is not None and pid_alive(state.pid) and health(state.port)
    assert set(json.loads(paths.state.read_text())) == STATE_KEYS  # the contract `doctor` reads
    assert state.host == "127.0.0.1" and Path(state.model) == default_gguf().resolve()
    code = (
        "from agent.runtime import build_llm; from agent.settings import load_settings;"
        "print(build_llm(load_settings()).complete([{'role': 'user', 'content': 'From another process.'}],"
        " max_tokens=16)[0])"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == ANSWER
    assert read_state(paths) == state  # found, not restarted
    assert [pid for pid, _ in _requests(log)] == [state.pid, state.pid]


def test_concurrent_first_calls_start_one_service(fake: Callable[..., Path]) -> None:
    log = fake("ok")
    code = (
        "import sys; from agent.runtime import build_llm; from agent.settings import load_settings;"
        "print(build_llm(load_settings()).complete([{'role': 'user', 'content': sys.argv[1]}], max_tokens=8)[0])"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, f"process {i}"], stdout=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    outs = [p.communicate(timeout=180)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0] and outs == [ANSWER] * 4
    served = _requests(log)
    assert len(served) == 4 and len({pid for pid, _ in served}) == 1  # one model process for all four
    state = read_state(ServicePaths(load_settings().data_dir))
    assert state is not None and state.pid == served[0][0]


def test_a_stale_state_file_with_a_dead_pid_is_replaced(fake: Callable[..., Path]) -> None:
    log = fake("ok")
    settings = load_settings()
    paths = ServicePaths(settings.data_dir)
    dead = subprocess.Popen(["true"])
    dead.wait()
    model = str(default_gguf().resolve())
    stale = ServiceState(dead.pid, free_port(), "127.0.0.1", model, "2020-01-01T00:00:00", 600.0)
    write_state(paths, stale)
    text, _ = build_llm(settings).complete(MESSAGES, max_tokens=8)
    assert text == ANSWER
    state = read_state(paths)
    assert state is not None and state.pid != dead.pid and pid_alive(state.pid)
    assert _requests(log)[0][0] == state.pid


def test_serve_stop_stops_it_and_clears_the_state(
    fake: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    fake("ok")
    settings = load_settings()
    build_llm(settings).complete(MESSAGES, max_tokens=8)
    state = read_state(ServicePaths(settings.data_dir))
    assert state is not None
    assert _cli("serve", "--stop") == 0
    assert not pid_alive(state.pid) and read_state(ServicePaths(settings.data_dir)) is None
    assert f"pid {state.pid}" in capsys.readouterr().err
    assert read_exit(ServicePaths(settings.data_dir)) is None  # a stop is not a crash


# --- crashes: the provider -----------------------------------------------------------------


def test_a_crash_names_the_cause_and_the_next_call_restarts(fake: Callable[..., Path]) -> None:
    log = fake("sigill", once=True)
    settings = load_settings()
    llm = build_llm(settings)
    with pytest.raises(ModelProcessError) as info:
        llm.complete(MESSAGES, max_tokens=8)
    message = str(info.value)
    assert "crashed with SIGILL" in message and "make rebuild-llm" in message
    record = read_exit(ServicePaths(settings.data_dir))
    assert record is not None and record.signal == "SIGILL" and record.reason == "crashed"
    text, _ = llm.complete(MESSAGES, max_tokens=8)  # restarted (after a 1 s backoff)
    assert text == ANSWER
    pids = [pid for pid, _ in _requests(log)]
    assert len(pids) == 2 and pids[0] != pids[1] and pids[0] == record.pid


def test_repeated_crashes_stop_restarting_and_say_why(fake: Callable[..., Path]) -> None:
    log = fake("sigkill")
    settings = load_settings()
    llm = build_llm(settings)
    for _ in range(3):
        with pytest.raises(ModelProcessError, match="crashed with SIGKILL"):
            llm.complete(MESSAGES, max_tokens=8)
    started = time.monotonic()
    with pytest.raises(ModelProcessError) as info:
        llm.complete(MESSAGES, max_tokens=8)
    assert time.monotonic() - started < 1.0  # no fourth start, no waiting
    message = str(info.value)
    assert "3 crashes" in message and "not restarted" in message and "out of memory" in message
    assert len(_requests(log)) == 3


# --- crashes: every front end ----------------------------------------------------------------


@pytest.mark.parametrize("mode, signal_name", [("sigill", "SIGILL"), ("sigsegv", "SIGSEGV")])
def test_ask_answers_with_quotes_when_the_model_crashes(
    fake: Callable[..., Path], data_dir: Path, mode: str, signal_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake(mode)
    assert _cli("ask", QUESTION, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "extractive" and f"crashed with {signal_name}" in data["model_error"]
    assert any("the model failed" in w and signal_name in w for w in data["warnings"])
    assert data["citations"], "the quotes cite their sources"
    abstracts = " ".join(" ".join(str(p["abstract"]).split()) for p in PAPERS)
    quoted = re.findall(r"“(.+?)”", data["answer"])
    assert quoted and all(q in abstracts for q in quoted)  # quotes, word for word
    assert _cli("ask", QUESTION) == 0  # the plain view: the quote, and the warning on stderr
    captured = capsys.readouterr()
    assert f"crashed with {signal_name}" in captured.err and "Traceback" not in captured.err


def test_ask_gives_up_on_a_hung_model_within_the_deadline(
    fake: Callable[..., Path], data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake("hang")
    monkeypatch.setenv("PAPERBRIEF_LOCAL_TIMEOUT", "3")
    started = time.monotonic()
    assert _cli("ask", QUESTION, "--json") == 0
    elapsed = time.monotonic() - started
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "extractive" and "no answer within 3s" in data["model_error"]
    assert elapsed < 3 + 15  # the deadline, plus starting the fake service and retrieval
    paths = ServicePaths(data_dir)
    deadline = time.monotonic() + 5
    while (read_exit(paths) is None or read_state(paths) is not None) and time.monotonic() < deadline:
        time.sleep(0.05)
    record = read_exit(paths)
    assert record is not None and record.reason == "hung"  # stopped, so the next call restarts it
    assert read_state(paths) is None


def test_brief_completes_with_quotes_and_says_so_in_its_provenance(
    fake: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.brief_papers import write_weeks

    fake("sigsegv")
    data = tmp_path / "briefdata"
    monkeypatch.setenv("PAPERBRIEF_DATA_DIR", str(data))
    with Index(load_settings().store_config()) as idx:
        ingest_paths(idx, [write_weeks(tmp_path)])
    out = tmp_path / "brief.json"
    assert _cli("brief", "--week", "2025-W11", "--format", "json", "--out", str(out)) == 0
    brief = json.loads(out.read_text())
    prov = brief["provenance"]
    assert prov["provider"] == "local" and prov["model_failures"] >= 1
    assert "crashed with SIGSEGV" in prov["model_error"]
    assert prov["tldrs"]["model"] == 0 and prov["tldrs"]["extractive"] == prov["papers"] > 0
    assert all(p["tldr"] for t in brief["themes"] for p in t["papers"])
    md = tmp_path / "brief.md"
    assert _cli("brief", "--week", "2025-W11", "--out", str(md)) == 0
    assert "Model failures:" in md.read_text() and "SIGSEGV" in md.read_text()


def test_batch_marks_the_affected_items_and_goes_on(
    fake: Callable[..., Path], data_dir: Path, tmp_path: Path
) -> None:
    fake("sigill", once=True)
    questions = tmp_path / "q.txt"
    questions.write_text(
        "How can a small draft model speed up LLM decoding?\n"
        "How are coral bleaching events forecast from satellite data?\n"
        "How is protein structure predicted without sequence alignments?\n"
    )
    out = tmp_path / "answers.jsonl"
    summary = tmp_path / "summary.json"
    assert _cli("batch", str(questions), "--out", str(out), "-j", "1", "--summary-json", str(summary)) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in records] == ["ok", "ok", "ok"]
    failed = [r for r in records if r.get("model_error")]
    assert len(failed) == 1 and failed[0]["mode"] == "extractive" and "SIGILL" in failed[0]["model_error"]
    # the service restarted: the other questions reached the model again (quote-then-write or generative)
    assert all(r["usage"]["completion_tokens"] > 0 for r in records if not r.get("model_error"))
    assert json.loads(summary.read_text())["model_failed"] == 1


def test_tui_shows_the_crash_and_stays_usable(fake: Callable[..., Path], data_dir: Path, tmp_path: Path) -> None:
    from agent.conversations import ConversationStore
    from agent.tui.app import PaperbriefApp
    from tests.support.tui_helpers import notifications, run, wait_for
    from tests.test_tui import ask

    fake("sigill", once=True)

    async def scenario() -> None:
        app = PaperbriefApp(
            load_settings(data_dir=data_dir), show_latency=False,
            conversations=ConversationStore(tmp_path / "conversations.sqlite3"),
        )
        async with app.run_test(size=(100, 32)) as pilot:
            view = await ask(pilot, QUESTION)
            await wait_for(pilot, lambda: view.has_class("done"), timeout=60, what="the quoted answer")
            status = str(view.query_one(".answer-status").render())
            assert "SIGILL" in status and "make rebuild-llm" in status
            errors = [n for n in notifications(app) if n.severity == "error"]
            assert len(errors) == 1 and errors[0].title == "Local model failed" and "SIGILL" in errors[0].message
            assert "extractive" in str(view.query_one(".answer-meta").render())
            again = await ask(pilot, QUESTION)  # the app is alive and the model restarted
            await wait_for(pilot, lambda: again.has_class("done"), timeout=60, what="the second answer")
            assert "SIGILL" not in str(again.query_one(".answer-status").render())
            assert len([n for n in notifications(app) if n.severity == "error"]) == 1

    run(scenario)


def test_serve_runs_in_the_foreground_is_found_and_stops_cleanly_on_ctrl_c(
    fake: Callable[..., Path], tmp_path: Path
) -> None:
    import signal

    log = fake("ok")
    paths = ServicePaths(load_settings().data_dir)
    serve = subprocess.Popen(
        [sys.executable, "-m", "agent", "serve"], stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    deadline = time.monotonic() + 60
    while read_state(paths) is None and time.monotonic() < deadline and serve.poll() is None:
        time.sleep(0.1)
    state = read_state(paths)
    assert state is not None and state.idle_timeout_s == 0  # `serve` never stops when idle by default
    text, _ = build_llm(load_settings()).complete(MESSAGES, max_tokens=8)
    assert text == ANSWER and _requests(log)[0][0] == state.pid  # the on-demand path found it
    assert _cli("serve") == 2  # a second one refuses, naming the first
    serve.send_signal(signal.SIGINT)
    _, err = serve.communicate(timeout=30)
    assert serve.returncode == 0, err
    assert f"pid {state.pid}" in err and "model service stopped" in err and "Traceback" not in err
    assert not pid_alive(state.pid) and read_state(paths) is None and read_exit(paths) is None
