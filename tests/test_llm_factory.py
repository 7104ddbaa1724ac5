"""Which model ``make_llm`` picks from settings, and how it reports a model the server lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.llm import LLMError, LocalLLM, OpenAICompatLLM, make_llm
from agent.llm.registry import DEFAULT_GGUF_NAME
from agent.llm.service.provider import ServiceLLM
from agent.settings import load_settings
from tests.support.openai_server import OpenAIServer

LISTED = ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "o3-mini"]


def test_no_key_and_no_url_means_the_local_smollm2_through_the_service() -> None:
    llm = make_llm(load_settings())
    assert isinstance(llm, ServiceLLM) and isinstance(llm, OpenAICompatLLM)  # one code path
    assert llm.provider == "local" and llm.is_small
    assert llm.name == Path(DEFAULT_GGUF_NAME).stem == "SmolLM2-135M-Instruct.Q4_1"
    assert llm.spec.data_dir == load_settings().data_dir


def test_the_in_process_model_is_an_option_not_the_default() -> None:
    llm = make_llm(load_settings(local_mode="inprocess"))
    assert isinstance(llm, LocalLLM) and llm.name == Path(DEFAULT_GGUF_NAME).stem


def test_the_gguf_setting_overrides_the_default_file(tmp_path: Path) -> None:
    (tmp_path / "qwen2.5-7b-instruct-q4_k_m.gguf").write_bytes(b"GGUF")  # checked before a service starts
    llm = make_llm(load_settings(gguf=tmp_path / "qwen2.5-7b-instruct-q4_k_m.gguf"))
    assert isinstance(llm, ServiceLLM) and llm.name == "qwen2.5-7b-instruct-q4_k_m"
    assert llm.path == (tmp_path / "qwen2.5-7b-instruct-q4_k_m.gguf").resolve()


def test_a_gguf_file_that_exists_means_local_even_with_a_key(tmp_path: Path) -> None:
    (tmp_path / "Phi-3.gguf").write_bytes(b"GGUF")
    settings = load_settings(openai_api_key="sk-test-SECRET123", model="gpt-4o")
    llm = make_llm(settings, str(tmp_path / "Phi-3.gguf"))
    assert isinstance(llm, ServiceLLM) and llm.path == (tmp_path / "Phi-3.gguf").resolve()


def test_a_gguf_name_with_a_server_configured_is_sent_to_the_server() -> None:
    with OpenAIServer(models=None) as server:
        settings = load_settings(openai_base_url=server.url)
        llm = make_llm(settings, "qwen2.5-7b-instruct-q4_k_m.gguf")
        assert not isinstance(llm, ServiceLLM | LocalLLM)
        assert (llm.name, llm.provider) == ("qwen2.5-7b-instruct-q4_k_m.gguf", "openai")
        llm.complete([{"role": "user", "content": "hi"}], max_tokens=4)
        assert server.chat_requests[0].body["model"] == "qwen2.5-7b-instruct-q4_k_m.gguf"
        local = make_llm(load_settings(openai_base_url=server.url, provider="local"))
        assert isinstance(local, ServiceLLM)  # unless the setting says local


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
