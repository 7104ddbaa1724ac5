"""Citation parsing and validation, degeneration checks, prompt loading rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.checks.citations import check_citations, uncited_claims
from agent.checks.quality import check_output, repetition_ratio
from agent.prompts import PromptError, load_prompt, parse_prompt


def test_invalid_citations_removed_and_reported() -> None:
    check = check_citations("Tiles cut memory [1]. Drafts speed decoding [2, 7]. Nonsense [9].", 2)
    assert check.text == "Tiles cut memory [1]. Drafts speed decoding [2]. Nonsense."
    assert check.cited == [1, 2]
    assert check.removed == [7, 9]


def test_citation_forms() -> None:
    check = check_citations("A [1][2]. B [1-3]. C [2; 3]. See [the docs](http://x).", 3)
    assert check.cited == [1, 2, 3]
    assert "[the docs](http://x)" in check.text  # a markdown link is not a citation
    assert check_citations("Year [2024] is not a source.", 3).removed == [2024]


def test_uncited_claims_but_connecting_prose_allowed() -> None:
    text = "In short: two ideas. The first method reduces GPU memory by computing the loss in tiles."
    assert uncited_claims(text) == ["The first method reduces GPU memory by computing the loss in tiles."]
    assert uncited_claims("In short: two ideas [1].") == []


@pytest.mark.parametrize(
    ("text", "ok", "reason"),
    [
        ("", False, "empty or too short"),
        ("yes [1]", False, "empty or too short"),
        ("the model the model the model the model the model the model the model [1]", False, "repetitive"),
        ("Tile-based loss removes the quadratic memory cost [1]. It scales to huge batches [1].", True, ""),
        ("Tile-based loss removes the quadratic memory cost. It scales to huge batches.", False, "no valid citation"),
    ],
)
def test_degeneration(text: str, ok: bool, reason: str) -> None:
    check = check_citations(text, 2)
    verdict = check_output(check.text, check, abstained=False)
    assert (verdict.ok, verdict.reason) == (ok, reason)


def test_repetition_ratio() -> None:
    assert repetition_ratio("a b c d e f g h") == 0.0
    assert repetition_ratio("x y z w " * 10) > 0.8


def test_shipped_prompts_load_with_refs() -> None:
    for name in ("answer", "answer_compact", "condense"):
        prompt = load_prompt(name)
        assert prompt.name == name and prompt.version and len(prompt.ref.hash) == 16
    messages = load_prompt("answer").render(
        question="Q?", sources=[{"n": 1, "paper_id": "p", "title": "T", "date": "2025-01-01", "text": "X"}],
        sentinel="S.",
    )
    assert [m.role for m in messages] == ["system", "user"]
    assert '<source n="1"' in messages[1].content and "S." in messages[0].content


def test_prompt_rules(tmp_path: Path) -> None:
    good = "---\nname: p\nversion: 1\nvariables: [a]\n---\n[user]\n{{ a }}\n"
    assert parse_prompt(good, "p.md").render(a="x")[0].content == "x"
    with pytest.raises(PromptError, match="undeclared variables \\['b'\\]"):
        parse_prompt(good.replace("{{ a }}", "{{ a }} {{ b }}"), "p.md")
    with pytest.raises(PromptError, match="front-matter"):
        parse_prompt("[user]\nhi", "p.md")
    with pytest.raises(PromptError, match="'a' is undefined"):
        parse_prompt(good, "p.md").render()
    (tmp_path / "q.md").write_text(good)
    with pytest.raises(PromptError, match="does not match the file name"):
        load_prompt("q", tmp_path)
