"""Shared fixtures: where ../shared lives, and per-test data dirs that never touch the user's."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

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
