"""Settings: precedence of flags, environment and .env, clear errors, documented fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.settings import Settings, SettingsError, load_settings
from tests.conftest import REPO


def test_env_then_dotenv_then_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERBRIEF_DATA_DIR")
    (tmp_path / ".env").write_text("PAPERBRIEF_CHUNK_SIZE=200\nPAPERBRIEF_TOP_K=7\nCHROMA_HOST=dotenv-host\n")
    s = load_settings()
    assert (s.chunk_size, s.top_k, s.chroma_host) == (200, 7, "dotenv-host")
    monkeypatch.setenv("PAPERBRIEF_TOP_K", "9")
    assert load_settings().top_k == 9  # environment beats .env
    assert load_settings(top_k=3, chroma_host=None).top_k == 3  # flag beats both; None = not given
    assert load_settings(chroma_host=None).chroma_host == "dotenv-host"


def test_empty_values_in_env_file_mean_default(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PAPERBRIEF_CONTEXT_WINDOW=\nCHROMA_HOST=\nPAPERBRIEF_DATA_DIR=\n")
    s = load_settings()
    assert s.context_window is None and s.chroma_host is None


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("PAPERBRIEF_CHUNK_SIZE", "big", "PAPERBRIEF_CHUNK_SIZE"),
        ("CHROMA_PORT", "70000", "CHROMA_PORT"),
        ("PAPERBRIEF_FUSION", "max", "PAPERBRIEF_FUSION"),
        ("PAPERBRIEF_BM25_WEIGHT", "-1", "PAPERBRIEF_BM25_WEIGHT"),
    ],
)
def test_invalid_value_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"invalid setting {expected}:")
    assert "\n" not in message


def test_secret_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET123")
    s = load_settings()
    assert "SECRET123" not in repr(s) and "SECRET123" not in str(s.model_dump())
    assert "SECRET123" not in repr(s.store_config())
    assert s.store_config().embedding.api_key == "sk-test-SECRET123"


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    for name, field in Settings.model_fields.items():
        choices = getattr(field.validation_alias, "choices", [name.upper()])
        assert documented & {str(c) for c in choices}, f"{name} is missing from .env.example"


def test_every_setting_says_what_it_is_for() -> None:
    undescribed = [name for name, field in Settings.model_fields.items() if not (field.description or "").strip()]
    assert not undescribed, f"settings without a description: {undescribed}"
