"""The real thing: ``python -m agent`` (a bare ``paperbrief``) in a real terminal, driven through tmux.

Pilot tests run the app headless; this one runs the command a person types, in a
pseudo-terminal with a real driver, keyboard escape sequences and all: it types a
question, reads the streamed answer and its sources off the screen, switches to the
papers screen with F3 and quits with Ctrl+Q. It skips (saying why) where tmux is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support.index import build_index
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.tui_helpers import ANSWER, SECRET

pytestmark = pytest.mark.slow

TMUX = shutil.which("tmux")


@pytest.fixture
def tmux_session() -> Iterator[str]:
    if TMUX is None:
        pytest.skip("tmux is not installed (apt-get install -y tmux): the real-terminal test needs it")
    name = f"paperbrief-test-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run([TMUX, "kill-session", "-t", name], capture_output=True, check=False)


def screen(session: str) -> str:
    """The visible pane as plain text."""
    assert TMUX is not None
    out = subprocess.run([TMUX, "capture-pane", "-p", "-t", session], capture_output=True, text=True, check=False)
    return out.stdout


def keys(session: str, *names: str, literal: bool = False) -> None:
    assert TMUX is not None
    subprocess.run([TMUX, "send-keys", "-t", session, *(["-l"] if literal else []), *names], check=True)


def wait_screen(session: str, ok: Callable[[str], bool], timeout: float, what: str) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(session)
        if ok(text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; the screen was:\n{text}")


def test_bare_paperbrief_in_tmux(tmux_session: str, tmp_path: Path) -> None:
    data_dir = build_index(tmp_path)
    with OpenAIServer(default=Reply(text=ANSWER, chunk_delay_s=0.02)) as server:
        env = {
            **os.environ,
            "PAPERBRIEF_DATA_DIR": str(data_dir),
            "OPENAI_BASE_URL": server.url,
            "OPENAI_API_KEY": SECRET,
            "PAPERBRIEF_MODEL": "gpt-test",
            "TERM": "xterm-256color",
        }
        done = tmp_path / "exit-code"
        command = f"{sys.executable} -m agent; echo $? > {done}"
        assert TMUX is not None
        subprocess.run(
            [TMUX, "new-session", "-d", "-s", tmux_session, "-x", "100", "-y", "32", "-c", str(REPO), command],
            env=env,
            check=True,
        )
        wait_screen(tmux_session, lambda s: "gpt-test" in s and "8 papers" in s, 60, "the app to start")
        keys(tmux_session, "How can a small model speed up LLM decoding?", literal=True)
        keys(tmux_session, "Enter")
        shown = wait_screen(tmux_session, lambda s: "Sources" in s and "generative" in s, 60, "the answer")
        assert "small draft model proposes tokens" in shown
        assert "Speculative Decoding with Tiny Draft Models" in shown
        assert SECRET not in shown and "Traceback" not in shown
        keys(tmux_session, "F3")
        wait_screen(tmux_session, lambda s: "Protein Structure Prediction" in s and "8 of 8 papers" in s, 30, "papers")
        keys(tmux_session, "C-q")
        deadline = time.monotonic() + 20
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert done.exists() and done.read_text().strip() == "0", screen(tmux_session)
