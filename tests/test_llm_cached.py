"""The one cached-LLM wrapper (brief, eval replay): replay instead of calling, keyed by what the model sees."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from agent.llm.base import LLM, Finished, LLMError, StreamEvent, TextDelta, Usage
from agent.llm.cached import CachedLLM, ResponseStore, request_key
from agent.llm.calllog import CallLog, LoggedLLM
from agent.prompts import PromptRef
from tests.support.fake_llm import FakeLLM

MESSAGES = [{"role": "system", "content": "Cite [n]."}, {"role": "user", "content": "Why?"}]


def scripted(pieces: Sequence[str] = ("Because ", "of ", "tiles ", "[1]."), fail: bool = False) -> FakeLLM:
    """Streams fixed pieces (as model "scripted", served as a dated snapshot) and counts real calls."""
    llm = FakeLLM(pieces, name="scripted", served_as="scripted-2025")
    return llm.fail_with("model scripted: HTTP 503 after 4 attempts") if fail else llm


def _cached(tmp_path: Path, inner: LLM, *, enabled: bool = True, name: str = "r.sqlite3") -> CachedLLM:
    log = CallLog(tmp_path / "calls.sqlite3")
    return CachedLLM(LoggedLLM(inner, log), ResponseStore(tmp_path / name), enabled=enabled)


def _collect(events: Iterator[StreamEvent]) -> tuple[list[str], Finished | None]:
    pieces, finished = [], None
    for event in events:
        if isinstance(event, TextDelta):
            pieces.append(event.text)
        else:
            finished = event
    return pieces, finished


def test_second_identical_call_is_replayed_piece_by_piece(tmp_path: Path) -> None:
    inner = scripted()
    llm = _cached(tmp_path, inner)
    ref = PromptRef.of("answer", "1", "text")
    first = _collect(llm.stream(MESSAGES, max_tokens=64, prompt=ref))
    second = _collect(llm.stream(MESSAGES, max_tokens=64, prompt=ref))
    assert len(inner.calls) == 1 and first == second
    assert second[1] is not None and second[1].usage == Usage(17, 4) and second[1].model == "scripted-2025"
    stats = llm.take_stats()
    assert (stats.hits, stats.misses) == (1, 1) and stats.replayed_ms >= 0
    assert llm.take_stats().hits == 0  # taking resets
    # the miss went to the call log with its prompt ref, the hit did not
    rows = CallLog(tmp_path / "calls.sqlite3").rows()
    assert len(rows) == 1 and rows[0]["prompt_name"] == "answer"


@pytest.mark.parametrize(
    "change",
    [
        {"messages": [*MESSAGES[:1], {"role": "user", "content": "Why not?"}]},
        {"max_tokens": 65},
        {"temperature": 0.5},
    ],
)
def test_anything_the_model_sees_changes_the_key(tmp_path: Path, change: dict[str, object]) -> None:
    inner = scripted()
    llm = _cached(tmp_path, inner)
    _collect(llm.stream(MESSAGES, max_tokens=64))
    kwargs: dict[str, object] = {"max_tokens": 64, **change}
    messages = kwargs.pop("messages", MESSAGES)
    _collect(llm.stream(messages, **kwargs))  # type: ignore[arg-type]
    assert len(inner.calls) == 2


def test_key_ignores_the_prompt_name_but_not_the_model() -> None:
    a = request_key("m1", MESSAGES, max_tokens=8, temperature=0.0, stop=None)
    assert a == request_key("m1", list(MESSAGES), max_tokens=8, temperature=0.0, stop=[])
    assert a != request_key("m2", MESSAGES, max_tokens=8, temperature=0.0, stop=None)


def test_a_stream_cut_by_its_reader_replays_the_same_cut(tmp_path: Path) -> None:
    inner = scripted(["loop "] * 10)
    llm = _cached(tmp_path, inner)
    stream = llm.stream(MESSAGES, max_tokens=64)
    taken = [next(stream), next(stream), next(stream)]
    stream.close()  # ask stops reading a looping model
    replay = list(llm.stream(MESSAGES, max_tokens=64))
    assert len(inner.calls) == 1
    assert [e.text for e in replay if isinstance(e, TextDelta)] == [e.text for e in taken]  # type: ignore[union-attr]
    assert isinstance(replay[-1], Finished) and replay[-1].finish_reason == "length"


def test_failures_are_not_cached_and_disabled_cache_always_calls(tmp_path: Path) -> None:
    failing = scripted(fail=True)
    llm = _cached(tmp_path, failing)
    with pytest.raises(LLMError):
        _collect(llm.stream(MESSAGES, max_tokens=64))
    assert len(llm.store) == 0
    inner = scripted()
    fresh = _cached(tmp_path, inner, enabled=False, name="fresh.sqlite3")
    _collect(fresh.stream(MESSAGES, max_tokens=64))
    _collect(fresh.stream(MESSAGES, max_tokens=64))
    assert len(inner.calls) == 2 and len(fresh.store) == 1  # still records, for the next cached run


def test_the_key_format_is_frozen() -> None:
    """Committed eval baselines are keyed by this exact format: a change orphans every recorded response."""
    messages = [{"role": "system", "content": "Cite [n]. é"}, {"role": "user", "content": "Why?"}]
    assert request_key("smollm2", messages, max_tokens=64, temperature=0.0, stop=None) == (
        "d88c75540bcf179580863e382a2086cc5bee678db6b7e7d4c28ee21aa51b8e46"
    )
    assert request_key("smollm2", messages, max_tokens=8, temperature=0.2, stop=["\n"]) == (
        "f625f89900600af7e5c35505d114e60091f462dcee7214bb0c78ae7cb3e54a74"
    )


def test_the_stop_sequences_change_the_key() -> None:
    assert request_key("m", MESSAGES, max_tokens=8, temperature=0.0, stop=["\n"]) != request_key(
        "m", MESSAGES, max_tokens=8, temperature=0.0, stop=None
    )


def test_an_in_memory_store_replays_within_the_process(tmp_path: Path) -> None:
    inner = scripted()
    llm = CachedLLM(inner, ResponseStore(None))
    first = llm.complete(MESSAGES, max_tokens=64)
    assert llm.complete(MESSAGES, max_tokens=64) == first and len(inner.calls) == 1
    assert (llm.totals.hits, llm.totals.misses) == (1, 1)
    assert CachedLLM(scripted(), ResponseStore(None)).complete(MESSAGES, max_tokens=64) == first
    assert llm.name == "scripted" and llm.provider == inner.provider and llm.is_small == inner.is_small


def test_a_store_on_disk_survives_the_process_and_keeps_tables_apart(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    llm = CachedLLM(scripted(), ResponseStore(path, table="a"))
    llm.complete(MESSAGES, max_tokens=64)
    llm.store.close()
    assert len(ResponseStore(path, table="a")) == 1 and len(ResponseStore(path, table="b")) == 0
    with pytest.raises(ValueError):
        ResponseStore(path, table="a; DROP TABLE a")
