"""Private by default and no absurd settings (issue 14, item 6).

The data dir holds full prompts and answers; it was created 0755 with 0644
databases. ``PAPERBRIEF_CONTEXT_WINDOW=2000000000`` was accepted and llama.cpp was
OOM-killed at 23 GB.
"""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from agent.brief.cache import BriefCache
from agent.conversations import ConversationStore
from agent.errors import ConfigError
from agent.llm.cached import Entry
from agent.llm.calllog import CallLog
from agent.llm.local import LocalLLM
from agent.settings import SettingsError, load_settings
from store.index import Index


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _open_everything(data_dir: Path) -> list[Path]:
    """Open every database of a data dir as the commands do; returns their paths."""
    settings = load_settings(data_dir=data_dir)
    with Index(settings.store_config()) as idx:
        idx.catalog.set_meta("probe", "1")
        catalog = idx.config.catalog_path
    log = CallLog.for_settings(settings)
    log.record(provider="test", model="m", messages=[], output="an answer")
    conversations = ConversationStore.for_data_dir(data_dir)
    conversations.create("a question")
    cache = BriefCache.for_data_dir(data_dir)
    cache.responses.put("k", Entry(model="m", pieces=("o",), finished=True))
    cache.close()
    return [catalog, log.path, conversations.path, cache.path]  # type: ignore[list-item]


def test_a_new_data_dir_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    databases = _open_everything(data_dir)
    assert mode(data_dir) == 0o700
    assert len(databases) == 4
    for db in databases:
        assert mode(db) == 0o600, db
        assert mode(db.parent) == 0o700, db.parent
        for side in db.parent.glob(db.name + "-*"):
            assert mode(side) == 0o600, side


def test_an_existing_data_dir_is_tightened_on_open(tmp_path: Path) -> None:
    data_dir = tmp_path / "old"
    (data_dir / "index").mkdir(parents=True)
    (data_dir / "logs").mkdir()
    old = [data_dir / "index" / "catalog.sqlite3", data_dir / "logs" / "calls.sqlite3",
           data_dir / "conversations.sqlite3"]
    for path in old:
        sqlite3.connect(path).close()
        path.chmod(0o644)
    for folder in (data_dir, data_dir / "index", data_dir / "logs"):
        folder.chmod(0o755)
    _open_everything(data_dir)
    assert mode(data_dir) == 0o700 and mode(data_dir / "index") == 0o700
    assert all(mode(path) == 0o600 for path in old)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"context_window": 2_000_000_000}, "PAPERBRIEF_CONTEXT_WINDOW"),
        ({"context_window": 0}, "PAPERBRIEF_CONTEXT_WINDOW"),
        ({"concurrency": 0}, "PAPERBRIEF_CONCURRENCY"),
        ({"llm_timeout_s": -1}, "PAPERBRIEF_LLM_TIMEOUT"),
        ({"http_timeout_s": 0}, "PAPERBRIEF_HTTP_TIMEOUT"),
        ({"max_answer_tokens": -5}, "PAPERBRIEF_MAX_ANSWER_TOKENS"),
        ({"prices": {"gpt-x": (-1.0, 2.0)}}, "PAPERBRIEF_PRICES"),
    ],
)
def test_absurd_settings_are_one_line_errors(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(**overrides)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_environment_context_window_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERBRIEF_CONTEXT_WINDOW", "2000000000")
    with pytest.raises(SettingsError, match="less than or equal to 1048576"):
        load_settings()


def test_local_model_refuses_a_window_beyond_its_training() -> None:
    """SmolLM2 was trained for 8,192 tokens; asking for 500,000 fails before any allocation."""
    llm = LocalLLM(context_window=500_000)
    with pytest.raises(ConfigError) as info:
        llm.load()
    assert "500,000" in str(info.value) and "8,192" in str(info.value) and "\n" not in str(info.value)
