"""``paperbrief batch`` end to end: a real index, a loopback OpenAI-compatible server, a real SIGKILL."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent.batch.io import Job, derived_id
from agent.batch.output import JsonlWriter
from agent.batch.run import LOCAL_WORKERS, BatchRun
from agent.batch.stats import percentile
from agent.cli.app import main
from agent.llm.base import Usage
from agent.settings import load_settings
from store.index import Index
from store.retrieve import search
from tests.conftest import REPO
from tests.support.fake_llm import FakeLLM
from tests.support.openai_server import OpenAIServer, Reply

ANSWER = "A small draft model proposes tokens that the large model verifies [1]."
ASK_KEYS = {"question", "answer", "citations", "retrieved", "abstained", "mode", "model", "usage", "latency_ms"}
# on-topic questions (each retrieves one of the fixture papers, so the model is called)
TOPICS = [
    "How can a small draft model speed up LLM decoding?",
    "How do tiles let contrastive learning use huge batch sizes?",
    "How are coral bleaching events forecast from satellite data?",
    "Does retrieval-augmented generation reduce hallucinated citations?",
    "How is protein structure predicted without sequence alignments?",
    "How well does speech recognition work for low-resource languages?",
]


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"default": Reply(text=ANSWER)}


def _batch(index_dir: Path, *args: str) -> int:
    try:
        main(["--data-dir", str(index_dir), "batch", *args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _records(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), "the answers file ends inside a line"
    return [json.loads(line) for line in data.split(b"\n")[:-1]]


def _questions_sent(server: OpenAIServer) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in server.chat_requests if r.body]


# --- inputs through the CLI ----------------------------------------------------------


def test_text_input_with_duplicates_blanks_and_summary(
    index_dir: Path, server_env: OpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "q.txt"
    src.write_text("# week 12\n\n" + "\n".join(TOPICS[:3]) + "\n\n" + TOPICS[0] + "\n")
    out, summary = tmp_path / "a.jsonl", tmp_path / "s.json"
    assert _batch(index_dir, str(src), "--out", str(out), "--summary-json", str(summary)) == 0
    records = _records(out)
    assert sorted(r["question"] for r in records) == sorted(TOPICS[:3])  # the repeat answered once
    assert len(server_env.chat_requests) == 3
    for r in records:
        assert r["status"] == "ok" and set(r) >= ASK_KEYS and r["id"] == derived_id(r["question"])
        assert r["citations"] and r["model"] == "gpt-test"
    data = json.loads(summary.read_text())
    assert data["questions"] == 3 and data["duplicates"] == 1 and data["ok"] == 3 and data["failed"] == 0
    assert data["exit_code"] == 0 and data["tokens"]["completion"] > 0
    assert 0 < data["latency_ms"]["p50"] <= data["latency_ms"]["p95"]
    err = capsys.readouterr().err
    assert "repeated question(s) answered once (lines 7)" in err and "Batch summary" in err


def test_jsonl_with_a_malformed_line_and_a_bad_date(
    index_dir: Path, server_env: OpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "q.jsonl"
    src.write_text(
        "\n".join(
            [
                json.dumps({"id": "t1", "question": TOPICS[0], "since": "2025-03-10"}),
                '{"id": "t2", "question": ',
                json.dumps({"id": "t3", "question": TOPICS[1], "since": "2025-13-45"}),
                json.dumps({"id": "t4", "question": TOPICS[2], "until": "2025-03-11"}),
            ]
        )
        + "\n"
    )
    out = tmp_path / "a.jsonl"
    assert _batch(index_dir, str(src), "--out", str(out)) == 1
    by_id = {r["id"]: r for r in _records(out)}
    assert set(by_id) == {"t1", "t3", "t4"}  # the malformed line is reported, not written
    assert by_id["t1"]["status"] == by_id["t4"]["status"] == "ok"
    assert by_id["t3"]["status"] == "error" and "since: '2025-13-45' is not a date" in by_id["t3"]["error"]
    assert by_id["t3"]["question"] == TOPICS[1]
    err = capsys.readouterr().err
    assert f"{src} line 2: not valid JSON" in err


def test_csv_input_and_a_window_from_the_command_line(
    index_dir: Path, server_env: OpenAIServer, tmp_path: Path
) -> None:
    src = tmp_path / "q.csv"
    src.write_text(f'id,question,until\nc1,"{TOPICS[0]}",\nc2,"{TOPICS[2]}",2025-03-10\n')
    out = tmp_path / "a.jsonl"
    # --since applies to every row; c2 adds its own until, so it sees only 2025-03-10
    assert _batch(index_dir, str(src), "--out", str(out), "--since", "2025-03-10") == 0
    by_id = {r["id"]: r for r in _records(out)}
    assert by_id["c1"]["status"] == "ok" and by_id["c1"]["citations"][0]["paper_id"] == "2501.00002"
    # coral paper is listed on 03-11, outside c2's window: retrieval only sees 03-10 papers
    assert all(h["paper_id"] in {"2501.00001", "2501.00002"} for h in by_id["c2"]["retrieved"])


def test_stdin_input_and_stdout_output(
    index_dir: Path, server_env: OpenAIServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = "\n".join(json.dumps({"id": f"s{i}", "question": q}) for i, q in enumerate(TOPICS[:2])) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    read_fd, write_fd = os.pipe()
    saved = os.dup(1)
    os.dup2(write_fd, 1)  # the writer writes to fd 1 directly
    try:
        code = _batch(index_dir, "-", "--out", "-")
    finally:
        os.dup2(saved, 1)
        os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        lines = fh.read().decode().splitlines()
    assert code == 0
    assert sorted(json.loads(x)["id"] for x in lines) == ["s0", "s1"]
    assert "Batch summary" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("", ["missing.txt", "--out", "a.jsonl"], "no such file"),
        ("bad.jsonl", ["bad.jsonl", "--out", "a.jsonl"], "no usable questions"),
        ("q.txt", ["q.txt", "--out", "q.txt"], "is the input file"),
        ("q.txt", ["q.txt", "--out", "-", "--resume"], "--resume needs an answers file"),
        ("q.txt", ["q.txt", "--out", "a.jsonl", "--since", "2025-03-12", "--until", "2025-03-01"], "is after"),
        ("q.txt", ["q.txt", "--out", "a.jsonl", "--resume", "--overwrite"], "contradict"),
        # with a server configured, a .gguf name that is no file here is the server's model id (issue 14)
        ("q.txt", ["q.txt", "--out", "a.jsonl", "--model", "/nope/m.gguf"], "/nope/m.gguf at http"),
    ],
)
def test_unusable_input_exits_2(
    index_dir: Path,
    server_env: OpenAIServer,
    tmp_path: Path,
    setup: str,
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "q.txt").write_text(TOPICS[0] + "\n")
    (tmp_path / "bad.jsonl").write_text('{"question": \n[]\n')
    assert _batch(index_dir, *args) == 2
    assert message in capsys.readouterr().err
    assert server_env.chat_requests == []


def test_existing_output_needs_resume_or_overwrite(
    index_dir: Path, server_env: OpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "q.txt", tmp_path / "a.jsonl"
    src.write_text(TOPICS[0] + "\n")
    assert _batch(index_dir, str(src), "--out", str(out)) == 0
    assert _batch(index_dir, str(src), "--out", str(out)) == 2
    assert "--resume" in capsys.readouterr().err
    assert _batch(index_dir, str(src), "--out", str(out), "--overwrite") == 0
    assert len(_records(out)) == 1 and len(server_env.chat_requests) == 2


# --- failures and resume -------------------------------------------------------------


def test_failed_requests_are_recorded_then_resume_completes_them(
    index_dir: Path, server_env: OpenAIServer, tmp_path: Path
) -> None:
    failing = {TOPICS[1], TOPICS[4]}

    def respond(body: dict[str, Any]) -> Reply:
        prompt = body["messages"][-1]["content"]
        if any(q in prompt for q in failing):
            return Reply(status=503, error="overloaded")
        return Reply(text=ANSWER)

    server_env.respond = respond
    src, out = tmp_path / "q.txt", tmp_path / "a.jsonl"
    src.write_text("\n".join(TOPICS) + "\n")
    summary = tmp_path / "s.json"
    assert _batch(index_dir, str(src), "--out", str(out), "-j", "3", "--summary-json", str(summary)) == 1
    first = _records(out)
    errors = {r["question"]: r for r in first if r["status"] == "error"}
    assert set(errors) == failing and all("HTTP 503" in r["error"] for r in errors.values())
    assert "SECRET123" not in out.read_text()
    assert json.loads(summary.read_text())["failed"] == 2

    failing.clear()  # the server recovers
    sent_before = len(server_env.chat_requests)
    assert _batch(index_dir, str(src), "--out", str(out), "--resume", "--summary-json", str(summary)) == 0
    final = _records(out)
    assert sorted(r["id"] for r in final) == sorted(derived_id(q) for q in TOPICS)  # once each
    assert all(r["status"] == "ok" for r in final)
    resent = _questions_sent(server_env)[sent_before:]
    assert len(resent) == 2 and all(any(q in p for q in errors) for p in resent)  # only the failed ones
    data = json.loads(summary.read_text())
    assert data["already_answered"] == 4 and data["ok"] == 2 and data["exit_code"] == 0
    # nothing left to do: a third run asks nothing
    assert _batch(index_dir, str(src), "--out", str(out), "--resume") == 0
    assert len(server_env.chat_requests) == sent_before + 2


def test_resume_drops_a_torn_line_from_an_older_writer(
    index_dir: Path, server_env: OpenAIServer, tmp_path: Path
) -> None:
    src, out = tmp_path / "q.txt", tmp_path / "a.jsonl"
    src.write_text("\n".join(TOPICS[:3]) + "\n")
    assert _batch(index_dir, str(src), "--out", str(out)) == 0
    lines = out.read_bytes().split(b"\n")[:-1]
    out.write_bytes(b"\n".join(lines[:2]) + b"\n" + lines[2][: len(lines[2]) // 2])  # torn, no newline
    assert _batch(index_dir, str(src), "--out", str(out), "--resume") == 0
    assert sorted(r["id"] for r in _records(out)) == sorted(derived_id(q) for q in TOPICS[:3])
    assert len(server_env.chat_requests) == 4


# --- concurrency -------------------------------------------------------------------------


def test_api_questions_run_in_parallel(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    delay = 0.5
    server.default = Reply(text=ANSWER, delay_s=delay)
    settings = load_settings(data_dir=index_dir, openai_base_url=server.url, openai_api_key="k", model="gpt-test")
    from agent.runtime import build_llm

    questions = [f"{q} (variant {i})" for i in range(2) for q in TOPICS[:4]]
    jobs = [Job(derived_id(q), q, n) for n, q in enumerate(questions, 1)]
    with Index(settings.store_config()) as idx, JsonlWriter(tmp_path / "a.jsonl") as writer:
        run = BatchRun(jobs, index=idx, llm=build_llm(settings), writer=writer, concurrency=4)
        stats = run.run()
    assert stats.ok == 8 and run.workers == 4
    arrivals = sorted(r.at for r in server.chat_requests)
    in_flight = max(sum(1 for b in arrivals if a <= b < a + delay) for a in arrivals)
    assert in_flight >= 3, arrivals  # several requests were waiting on the server at once
    assert stats.elapsed_s < 8 * delay  # faster than one at a time could be


def test_local_model_uses_two_workers_and_one_generation_at_a_time(index_dir: Path, tmp_path: Path) -> None:
    # stands in for llama.cpp: one context, so streams take turns behind a lock
    llm = FakeLLM([ANSWER], name="fake-local", provider="local", usage=Usage(10, 5), delay_s=0.05, serial=True)
    jobs = [Job(derived_id(q), q, n) for n, q in enumerate(TOPICS, 1)]
    settings = load_settings(data_dir=index_dir)
    with Index(settings.store_config()) as idx, JsonlWriter(tmp_path / "a.jsonl") as writer:
        run = BatchRun(jobs, index=idx, llm=llm, writer=writer, concurrency=16)
        stats = run.run()
    assert run.workers == LOCAL_WORKERS == 2 and stats.ok == len(TOPICS)
    assert llm.peak == 1 and len(llm.threads) == 2  # both workers generated, never at once


def test_worker_indexes_retrieve_like_the_shared_one(index_dir: Path) -> None:
    """Concurrent retrieval through per-worker catalogs, sharing embedder, Chroma and BM25."""
    settings = load_settings(data_dir=index_dir)
    questions = [f"{q} {w}" for q in TOPICS for w in ("", "results", "methods", "data")]
    with Index(settings.store_config()) as shared:
        expected = [[h.paper_id for h in search(shared, q, k=5)] for q in questions]
        got: dict[int, list[str]] = {}

        def work(offset: int) -> None:
            with shared.for_thread() as mine:
                assert mine.embedder is shared.embedder and mine.catalog is not shared.catalog
                for i in range(offset, len(questions), 4):
                    got[i] = [h.paper_id for h in search(mine, questions[i], k=5)]

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [got[i] for i in range(len(questions))] == expected


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(101))), 95) == 95.0


# --- a real kill -----------------------------------------------------------------------


def _start_batch(
    index_dir: Path, server: OpenAIServer, tmp_path: Path, n: int
) -> tuple[subprocess.Popen[bytes], list[str], dict[str, str], Path]:
    """A real ``python -m agent batch`` on ``n`` questions, returned once it has written 4 answers."""
    questions = [f"{TOPICS[i % len(TOPICS)]} (case {i})" for i in range(n)]
    src, out = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    src.write_text("".join(json.dumps({"id": f"k{i}", "question": q}) + "\n" for i, q in enumerate(questions)))
    env = {
        **os.environ,
        "PAPERBRIEF_DATA_DIR": str(index_dir),
        "OPENAI_BASE_URL": server.url,
        "OPENAI_API_KEY": "sk-test",
        "PAPERBRIEF_MODEL": "gpt-test",
        "PYTHONPATH": str(REPO),
    }
    cmd = [sys.executable, "-m", "agent", "batch", str(src), "--out", str(out), "--concurrency", "3"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while (not out.exists() or out.read_bytes().count(b"\n") < 4) and proc.poll() is None:
        assert time.monotonic() < deadline, "the batch never wrote an answer"
        time.sleep(0.01)
    return proc, cmd, env, out


@pytest.mark.slow
def test_sigkill_mid_batch_then_resume_answers_each_question_once(
    index_dir: Path, server: OpenAIServer, tmp_path: Path
) -> None:
    server.default = Reply(text=ANSWER, delay_s=0.25)
    n = 30
    proc, cmd, env, out = _start_batch(index_dir, server, tmp_path, n)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the batch finished before it could be killed"

    partial = _records(out)  # every line whole, even though the kill came mid-batch
    assert 4 <= len(partial) < n
    assert all(r["status"] == "ok" for r in partial)
    sent_before = len(server.chat_requests)

    done = subprocess.run([*cmd, "--resume"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    final = _records(out)
    assert sorted(r["id"] for r in final) == sorted(f"k{i}" for i in range(n))  # each exactly once
    assert all(r["status"] == "ok" for r in final)
    assert len(server.chat_requests) - sent_before == n - len(partial)  # none asked twice


@pytest.mark.slow
def test_ctrl_c_stops_promptly_keeps_finished_answers_and_exits_130(
    index_dir: Path, server: OpenAIServer, tmp_path: Path
) -> None:
    server.default = Reply(text=ANSWER, delay_s=0.25)
    proc, _, _, out = _start_batch(index_dir, server, tmp_path, 30)
    server.default = Reply(text=ANSWER, delay_s=30)  # what is in flight now would hold a join for 30 s
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 130, stderr.decode()
    assert b"interrupted" in stderr and b"--resume continues" in stderr and b"Traceback" not in stderr
    partial = _records(out)
    assert 4 <= len(partial) < 30 and len({r["id"] for r in partial}) == len(partial)
