"""Output that fails the checks is never shown as generated (issue 14, item 3).

A compromised OpenAI-compatible endpoint (the loopback server) answers with injection
text, invented links, out-of-range citations and a looping tail cut off at the length
limit; every such answer must come back as the extractive answer, with the reason.
The same link and loop checks guard compare summaries and cells and brief prose.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.ask.pipeline import AskOptions, ask
from agent.brief.reduce import SynthItem, _finish
from agent.brief.tldr import check_tldr
from agent.checks.citations import check_citations
from agent.checks.extractive import LABEL
from agent.checks.links import invented_links
from agent.checks.quality import check_output, fragment_run
from agent.compare.grounding import check_cell, check_summary
from agent.runtime import build_llm
from agent.settings import load_settings
from store.index import Index
from store.papers import Paper
from tests.support.openai_server import OpenAIServer, Reply

QUESTION = "How can a small model speed up LLM decoding?"
GOOD = "A small draft model proposes tokens that the large model verifies in one forward pass [1]."


def _ask(index_dir: Path, server: OpenAIServer, reply: Reply):  # type: ignore[no-untyped-def]
    server.push(reply)
    settings = load_settings(data_dir=index_dir, openai_base_url=server.url, openai_api_key="sk-t", model="gpt-test")
    with Index(settings.store_config()) as idx:
        return ask(QUESTION, index=idx, llm=build_llm(settings), options=AskOptions(k=3))


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        pytest.param(Reply(text="PWNED [9]… [1]. Visit http://evil.example"), "is in no source", id="injection"),
        pytest.param(Reply(text=f"PWNED [9]. {GOOD}"), "non-existent sources", id="removed-citation"),
        pytest.param(
            Reply(text=f"{GOOD} It also doubles the battery life of phones and cures colds [12]."),
            "non-existent sources",
            id="out-of-range",
        ),
        pytest.param(
            Reply(text=f"{GOOD} Code at https://github.com/speculative/draft-model [1]."),
            "'https://github.com/speculative/draft-model' is in no source",
            id="invented-link",
        ),
        pytest.param(
            Reply(text=f"{GOOD} See the draft model [1] A_2_2_2_2_2_2_2_2_2_2_2", finish_reason="length"),
            "repeated fragment",
            id="looping-tail",
        ),
    ],
)
def test_compromised_endpoint_falls_back_to_quotes(
    index_dir: Path, server: OpenAIServer, reply: Reply, reason: str
) -> None:
    answer = _ask(index_dir, server, reply)
    assert answer.mode == "extractive" and answer.text.startswith(LABEL)
    assert "PWNED" not in answer.text and "evil.example" not in answer.text and "_2_2" not in answer.text
    assert any("failed the quality check" in w and reason in w for w in answer.warnings), answer.warnings


def test_links_from_the_sources_and_a_clean_answer_stay_generated(index_dir: Path, server: OpenAIServer) -> None:
    answer = _ask(index_dir, server, Reply(text=f"{GOOD} It is arXiv:2501.00002 [1]."))
    assert answer.mode == "generative" and "arXiv:2501.00002" in answer.text


def test_invented_links_finds_urls_dois_and_arxiv_ids() -> None:
    sources = ["Tiles at https://github.com/org/tiles and doi:10.1000/ABC.9 in 2501.00001.", "hep-th/9901001"]
    text = (
        "See github.com/org/tiles, www.github.com/org/tiles/ and arXiv:2501.00001v2 [1]; "
        "also https://evil.example/x?a=1, 10.1000/abc.9, 10.5555/made.up, 2502.12345 and cs.CL/0101001."
    )
    assert invented_links(text, sources) == [
        "https://evil.example/x?a=1", "10.5555/made.up", "2502.12345", "cs.CL/0101001",
    ]
    assert invented_links("Costs fell 3.5 times in 2024, e.g. at 1,000 GPUs.", []) == []


def test_truncated_output_is_held_to_a_stricter_loop_bar() -> None:
    text = f"{GOOD} The draft model and the draft model and the draft model verify tokens [1]."
    check = check_citations(text, 3)
    assert check_output(check.text, check, abstained=False).ok
    verdict = check_output(check.text, check, abstained=False, truncated=True)
    assert not verdict.ok and "length limit" in verdict.reason
    assert fragment_run("x_2_2_2_2_2", 4) == "_2" and fragment_run("costs 100000000 USD", 4) is None


PAPER = Paper(
    id="2501.00002",
    title="Speculative Decoding with Tiny Draft Models",
    abstract="A small draft model proposes several tokens that the large model verifies in one forward pass, "
    "which speeds up generation 2.8 times on a chat benchmark.",
    url="https://arxiv.org/abs/2501.00002",
)
OTHER = Paper(id="2501.00001", title="Tile-Based Contrastive Loss", abstract="We partition the loss into tiles.")


def test_compare_rejects_invented_links_and_loops() -> None:
    summary = "Paper [1] drafts tokens with a small model while paper [2] partitions a loss into tiles."
    assert check_summary(summary, [PAPER, OTHER], strict=False)[0] is not None
    text, reason = check_summary(summary + " Visit http://evil.example [1].", [PAPER, OTHER], strict=False)
    assert text is None and "evil.example" in reason
    text, reason = check_summary("PWNED [7]. " + summary, [PAPER, OTHER], strict=False)
    assert text is None and "uncited" in reason
    assert check_cell("A small draft model proposes tokens.", f"{PAPER.title} {PAPER.abstract}", strict=False).ok
    cell = check_cell("A small draft model, see http://evil.example", f"{PAPER.title} {PAPER.abstract}", strict=False)
    assert not cell.ok and "evil.example" in cell.reason


def test_brief_prose_with_invented_links_is_not_generated() -> None:
    assert check_tldr("A small draft model proposes tokens the large model verifies.", PAPER).ok
    verdict = check_tldr("A small draft model proposes tokens; see https://evil.example/tldr", PAPER)
    assert not verdict.ok and "evil.example" in verdict.reason
    items = [SynthItem(1, PAPER.title, "A draft model proposes tokens for the large model to verify.")]
    prose = "Small draft models propose tokens that a large model verifies in one pass, speeding decoding [1]."
    assert _finish(prose, items, 1).mode == "generative"
    assert _finish(prose + " Read more at http://evil.example/brief [1].", items, 1).mode == "extractive"
