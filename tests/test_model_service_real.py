"""The real model service (llama-cpp-python's server with SmolLM2): two processes at once, idle exit.

Slow: each test loads the model in a service process; on two busy cores that takes
seconds, and the brief makes a dozen real calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.llm.local import default_gguf
from agent.llm.service.state import ServicePaths, pid_alive, read_exit, read_state
from agent.runtime import build_llm
from agent.settings import load_settings
from store.index import Index
from store.ingest import ingest_paths
from tests.conftest import REPO
from tests.support.brief_papers import write_weeks

pytestmark = pytest.mark.slow

BRIEF = """
import json, sys
from pathlib import Path
from agent.brief.cache import BriefCache
from agent.brief.pipeline import BriefOptions, build_brief
from agent.brief.weeks import parse_week
from agent.runtime import build_llm
from agent.settings import load_settings
from store.index import Index
settings = load_settings()
with Index(settings.store_config()) as idx:
    brief = build_brief(parse_week("2025-W11"), index=idx, llm=build_llm(settings),
                        options=BriefOptions(max_model_tldrs=4), cache=BriefCache(None))
print(json.dumps(brief.provenance.to_json()))
"""


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))


def test_ask_and_brief_from_two_processes_share_one_service(tmp_path: Path) -> None:
    settings = load_settings()
    with Index(settings.store_config()) as idx:
        ingest_paths(idx, [write_weeks(tmp_path)])
    brief = subprocess.Popen(
        [sys.executable, "-c", BRIEF], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    ask = subprocess.Popen(
        [sys.executable, "-m", "agent", "ask", "How does speculative decoding speed up LLM inference?", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )
    ask_out, ask_err = ask.communicate(timeout=600)
    brief_out, brief_err = brief.communicate(timeout=600)
    assert ask.returncode == 0, ask_err
    assert brief.returncode == 0, brief_err
    answer = json.loads(ask_out)
    stem = default_gguf().stem
    assert answer["model"] == stem and not answer.get("model_error")
    assert answer["usage"]["completion_tokens"] > 0  # the model wrote (whatever the check kept)
    prov = json.loads(brief_out)
    assert prov["model"] == stem and prov["provider"] == "local" and prov["llm_calls"] > 0
    assert "model_failures" not in prov and prov["tldrs"]["model"] >= 1
    paths = ServicePaths(settings.data_dir)
    log = paths.log.read_text()
    assert log.count(" starting ") == 1  # one model process served both
    state = read_state(paths)
    assert state is not None and pid_alive(state.pid) and Path(state.model) == default_gguf().resolve()


def test_an_idle_service_exits_and_clears_its_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERBRIEF_SERVICE_IDLE_TIMEOUT", "3")
    settings = load_settings()
    text, _ = build_llm(settings).complete([{"role": "user", "content": "Say hi."}], max_tokens=8)
    assert text.strip()
    paths = ServicePaths(settings.data_dir)
    state = read_state(paths)
    assert state is not None and state.idle_timeout_s == 3
    deadline = time.monotonic() + 30
    while (pid_alive(state.pid) or read_state(paths) is not None) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_alive(state.pid) and read_state(paths) is None
    assert read_exit(paths) is None  # an idle exit is not a crash
    assert "idle for 3s" in paths.log.read_text()
