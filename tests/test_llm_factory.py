"""Which model ``make_llm`` picks from settings, and how it reports a model the server lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.llm import LLMError, LocalLLM, OpenAICompatLLM, make_llm
from agent.llm.local import DEFAULT_GGUF_NAME
from agent.settings import load_settings
from tests.support.openai_server import OpenAIServer

LISTED = ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "o3-mini"]


def test_no_key_and_no_url_means_the_local_smollm2() -> None:
    llm = make_llm(load_settings())
    assert isinstance(llm, LocalLLM)
    assert llm.provider == "local" and llm.is_small
    assert llm.name == Path(DEFAULT_GGUF_NAME).stem == "SmolLM2-135M-Instruct.Q4_1"


def test_the_gguf_setting_overrides_the_default_file(tmp_path: Path) -> None:
    llm = make_llm(load_settings(gguf=tmp_path / "qwen2.5-7b-instruct-q4_k_m.gguf"))
    assert isinstance(llm, LocalLLM) and llm.name == "qwen2.5-7b-instruct-q4_k_m"


def test_a_gguf_model_argument_means_local_even_with_a_key(tmp_path: Path) -> None:
    settings = load_settings(openai_api_key="sk-test-SECRET123", model="gpt-4o")
    llm = make_llm(settings, str(tmp_path / "Phi-3.gguf"))
    assert isinstance(llm, LocalLLM) and llm.path == tmp_path / "Phi-3.gguf"


def test_a_base_url_means_the_openai_compatible_provider_with_settings_applied() -> None:
    with OpenAIServer(models=None) as server:  # no /models: nothing to check against
        settings = load_settings(
            openai_base_url=server.url, llm_attempts=2, llm_timeout_s=7, context_window=2048
        )
        llm = make_llm(settings)
    assert isinstance(llm, OpenAICompatLLM)
    assert (llm.name, llm.base_url, llm.provider) == ("gpt-4o-mini", server.url, "openai")
    assert llm.policy.attempts == 2 and llm.timeout_s == 7
    assert llm.context_window == 2048 and llm.is_small


def test_model_argument_beats_the_model_setting() -> None:
    with OpenAIServer(models=LISTED) as server:
        settings = load_settings(openai_base_url=server.url, model="gpt-4o")
        assert make_llm(settings).name == "gpt-4o"
        assert make_llm(settings, "o3-mini").name == "o3-mini"


def test_an_unknown_model_names_itself_and_close_alternatives() -> None:
    with OpenAIServer(models=LISTED) as server:
        settings = load_settings(openai_base_url=server.url)
        with pytest.raises(LLMError) as caught:
            make_llm(settings, "gpt-4o-mni")
    message = str(caught.value)
    assert message.startswith(f"model gpt-4o-mni at {server.url}: unknown model;")
    assert "did you mean gpt-4o-mini?" in message and "o3-mini" in message


def test_the_model_check_can_be_skipped() -> None:
    with OpenAIServer(models=LISTED) as server:
        settings = load_settings(openai_base_url=server.url)
        assert make_llm(settings, "not-listed", check_model=False).name == "not-listed"
        assert server.requests == []


def test_ollama_style_latest_tag_is_accepted() -> None:
    with OpenAIServer(models=["llama3.2:latest"]) as server:
        assert make_llm(load_settings(openai_base_url=server.url), "llama3.2").name == "llama3.2"


def test_a_hosted_model_without_key_or_url_is_a_clear_error() -> None:
    with pytest.raises(LLMError, match="gpt-4o needs an OpenAI-compatible server"):
        make_llm(load_settings(), "gpt-4o")
