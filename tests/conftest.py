"""Shared fixtures: where ../shared lives, per-test data dirs that never touch the user's, loopback servers.

The loopback servers live in ``tests/support/``; the fixtures here start and stop them. A module
shapes the scripted model's answers by overriding ``server_options`` (the keyword arguments of
:class:`~tests.support.openai_server.OpenAIServer`), not by redefining ``server``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.loopback import LoopbackServer
from tests.support.openai_server import OpenAIServer

REPO = Path(__file__).resolve().parent.parent
# tiktoken's cl100k_base file is copied here once per test session, not into ~/.cache
os.environ.setdefault("TIKTOKEN_CACHE_DIR", tempfile.mkdtemp(prefix="pb-tiktoken-"))
SHARED = Path(os.environ.get("PAPERBRIEF_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout; tests that need it skip with the reason when absent."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"needs the shared test data at {SHARED} (absent on a bare clone)")
    return SHARED


def _stop_model_services(root: Path) -> None:
    """Stop every local model service whose state file lies under ``root`` (tests start them on demand)."""
    from agent.llm.service.process import stop
    from agent.llm.service.state import ServicePaths

    for state in root.glob("**/service/model.json"):
        stop(ServicePaths(state.parent.parent), timeout_s=5)


@pytest.fixture(scope="session", autouse=True)
def _no_service_outlives_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    _stop_model_services(tmp_path_factory.getbasetemp())


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep every test off the user's data dir, off any real API key, off the network.

    A model service a test started in its own data dir is stopped when the test ends;
    module-scoped data dirs' services stop at the end of the session (or after 2 idle minutes).
    """
    monkeypatch.setenv("PAPERBRIEF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.setenv("PAPERBRIEF_SERVICE_IDLE_TIMEOUT", os.environ.get("PAPERBRIEF_SERVICE_IDLE_TIMEOUT", "120"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "CHROMA_PORT", "PAPERBRIEF_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    _stop_model_services(tmp_path)


@pytest.fixture
def server_options() -> dict[str, Any]:
    """Keyword arguments for the ``server`` fixture's :class:`OpenAIServer`; modules override it."""
    return {}


@pytest.fixture
def server(server_options: dict[str, Any]) -> Iterator[OpenAIServer]:
    """A scripted OpenAI-compatible model server on loopback (serves ``gpt-test`` unless told otherwise)."""
    with OpenAIServer(**server_options) as srv:
        yield srv


@pytest.fixture
def server_env(server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIServer:
    """``server`` as the model the CLI uses: its URL, a test key, ``gpt-test``, one attempt per call."""
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET123")
    monkeypatch.setenv("PAPERBRIEF_MODEL", "gpt-test")
    monkeypatch.setenv("PAPERBRIEF_LLM_ATTEMPTS", "1")
    return server


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A plain HTTP server on loopback whose routes a test scripts (sources, retries, deadlines)."""
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def index_papers() -> list[dict[str, Any]]:
    """The papers a module's ``index_dir`` holds; a module overrides it (default: the eight fixture papers)."""
    from tests.support.papers_fixture import PAPERS

    return list(PAPERS)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, index_papers: list[dict[str, Any]]) -> Path:
    """``index_papers`` ingested into a data dir once per test module (real Chroma, BM25, catalog)."""
    from tests.support.index import build_index

    return build_index(tmp_path_factory.mktemp("idx"), index_papers)
