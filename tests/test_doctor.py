"""`paperbrief doctor` on a healthy setup and on broken ones, with real children and servers."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest

from agent.doctor import cpu, endpoints, index, model
from agent.doctor.result import ok
from agent.doctor.runner import Check, run_one
from agent.llm.base import LLMError
from agent.settings import load_settings
from agent.tui.errors import explain
from tests.support.cli import run
from tests.support.loopback import LoopbackServer, Reply
from tests.test_crash_and_server import chroma_server  # noqa: F401  (the real `chroma run` fixture)

NAMES = ["python", "cpu features", "model file", "probe generation", "model service", "embedder", "chroma",
         "data dir", "endpoint", "tiktoken file"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_healthy_setup_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["doctor", "--json"], capsys)
    report = json.loads(out)
    assert code == 0, report
    assert [c["name"] for c in report["checks"]] == NAMES
    assert {c["status"] for c in report["checks"]} == {"ok"}, report
    probe = next(c for c in report["checks"] if c["name"] == "probe generation")
    assert "tokens in" in probe["detail"] and probe["seconds"] > 0
    # the human form: one line per check, a summary on stderr
    code, out, err = run(["doctor"], capsys)
    assert code == 0 and len(out.strip().splitlines()) == len(NAMES) and "all 10 checks passed" in err


def test_missing_model_fails_names_the_fix_and_skips_the_probe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERBRIEF_GGUF", str(tmp_path / "gone.gguf"))
    code, out, _ = run(["doctor", "--json"], capsys)
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 1
    assert checks["model file"]["status"] == "fail" and "gone.gguf does not exist" in checks["model file"]["detail"]
    assert "paperbrief models pull" in checks["model file"]["fix"]
    assert checks["probe generation"]["status"] == "warn" and "skipped" in checks["probe generation"]["detail"]
    code, out, err = run(["doctor"], capsys)
    assert code == 1 and "1 check(s) failed: model file" in err and "→ fix PAPERBRIEF_GGUF" in out


def test_a_file_that_is_not_a_model_fails_the_probe_in_its_child(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 2_000_000)
    result = model.check_probe(tmp_path, fake, timeout_s=60)
    assert result.status == "fail" and "fake.gguf" in result.detail, result


def test_a_crashing_child_is_a_fail_naming_the_signal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real child that dies of SIGILL, as a native build does on the wrong CPU; doctor lives on."""
    crasher = tmp_path / "python-that-crashes"
    crasher.write_text("#!/bin/sh\nkill -ILL $$\n")
    crasher.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(crasher))
    probe = model.check_probe(tmp_path, model.model_in_use(tmp_path, None), timeout_s=30)
    assert probe.status == "fail" and "crashed with SIGILL" in probe.detail and "make rebuild-llm" in probe.fix
    build = cpu.check_cpu(timeout_s=10)
    assert build.status == "fail" and "SIGILL" in build.detail and "make rebuild-llm" in build.fix


def test_cpu_lacking_a_build_feature_fails() -> None:
    built = cpu.parse_build_features("CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 0 | OPENMP = 1 |")
    assert built == {"SSE3", "AVX2", "AVX512", "OPENMP"}
    lacking = cpu.compare(built, {"pni", "avx2"})
    assert lacking.status == "fail" and "AVX512" in lacking.detail and "make rebuild-llm" in lacking.fix
    assert cpu.compare(built, {"pni", "avx2", "avx512f"}).status == "ok"
    amx = cpu.compare({"AVX2", "AMX_INT8"}, {"avx2", "amx_int8"})
    assert amx.status == "warn" and "AMX" in amx.detail


def test_unreachable_endpoint_and_unlisted_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{_free_port()}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-doctor-key")
    down = endpoints.check_endpoint(load_settings(), timeout_s=2)
    assert down.status == "fail" and "unreachable" in down.detail and "OPENAI_BASE_URL" in down.fix
    with LoopbackServer() as server:
        server.route("/v1/models", Reply.json({"data": [{"id": "llama3:latest"}, {"id": "qwen2.5"}]}))
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        monkeypatch.setenv("PAPERBRIEF_MODEL", "gpt-9")
        missing = endpoints.check_endpoint(load_settings(), timeout_s=2)
        assert missing.status == "fail" and "does not offer gpt-9" in missing.detail and "qwen2.5" in missing.detail
        monkeypatch.setenv("PAPERBRIEF_MODEL", "llama3")
        assert endpoints.check_endpoint(load_settings(), timeout_s=2).status == "ok"
        assert server.requests[-1].headers["authorization"] == "Bearer sk-secret-doctor-key"
        server.route("/v1/models", Reply.json({"error": "bad key"}, status=401))
        rejected = endpoints.check_endpoint(load_settings(), timeout_s=2)
        assert rejected.status == "fail" and "rejected the key" in rejected.detail
    assert "sk-secret" not in down.detail + down.fix + missing.detail + missing.fix


