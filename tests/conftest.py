"""Shared fixtures: where ../shared lives, and per-test data dirs that never touch the user's."""

from __future__ import annotations

import os
import tempfile
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


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test off the user's data dir, off any real API key, off the network."""
    monkeypatch.setenv("PAPERBRIEF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "CHROMA_PORT", "PAPERBRIEF_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
