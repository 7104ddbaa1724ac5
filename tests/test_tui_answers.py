"""The chat shows how well each sentence is supported, and turns an answer into an eval case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList, Static

from agent.tui.widgets.answer import AnswerView
from evals.cases import load_case_file
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.tui_helpers import make_app, notifications, run, wait_for

QUESTION = "How can a small model speed up decoding?"
# the first sentence is in the speculative-decoding abstract, the second in none of them
CLOSE = (
    "A small draft model proposes several tokens that the large model verifies in one forward pass, "
    "which speeds up generation"
)
ANSWER = f"{CLOSE} [1]. Coral reefs bleach in warm water [1]."


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"respond": lambda body: Reply(text=ANSWER)}


async def _ask(pilot: Any, line: str) -> None:
    prompt = pilot.app.screen.query_one("#prompt", Input)
    prompt.focus()
    prompt.value = line
    await pilot.press("enter")
    await pilot.pause()


def test_sentences_are_marked_and_show_their_quote(
    index_dir: Path, server: OpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(110, 40)) as pilot:
            await wait_for(pilot, lambda: app.model_name == "gpt-test", what="the model")
            await _ask(pilot, QUESTION)
            view = list(app.screen.query(AnswerView))[-1]
            await wait_for(pilot, lambda: view.has_class("done"), what="the answer")
            listing = view.query_one(".answer-sentences", OptionList)
            assert listing.display and listing.option_count == 2
            first, second = (str(listing.get_option_at_index(i).prompt) for i in range(2))
            assert first.startswith("✓ A small draft model") and first.endswith("[1]")
            assert not second.startswith("✓") and "Coral reefs" in second
            listing.focus()
            listing.highlighted = 0
            await pilot.pause()
            detail = str(view.query_one(".answer-support", Static).render())
            assert detail.startswith("supported") and "proposes several tokens" in detail  # the abstract's words
            listing.highlighted = 1
            await pilot.pause()
            assert "supported (" not in str(view.query_one(".answer-support", Static).render())[:12]

            # /save-case writes the case into ./evals/cases/saved.yaml, marked for review
            await _ask(pilot, "/save-case")
            await wait_for(pilot, lambda: (tmp_path / "evals/cases/saved.yaml").exists(), what="the case file")
            (case,) = load_case_file(tmp_path / "evals/cases/saved.yaml").cases
            assert case.question == QUESTION and case.needs_review  # type: ignore[union-attr]
            assert case.expect == ["2501.00002"]  # type: ignore[union-attr]
            assert any("needs review" in str(n.message) for n in notifications(app))
            # the same answer again is refused with a notification, the file unchanged
            before = (tmp_path / "evals/cases/saved.yaml").read_bytes()
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert any("already saved" in str(n.message) for n in notifications(app))
            assert (tmp_path / "evals/cases/saved.yaml").read_bytes() == before

    run(scenario)
