"""Token budgets: count what we send, keep the best context that fits, trim what must shrink.

Counting uses tiktoken's ``cl100k_base`` (bundled offline by ``store.tokens``)
for every model. For non-OpenAI models that is an estimate, within ~10-20% of
their own tokenizers on English prose, which is why callers keep a margin
(:func:`prompt_budget`) instead of filling the window to the last token.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.llm.base import ChatMessage, MessageLike, as_messages
from store.tokens import count_tokens, encoding

__all__ = [
    "KNOWN_CONTEXT_WINDOWS",
    "context_window_for",
    "count_messages",
    "count_tokens",
    "fit_context",
    "message_tokens",
    "prompt_budget",
    "trim_to_tokens",
]

#: OpenAI's chat format spends a few tokens per message on role markers, and the
#: reply is primed with ``<|start|>assistant<|message|>``. Numbers from OpenAI's cookbook.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3

#: Context windows of well-known hosted models, longest prefix wins. Anything else
#: falls back to :data:`DEFAULT_CONTEXT_WINDOW` unless ``PAPERBRIEF_CONTEXT_WINDOW`` says otherwise.
KNOWN_CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-3.5-turbo": 16_385,
    "gpt-4": 8_192,
    "gpt-4-turbo": 128_000,
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4.1-mini": 1_047_576,
    "gpt-4.1-nano": 1_047_576,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o3": 200_000,
    "o3-mini": 200_000,
    "o4-mini": 200_000,
}

#: A conservative guess for an unknown model behind an OpenAI-compatible server
#: (Ollama, vLLM, LM Studio…): big enough to be useful, small enough to rarely overflow.
DEFAULT_CONTEXT_WINDOW = 8_192


def context_window_for(model: str, override: int | None = None) -> int:
    """The window to plan for: the user's setting, else the known value, else the default."""
    if override:
        return override
    best = ""
    for prefix in KNOWN_CONTEXT_WINDOWS:
        if model.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return KNOWN_CONTEXT_WINDOWS[best] if best else DEFAULT_CONTEXT_WINDOW


def count_messages(messages: Sequence[MessageLike]) -> int:
    """Prompt tokens for a chat request, including per-message and reply-priming overhead."""
    return TOKENS_PER_REPLY + sum(message_tokens(m) for m in as_messages(messages))


def prompt_budget(context_window: int, max_answer_tokens: int, *, margin: float = 0.1) -> int:
    """Tokens left for the prompt once the answer and a safety margin are reserved.

    The margin absorbs tokenizer mismatch on non-OpenAI models; never negative.
    """
    usable = int(context_window * (1.0 - margin))
    return max(0, usable - max_answer_tokens)


def fit_context(
    items: Sequence[str], budget_tokens: int, *, per_item_overhead: int = 0
) -> list[str]:
    """Keep the highest-ranked items that fit in ``budget_tokens``.

    ``items`` are in rank order (best first). Lowest-ranked items are dropped first
    until the rest fit, so the result is always a prefix of ``items``: a lower-ranked
    short passage never displaces a better long one. ``per_item_overhead`` accounts
    for separators or citation labels the caller adds around each item.
    """
    kept: list[str] = []
    used = 0
    for item in items:
        cost = count_tokens(item) + per_item_overhead
        if used + cost > budget_tokens:
            break
        kept.append(item)
        used += cost
    return kept


def trim_to_tokens(text: str, n: int) -> tuple[str, bool]:
    """The longest prefix of ``text`` with at most ``n`` tokens, and whether anything was cut.

    Cuts on token boundaries and never leaves half a UTF-8 character at the end.
    """
    if n <= 0:
        return "", bool(text)
    tokens = encoding().encode_ordinary(text)
    if len(tokens) <= n:
        return text, False
    head = encoding().decode_bytes(tokens[:n]).decode("utf-8", errors="ignore")
    return head, True


def message_tokens(message: ChatMessage) -> int:
    """Tokens one message costs inside a chat prompt (content plus its overhead)."""
    return TOKENS_PER_MESSAGE + count_tokens(message.role) + count_tokens(message.content)
