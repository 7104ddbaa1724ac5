"""Cost accounting: default prices, snapshots, overrides, free local models."""

from __future__ import annotations

import json

import pytest

from agent.llm import Usage, cost_usd
from agent.llm.pricing import DEFAULT_PRICES, Price, price_for

MILLION = Usage(1_000_000, 1_000_000)


def test_known_model_cost() -> None:
    assert cost_usd("gpt-4o-mini", MILLION) == pytest.approx(0.15 + 0.60)
    assert cost_usd("gpt-4o", Usage(2000, 500)) == pytest.approx((2000 * 2.5 + 500 * 10.0) / 1e6)


def test_dated_snapshot_matches_the_longest_prefix() -> None:
    assert price_for("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert price_for("gpt-4o-2024-08-06") == DEFAULT_PRICES["gpt-4o"]


def test_local_and_unknown_models_are_free() -> None:
    assert cost_usd("gpt-4o", MILLION, provider="local") == 0.0
    assert cost_usd("llama3.1:8b", MILLION) == 0.0
    assert price_for("llama3.1:8b") is None


def test_overrides_extend_and_replace_the_table() -> None:
    prices = json.loads('{"llama3.1:8b": {"prompt": 1, "completion": 2}, "gpt-4o": [0, 1]}')
    assert cost_usd("llama3.1:8b", MILLION, prices=prices) == pytest.approx(3.0)
    assert cost_usd("gpt-4o", MILLION, prices=prices) == pytest.approx(1.0)
    assert price_for("gpt-4o-mini", {"gpt-4o-mini": Price(9, 9)}) == Price(9, 9)
    assert price_for("gpt-4o-mini") == Price(0.15, 0.60)  # defaults untouched
