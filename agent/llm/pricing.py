"""What a call cost, in US dollars, so the call log and ``--verbose`` can show spend.

Prices change; the table is a sensible default for well-known OpenAI models, and
callers pass their own table (e.g. parsed from a JSON setting) to override or
extend it. Local models are free; unknown hosted models cost 0 rather than a guess,
and :func:`price_for` returns ``None`` for them so a UI can say "unknown".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agent.llm.base import Usage


@dataclass(frozen=True)
class Price:
    """USD per one million tokens."""

    prompt: float
    completion: float


#: USD per 1M tokens (prompt, completion), from OpenAI's public pricing page.
#: Dated snapshots (``gpt-4o-mini-2024-07-18``) match by longest prefix.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "gpt-4": Price(30.00, 60.00),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "o1": Price(15.00, 60.00),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
}

PriceTable = Mapping[str, Price | tuple[float, float] | Mapping[str, float]]


def _as_price(value: Price | tuple[float, float] | Mapping[str, float]) -> Price:
    """Accept ``Price``, ``(prompt, completion)`` or ``{"prompt": .., "completion": ..}`` (JSON)."""
    if isinstance(value, Price):
        return value
    if isinstance(value, Mapping):
        return Price(float(value.get("prompt", 0.0)), float(value.get("completion", 0.0)))
    prompt, completion = value
    return Price(float(prompt), float(completion))


def price_for(model: str, prices: PriceTable | None = None) -> Price | None:
    """The price of ``model``: exact match first, then the longest matching prefix.

    ``prices`` entries override and extend :data:`DEFAULT_PRICES`.
    """
    table: dict[str, Price] = dict(DEFAULT_PRICES)
    if prices:
        table.update({name: _as_price(v) for name, v in prices.items()})
    if model in table:
        return table[model]
    best = max((name for name in table if model.startswith(name)), key=len, default=None)
    return table[best] if best else None


def cost_usd(
    model: str,
    usage: Usage,
    *,
    provider: str = "openai",
    prices: PriceTable | None = None,
) -> float:
    """Dollars spent on one call; 0 for local models and for models with no known price."""
    if provider == "local":
        return 0.0
    price = price_for(model, prices)
    if price is None:
        return 0.0
    return (usage.prompt_tokens * price.prompt + usage.completion_tokens * price.completion) / 1e6