def test_unreachable_endpoint_fails_the_cli_without_leaking_the_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{_free_port()}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-doctor-key")
    monkeypatch.setenv("PAPERBRIEF_GGUF", "/nonexistent/model.gguf")  # unused with a server: a warning only
    code, out, _ = run(["doctor", "--json", "--probe-timeout", "5"], capsys)
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 1 and checks["endpoint"]["status"] == "fail"
    assert checks["model file"]["status"] == "warn"
    assert "sk-secret" not in out


@pytest.mark.slow
def test_chroma_server_up_then_down(chroma_server: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    host, port = chroma_server
    monkeypatch.setenv("CHROMA_HOST", host)
    monkeypatch.setenv("CHROMA_PORT", str(port))
    up = index.check_chroma(load_settings().store_config(), timeout_s=5)
    assert up.status == "ok" and f"{host}:{port} answers" in up.detail
    monkeypatch.setenv("CHROMA_PORT", str(_free_port()))
    down = index.check_chroma(load_settings().store_config(), timeout_s=2)
    assert down.status == "fail" and "does not answer" in down.detail and "chroma run" in down.fix


def test_service_file_states(tmp_path: Path) -> None:
    assert model.check_service(tmp_path).detail == "not running; starts on demand"
    service = tmp_path / "service"
    service.mkdir()
    (service / "model.json").write_text(json.dumps({"pid": 2**22 + 12345, "port": 1, "host": "127.0.0.1"}))
    stale = model.check_service(tmp_path)
    assert stale.status == "warn" and "is gone" in stale.detail
    with LoopbackServer() as server:
        server.route("/v1/models", Reply.json({"data": [{"id": "SmolLM2"}]}))
        (service / "model.json").write_text(json.dumps(
            {"pid": os.getpid(), "port": server.port, "host": "127.0.0.1", "model": "/m/SmolLM2.gguf",
             "started_at": time.time(), "idle_timeout_s": 300}))
        running = model.check_service(tmp_path)
        assert running.status == "ok" and f"pid {os.getpid()}" in running.detail and "SmolLM2.gguf" in running.detail
    (service / "model.json").write_text(json.dumps({"pid": os.getpid(), "port": _free_port()}))
    dead_port = model.check_service(tmp_path, timeout_s=1)
    assert dead_port.status == "fail" and f"kill {os.getpid()}" in dead_port.fix


def test_a_hung_or_broken_check_is_a_fail_not_a_hang() -> None:
    started = time.monotonic()
    hung = run_one(Check("hangs", lambda: time.sleep(30) or ok("hangs", "never"), 0.5))
    assert hung.status == "fail" and "no answer within 0.5 s" in hung.detail
    assert time.monotonic() - started < 5

    def broken() -> object:
        raise RuntimeError("boom")

    crashed = run_one(Check("broken", broken, 5))  # type: ignore[arg-type]
    assert crashed.status == "fail" and "boom" in crashed.detail


def test_data_dir_states(tmp_path: Path) -> None:
    from agent.doctor.system import check_data_dir

    data = tmp_path / "data"
    assert "not created yet" in check_data_dir(data).detail
    data.mkdir()
    (data / "blob").write_bytes(b"x" * 2_000_000)
    healthy = check_data_dir(data)
    assert healthy.status == "ok" and "2.0 MB" in healthy.detail
    data.chmod(0o777)
    loose = check_data_dir(data)
    assert loose.status == "warn" and "writable by every user" in loose.detail and "chmod o-w" in loose.fix
    not_a_dir = check_data_dir(data / "blob")
    assert not_a_dir.status == "fail" and "is not a directory" in not_a_dir.detail


def test_tui_error_hints_point_to_doctor() -> None:
    assert "paperbrief doctor" in explain(LLMError("model crashed")).hint
    assert "paperbrief doctor" in explain(RuntimeError("odd")).hint


def test_unusable_settings_are_a_failed_check_not_a_crash(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERBRIEF_CHUNK_SIZE", "lots")
    code, out, _ = run(["doctor", "--json"], capsys)
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 1 and list(checks) == ["python", "cpu features", "settings", "tiktoken file"]
    assert checks["settings"]["status"] == "fail" and "PAPERBRIEF_CHUNK_SIZE" in checks["settings"]["detail"]
    assert checks["python"]["status"] == "ok"


def test_service_check_names_the_last_crash_and_its_fix(tmp_path: Path) -> None:
    import signal

    from agent.doctor.model import check_service
    from agent.llm.service.state import ServicePaths, record_exit

    paths = ServicePaths(tmp_path)
    paths.ensure()
    assert check_service(tmp_path).status == "ok"  # never crashed: starts on demand
    record_exit(paths, pid=4242, model="m.gguf", returncode=-signal.SIGILL)
    result = check_service(tmp_path)
    assert result.status == "warn" and "make rebuild-llm" in result.fix
