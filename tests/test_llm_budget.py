"""Token counting, context fitting and trimming: the edges where prompts overflow."""

from __future__ import annotations

from agent.llm import ChatMessage, count_messages, count_tokens, fit_context, trim_to_tokens
from agent.llm.budget import DEFAULT_CONTEXT_WINDOW, context_window_for, prompt_budget


def test_count_tokens_uses_cl100k() -> None:
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("<|endoftext|>") > 1  # plain text, not a control token; never raises


def test_count_messages_adds_openai_overhead() -> None:
    one = [ChatMessage("user", "hi")]
    # 3 per message + "user" (1) + "hi" (1) + 3 priming the reply, as in OpenAI's cookbook.
    assert count_messages(one) == 8
    two = [ChatMessage("system", "Be brief."), ChatMessage("user", "hi")]
    assert count_messages(two) == 8 + 3 + count_tokens("system") + count_tokens("Be brief.")
    assert count_messages([{"role": "user", "content": "hi"}]) == 8


def test_fit_context_keeps_the_best_ranked_prefix() -> None:
    items = ["alpha beta gamma", "delta epsilon", "zeta", "eta theta iota kappa"]
    costs = [count_tokens(i) for i in items]
    assert fit_context(items, sum(costs)) == items
    assert fit_context(items, sum(costs[:3])) == items[:3]
    assert fit_context(items, sum(costs[:3]) - 1) == items[:2]


def test_fit_context_never_lets_a_short_low_ranked_item_jump_the_queue() -> None:
    items = ["one two three four five six seven eight", "long " * 50, "tiny"]
    budget = count_tokens(items[0]) + count_tokens("tiny") + 1
    assert fit_context(items, budget) == items[:1]


def test_fit_context_edges() -> None:
    assert fit_context([], 100) == []
    assert fit_context(["anything"], 0) == []
    assert fit_context(["word " * 40], 10) == []
    assert fit_context(["a", "b"], 2, per_item_overhead=1) == ["a"]


def test_trim_leaves_short_text_alone() -> None:
    assert trim_to_tokens("short text", 10) == ("short text", False)
    assert trim_to_tokens("", 0) == ("", False)


def test_trim_cuts_to_exactly_n_tokens_of_prefix() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 10
    head, cut = trim_to_tokens(text, 7)
    assert cut and text.startswith(head) and count_tokens(head) == 7
    assert trim_to_tokens(text, 0) == ("", True)


def test_trim_never_splits_a_character() -> None:
    text = "検索拡張生成 🤖🧪 données " * 5
    for n in range(1, 25):
        head, cut = trim_to_tokens(text, n)
        assert cut and text.startswith(head) and "\ufffd" not in head
        assert count_tokens(head) <= n


def test_context_windows() -> None:
    assert context_window_for("gpt-4o-mini-2024-07-18") == 128_000
    assert context_window_for("gpt-4") == 8_192
    assert context_window_for("llama3.1:8b") == DEFAULT_CONTEXT_WINDOW
    assert context_window_for("gpt-4o", override=2048) == 2048


def test_prompt_budget_reserves_answer_and_margin() -> None:
    assert prompt_budget(4096, 512) == int(4096 * 0.9) - 512
    assert prompt_budget(1000, 2000) == 0
