"""Snapshots of the main screens at 100x32 (pytest-textual-snapshot).

What a person sees is part of the product: these catch layout regressions that the
pilot tests' assertions would not (a footer that lost its keys, a table that lost a
column). Timings are hidden (``show_latency=False``) and the model is scripted, so
every render is the same. After an intended change: ``pytest --snapshot-update``
and review the SVGs under ``tests/__snapshots__/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select

from agent.tui.screens.brief import BriefScreen
from agent.tui.screens.compare import CompareScreen
from agent.tui.widgets.answer import AnswerView
from tests.support.openai_server import OpenAIServer
from tests.support.tui_helpers import ANSWER, make_app, tui_replies, wait_for

SIZE = (100, 32)
SnapCompare = Callable[..., bool]


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"respond": tui_replies(ANSWER)}


async def _settled(pilot: Pilot[Any], widget: Widget, polls: int = 5) -> None:
    """Wait until a long Markdown document has finished laying out (its height stops changing)."""
    sizes: list[object] = []
    for _ in range(100):
        sizes.append(widget.virtual_size)
        if len(sizes) >= polls and len(set(sizes[-polls:])) == 1:
            return
        await pilot.pause(0.1)


async def _ready(pilot: Pilot[Any]) -> None:
    await wait_for(pilot, lambda: pilot.app.model_name == "gpt-test", what="the model")  # type: ignore[attr-defined]


def test_chat_with_an_answer(snap_compare: SnapCompare, index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        prompt = pilot.app.screen.query_one("#prompt", Input)
        prompt.value = "How can a small model speed up LLM decoding?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(pilot.app.screen.query(".answer.done")), what="the answer")
        pilot.app.screen.query_one(AnswerView).sources.focus()

    assert snap_compare(make_app(index_dir, server, tmp_path), terminal_size=SIZE, run_before=run_before)


def test_papers_with_a_selection(
    snap_compare: SnapCompare, index_dir: Path, server: OpenAIServer, tmp_path: Path
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#papers-table", DataTable).row_count == 8)
        await pilot.press("space", "down", "space")

    assert snap_compare(make_app(index_dir, server, tmp_path), terminal_size=SIZE, run_before=run_before)


def test_paper_detail(snap_compare: SnapCompare, index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        pilot.app.open_paper("2501.00006")  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(make_app(index_dir, server, tmp_path), terminal_size=SIZE, run_before=run_before)


def test_comparison_table(snap_compare: SnapCompare, index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        pilot.app.open_compare(["2501.00002", "2501.00004"])  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen))
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.comparison is not None, what="the comparison")  # type: ignore[attr-defined]

    assert snap_compare(make_app(index_dir, server, tmp_path), terminal_size=SIZE, run_before=run_before)


def test_weekly_brief(snap_compare: SnapCompare, index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BriefScreen))
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.query_one("#brief-week", Select).value == "2025-W11")
        await pilot.press("g")
        await wait_for(pilot, lambda: screen.brief is not None, timeout=60, what="the brief")  # type: ignore[attr-defined]
        await _settled(pilot, screen.query_one("#brief-body"))

    assert snap_compare(make_app(index_dir, server, tmp_path), terminal_size=SIZE, run_before=run_before)
