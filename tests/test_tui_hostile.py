"""Hostile paper text and model output on every TUI screen: no crash, the exact text, no links.

Before the fix, F3 on a catalog holding a ``[/x]`` title crashed the whole app (exit
code 0), and ``[link=...]`` titles became clickable. The pilot walks Papers, the paper
view, Chat (answer and sources), Compare, Brief, saved conversations and a
notification, all over the hostile corpus of ``tests/support/hostile.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from textual.widgets import DataTable, Input, Markdown, OptionList, Select

from agent.tui.screens.brief import BriefScreen
from agent.tui.screens.compare import CompareScreen
from agent.tui.screens.conversations import ConversationsScreen
from agent.tui.screens.paper import PaperScreen
from agent.tui.screens.papers import PapersScreen
from agent.tui.widgets.answer import AnswerView
from tests.support.hostile import HOSTILE, LONG_TITLE, build_hostile_index, visible
from tests.support.openai_server import OpenAIServer
from tests.support.tui_helpers import make_app, notifications, run, tui_replies, wait_for

ANSWER = (
    "Speculative decoding drafts tokens with a tiny model [1]. "
    "[link=https://evil.example]Click[/link] [bold]now[/bold] [/x] and [docs](https://evil.example) [1]."
)


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hostile_index(tmp_path_factory.mktemp("tuihostile"))


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"respond": tui_replies(ANSWER)}


def markdown_view(widget: Markdown) -> tuple[str, list[str]]:
    """What a Markdown widget shows (its text) and the links it makes, parsed with the widget's own parser."""
    texts: list[str] = []
    links: list[str] = []
    factory = widget._parser_factory or (lambda: MarkdownIt("gfm-like"))  # Textual's default when None
    for token in factory().parse(widget.source):
        for child in token.children or []:
            if child.type in ("text", "text_special", "code_inline"):
                texts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                texts.append(" ")
            elif child.type == "link_open":
                links.append(str(child.attrs.get("href")))
        if token.type == "inline":
            texts.append("\n")
    return "".join(texts), links


def test_every_screen_shows_hostile_text_literally(hostile_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(hostile_dir, server, tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            # Papers: every title in its DataTable cell, exactly
            await pilot.press("f3")
            papers = app.screen
            assert isinstance(papers, PapersScreen)
            table = papers.query_one("#papers-table", DataTable)
            await wait_for(pilot, lambda: table.row_count == len(HOSTILE), what="the papers")
            await pilot.pause()
            cells = {str(row[2]) for row in (table.get_row_at(i) for i in range(table.row_count))}
            assert cells == {visible(p.title) for p in HOSTILE}

            # the paper view: title, authors and abstract as text, no link but the paper's own
            for paper in HOSTILE:
                app.open_paper(paper.id)
                await wait_for(
                    pilot, lambda: isinstance(app.screen, PaperScreen) and bool(app.screen.query("#paper-body"))
                )
                shown, links = markdown_view(app.screen.query_one("#paper-body", Markdown))
                assert visible(paper.title) in shown and visible(paper.abstract) in shown
                assert all(visible(a) in shown for a in paper.authors)
                assert links == []
                await pilot.press("escape")
                await wait_for(pilot, lambda: not isinstance(app.screen, PaperScreen))

            # Chat: the answer keeps its text; only citations are links; sources show titles
            await pilot.press("f2")
            prompt = app.screen.query_one("#prompt", Input)
            prompt.focus()
            prompt.value = "How does speculative decoding draft tokens?"
            await pilot.press("enter")
            view = list(app.screen.query(AnswerView))[-1]
            await wait_for(pilot, lambda: view.has_class("done"), what="the answer")
            shown, links = markdown_view(view.body)
            assert "[link=https://evil.example]Click[/link] [bold]now[/bold] [/x]" in shown
            assert "[docs](https://evil.example)" in shown
            assert links and all(link.startswith("cite:") for link in links)
            labels = [str(view.sources.get_option_at_index(i).prompt) for i in range(view.sources.option_count)]
            assert any(visible(HOSTILE[0].title) in label for label in labels)

            # saved conversations list
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationsScreen))
            assert app.screen.query_one("#conversations", OptionList).option_count == 1
            await pilot.press("escape")

            # Compare: column headers are the exact titles
            app.open_compare(["2601.00001", "2601.00002"])
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare")
            compare = app.screen
            assert isinstance(compare, CompareScreen)
            await wait_for(pilot, lambda: compare.comparison is not None, what="the comparison")
            grid = compare.query_one("#compare-table", DataTable)
            headers = [str(c.label) for c in grid.columns.values()][1:]
            assert headers[0].startswith("[1] Closing [/x] tags and [bold]loud")
            assert headers[1].startswith("[2] [link=https://evil.example]Click me[/link]")
            await pilot.press("escape")

            # Brief: titles Markdown-escaped, no link but the papers' own
            await pilot.press("f4")
            brief = app.screen
            assert isinstance(brief, BriefScreen)
            week = brief.query_one("#brief-week", Select)
            await wait_for(pilot, lambda: week.value != Select.BLANK, what="the week list")
            week.value = "2025-W11"
            await pilot.press("g")
            await wait_for(pilot, lambda: brief.brief is not None, timeout=60, what="the brief")
            shown, links = markdown_view(brief.query_one("#brief-view", Markdown))
            assert "[link=https://evil.example]Click me[/link] for contrastive loss tiles" in shown
            assert "Bidi gnp.exe and isolate trick" in shown and LONG_TITLE in shown
            assert not any("evil.example" in link for link in links)

            # a notification quoting hostile text shows it literally
            app.notify("[link=https://evil.example]x[/link] [/x] \u202eevil")
            await pilot.pause()
            note = notifications(app)[-1]
            assert note.message == "[link=https://evil.example]x[/link] [/x] evil" and not note.markup
        assert app.return_code in (None, 0)

    run(scenario)
