"""The TUI's reader keys: * stars a paper on the Papers screen, Ctrl+T stars an answer's first
source in Chat, and the "For me" sort uses the same score as ``papers list --for-me``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input

from agent.tui.screens.papers import PapersScreen
from agent.tui.widgets.answer import AnswerView
from store.interests import ReaderStore
from tests.support.openai_server import OpenAIServer
from tests.support.tui_helpers import ANSWER, make_app, run, tui_replies, wait_for


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"respond": tui_replies(ANSWER)}


def test_star_a_paper_and_sort_for_me(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        data_dir = app.session.settings.data_dir
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press("f3")
            screen = app.screen
            assert isinstance(screen, PapersScreen)
            table = screen.query_one("#papers-table", DataTable)
            await wait_for(pilot, lambda: table.row_count == 8, what="the papers")
            table.focus()
            table.move_cursor(row=3)
            starred = screen.cursor_id()
            await pilot.press("asterisk")
            assert ReaderStore(data_dir).load().stars == (starred,)
            await pilot.press("s", "s", "s", "s")  # newest → oldest → title → upvotes → for me
            await wait_for(pilot, lambda: bool(screen.scores), what="the for-me scores")
            await pilot.pause()
            assert screen.shown[0].id == starred  # a starred paper is closest to itself
            ranked = [screen.scores[p.id] for p in screen.shown]
            assert ranked == sorted(ranked, reverse=True)
            assert screen.cursor_id() == starred  # the cursor stays on its paper through the sort
            await pilot.press("asterisk")  # the same paper again: unstar
            assert ReaderStore(data_dir).load().stars == ()

    run(scenario)


def test_ctrl_t_stars_the_answers_first_source(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        data_dir = app.session.settings.data_dir
        async with app.run_test(size=(100, 32)) as pilot:
            prompt = app.screen.query_one("#prompt", Input)
            prompt.focus()
            prompt.value = "How can a small model speed up LLM decoding?"
            await pilot.press("enter")
            view = list(app.screen.query(AnswerView))[-1]
            await wait_for(pilot, lambda: bool(view.text), what="the answer")
            await pilot.press("ctrl+t")
            assert view.source_ids and view.source_ids[0] in ReaderStore(data_dir).load().stars

    run(scenario)
