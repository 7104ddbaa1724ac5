"""The eval side of the response cache: export what a run used, seed a clean cache from a baseline."""

from __future__ import annotations

from pathlib import Path

from agent.llm.calllog import CallLog, LoggedLLM
from evals.cache import CachedLLM, ResponseCache
from tests.support.fake_llm import FakeLLM

MESSAGES = [{"role": "system", "content": "Cite [n]."}, {"role": "user", "content": "Why?"}]


def _cached(tmp_path: Path, inner: FakeLLM, name: str) -> CachedLLM:
    return CachedLLM(LoggedLLM(inner, CallLog(tmp_path / "calls.sqlite3")), ResponseCache(tmp_path / name))


def test_export_and_seed_carry_responses_to_a_clean_cache(tmp_path: Path) -> None:
    inner = FakeLLM(["Because ", "tiles [1]."], name="scripted")
    llm = _cached(tmp_path, inner, "r.sqlite3")
    text, _ = llm.complete(MESSAGES, max_tokens=64)
    cache = llm.store
    assert isinstance(cache, ResponseCache)
    exported = cache.export([*llm.used, "not-a-key"])
    assert list(exported) == list(llm.used) and exported[next(iter(llm.used))]["pieces"] == ["Because ", "tiles [1]."]
    clean_inner = FakeLLM(["different"], name="scripted")
    clean = _cached(tmp_path, clean_inner, "clean.sqlite3")
    clean_cache = clean.store
    assert isinstance(clean_cache, ResponseCache)
    assert clean_cache.seed(exported) == 1 and clean_cache.seed(exported) == 0  # only what it lacks
    assert clean.complete(MESSAGES, max_tokens=64)[0] == text
    assert len(clean_inner.calls) == 0


def test_a_seeded_entry_never_overwrites_a_recorded_one(tmp_path: Path) -> None:
    llm = _cached(tmp_path, FakeLLM(["recorded"], name="scripted"), "r.sqlite3")
    llm.complete(MESSAGES, max_tokens=64)
    key = next(iter(llm.used))
    cache = llm.store
    assert isinstance(cache, ResponseCache)
    stale = {key: {**cache.export([key])[key], "pieces": ["stale"]}}
    assert cache.seed(stale) == 0
    assert llm.complete(MESSAGES, max_tokens=64)[0] == "recorded"
