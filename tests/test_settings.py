"""Settings: precedence of flags, environment and .env, clear errors, typos named, documented fields."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from agent.settings import Settings, SettingsError, load_settings
from agent.settings_env import NOT_SETTINGS, env_names
from tests.conftest import REPO


def test_env_then_dotenv_then_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERBRIEF_DATA_DIR")
    (tmp_path / ".env").write_text("PAPERBRIEF_CHUNK_SIZE=200\nPAPERBRIEF_TOP_K=7\nCHROMA_HOST=dotenv-host\n")
    s = load_settings()
    assert (s.index.chunk_size, s.retrieval.top_k, s.chroma.host) == (200, 7, "dotenv-host")
    monkeypatch.setenv("PAPERBRIEF_TOP_K", "9")
    assert load_settings().retrieval.top_k == 9  # environment beats .env
    assert load_settings(top_k=3, chroma_host=None).retrieval.top_k == 3  # flag beats both; None = not given
    assert load_settings(chroma_host=None).chroma.host == "dotenv-host"


def test_empty_values_in_env_file_mean_default(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PAPERBRIEF_CONTEXT_WINDOW=\nCHROMA_HOST=\nPAPERBRIEF_DATA_DIR=\n")
    s = load_settings()
    assert s.llm.context_window is None and s.chroma.host is None


@pytest.mark.parametrize(
    ("var", "value", "path"),
    [
        ("PAPERBRIEF_LLM_TIMEOUT", "7", ("llm", "timeout_s")),
        ("PAPERBRIEF_LOCAL_TIMEOUT", "8", ("local", "timeout_s")),
        ("PAPERBRIEF_CHROMA_TIMEOUT", "9", ("chroma", "timeout_s")),
        ("PAPERBRIEF_HTTP_TIMEOUT", "10", ("fetch", "timeout_s")),
        ("PAPERBRIEF_SERVICE_IDLE_TIMEOUT", "11", ("local", "idle_timeout_s")),
        ("PAPERBRIEF_CHROMA_HOST", "h", ("chroma", "host")),
        ("OPENAI_BASE_URL", "http://x/v1", ("llm", "base_url")),
        ("PAPERBRIEF_LLM__TIMEOUT_S", "12", ("llm", "timeout_s")),  # the nested name works too
        ("paperbrief_model", "m", ("llm", "model")),  # names are case-insensitive, as before
    ],
)
def test_flat_documented_names_reach_their_group(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, path: tuple[str, str]
) -> None:
    monkeypatch.setenv(var, value)
    group = getattr(load_settings(), path[0])
    assert str(getattr(group, path[1])) == str(float(value) if value.isdigit() else value)


def test_prices_are_json_and_the_documented_name_wins_over_the_nested_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERBRIEF_PRICES", '{"my-model": [0.15, 0.6]}')
    monkeypatch.setenv("PAPERBRIEF_LLM_ATTEMPTS", "2")
    monkeypatch.setenv("PAPERBRIEF_LLM__ATTEMPTS", "3")
    s = load_settings()
    assert s.llm.prices == {"my-model": (0.15, 0.6)} and s.llm.attempts == 2
    monkeypatch.setenv("PAPERBRIEF_PRICES", "{not json")
    with pytest.raises(SettingsError, match=r"^invalid setting PAPERBRIEF_PRICES: not valid JSON"):
        load_settings()


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("PAPERBRIEF_CHUNK_SIZE", "big", "PAPERBRIEF_CHUNK_SIZE"),
        ("CHROMA_PORT", "70000", "CHROMA_PORT"),
        ("PAPERBRIEF_FUSION", "max", "PAPERBRIEF_FUSION"),
        ("PAPERBRIEF_BM25_WEIGHT", "-1", "PAPERBRIEF_BM25_WEIGHT"),
        ("PAPERBRIEF_LLM_TIMEOUT", "0", "PAPERBRIEF_LLM_TIMEOUT"),
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


@pytest.mark.parametrize(
    ("var", "closest"),
    [
        ("PAPERBRIEF_LLM_TIMOUT", "PAPERBRIEF_LLM_TIMEOUT"),
        ("PAPERBRIEF_LOCAL_TIMEOUT_S", "PAPERBRIEF_LOCAL_TIMEOUT"),
        ("PAPERBRIEF_CHROMA_HOSTNAME", "PAPERBRIEF_CHROMA_HOST"),
    ],
)
def test_an_unknown_paperbrief_variable_names_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch, var: str, closest: str
) -> None:
    monkeypatch.setenv(var, "5")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value) == f"unknown setting {var} in the environment; did you mean {closest}?"
    assert info.value.exit_code == 2


def test_a_typo_in_dotenv_is_named_but_other_tools_keys_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HF_TOKEN=hf_x\nOPENAI_ORG=acme\n")
    assert load_settings().llm.api_key is None  # not ours, not close to ours: ignored as before
    (tmp_path / ".env").write_text("HF_TOKEN=hf_x\nOPENAI_API_KY=sk-x\n")
    with pytest.raises(SettingsError, match=r"^unknown setting OPENAI_API_KY in \.env; did you mean OPENAI_API_KEY\?$"):
        load_settings()


def test_tool_variables_and_unknown_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NOT_SETTINGS:
        monkeypatch.setenv(name, "x")
    load_settings()  # PAPERBRIEF_SHARED_DIR and friends are not settings, and not typos
    with pytest.raises(SettingsError, match=r"unknown setting modle in the arguments; did you mean model\?"):
        load_settings(modle="x")
    with pytest.raises(SettingsError, match=r"invalid setting llm\.temperature: Extra inputs are not permitted"):
        load_settings(llm={"temperature": 0.5})


def test_a_typo_exits_2_with_one_line_from_the_cli(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "PAPERBRIEF_DATA_DIR": str(tmp_path / "d"),
           "PAPERBRIEF_LLM_TIMOUT": "5", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "agent", "stats"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "PAPERBRIEF_LLM_TIMOUT" in lines[0] and "PAPERBRIEF_LLM_TIMEOUT" in lines[0]
    assert "Traceback" not in done.stderr


def test_secret_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET123")
    s = load_settings()
    assert "SECRET123" not in repr(s) and "SECRET123" not in str(s.model_dump())
    assert "SECRET123" not in repr(s.store_config())
    assert s.store_config().embedding.api_key == "sk-test-SECRET123"


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    for path, names in env_names(Settings).items():
        assert names[0] in documented, f"{'.'.join(path)} ({names[0]}) is missing from .env.example"
    assert not {d for d in documented if d.startswith("PAPERBRIEF_")} - {n for ns in env_names(Settings).values()
                                                                          for n in ns}


def test_every_setting_and_group_says_what_it_is_for_and_forbids_extras() -> None:
    undescribed: list[str] = []
    groups: list[type[BaseModel]] = [Settings]
    for name, field in Settings.model_fields.items():
        if not (field.description or "").strip():
            undescribed.append(name)
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            groups.append(field.annotation)
            undescribed += [f"{name}.{n}" for n, f in field.annotation.model_fields.items()
                            if not (f.description or "").strip()]
    assert not undescribed, f"settings without a description: {undescribed}"
    assert len(groups) >= 7 and all(g.model_config.get("extra") == "forbid" for g in groups)
