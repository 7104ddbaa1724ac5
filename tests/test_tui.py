"""The TUI driven by Textual's pilot: chat, cancel, citations, papers, compare, errors, ingest.

Every flow runs against a real index (the eight fixture papers) and a scripted
OpenAI-compatible server on loopback, so no model is needed and the timing of a stream
(slow, for Esc) or a failure (HTTP 500) is chosen by the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, Input, Markdown, OptionList, ProgressBar, Select

from agent.brief.types import Progressed, Stage
from agent.tui.screens.brief import BriefScreen
from agent.tui.screens.chat import ChatScreen
from agent.tui.screens.compare import CompareScreen
from agent.tui.screens.conversations import ConversationsScreen
from agent.tui.screens.dialogs import HelpScreen, IngestScreen
from agent.tui.screens.paper import PaperScreen
from agent.tui.screens.papers import PapersScreen
from agent.tui.widgets.answer import AnswerView
from tests.support.loopback import LoopbackServer
from tests.support.loopback import Reply as HttpReply
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.papers_fixture import write_jsonl
from tests.support.tui_helpers import ANSWER, SECRET, make_app, notifications, run, tui_replies, wait_for

QUESTION = "How can a small model speed up LLM decoding?"


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"respond": tui_replies(ANSWER)}


async def submit(pilot: Any, line: str) -> None:
    """Type a line in the chat box and press Enter."""
    prompt = pilot.app.screen.query_one("#prompt", Input)
    prompt.focus()
    prompt.value = line
    await pilot.press("enter")
    await pilot.pause()


async def ask(pilot: Any, question: str) -> AnswerView:
    """Ask a question; returns the answer view it opened."""
    await submit(pilot, question)
    return list(pilot.app.screen.query(AnswerView))[-1]


def body_text(view: AnswerView) -> str:
    return view.body.source


# --- chat ------------------------------------------------------------------------------


def test_ask_streams_then_shows_checked_answer_with_sources(
    index_dir: Path, server: OpenAIServer, tmp_path: Path
) -> None:
    # slow pieces, and a citation to a source that does not exist ([9]): the final text drops it
    server.push(Reply(text=ANSWER.replace("[1].", "[1][9]."), chunk_delay_s=0.04))

    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, lambda: app.model_name == "gpt-test", what="the model")
            view = await ask(pilot, QUESTION)
            # streaming: some text is on screen before the answer is done
            await wait_for(pilot, lambda: "small draft model" in body_text(view), what="streamed tokens")
            assert not view.has_class("done") and view.text == ""
            await wait_for(pilot, lambda: view.has_class("done"), what="the answer")
            assert "[9]" not in body_text(view) and "(cite:1)" in body_text(view)
            assert view.text == ANSWER
            sources = view.sources
            assert sources.option_count == 1
            assert "Speculative Decoding with Tiny Draft Models" in str(sources.get_option_at_index(0).prompt)
            meta = str(view.query_one(".answer-meta").render())
            assert "gpt-test · generative" in meta and "tokens" in meta
            assert app.session_tokens > 0
            # the turn is saved: the conversation can be reopened later
            saved = app.conversations.recent()
            assert len(saved) == 1 and saved[0].turns == 1 and saved[0].title == QUESTION

    run(scenario)


def test_follow_up_uses_the_conversation(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            first = await ask(pilot, QUESTION)
            await wait_for(pilot, lambda: first.has_class("done"))
            server.push(Reply(text="How much faster is speculative decoding with a draft model?"))
            second = await ask(pilot, "How much faster is it?")
            await wait_for(pilot, lambda: second.has_class("done"))
            condense = server.chat_requests[-2].body["messages"]
            assert condense[0]["content"].startswith("Rewrite")
            assert QUESTION in str(condense)  # the earlier turn went along with the follow-up
            assert app.conversations.recent()[0].turns == 2

    run(scenario)


def test_escape_cancels_the_answer_at_once(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    words = " ".join(f"word{i}" for i in range(200)) + " [1]."
    server.push(Reply(text=words, chunk_delay_s=0.1))  # 20 s if nobody stops it

    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            view = await ask(pilot, QUESTION)
            await wait_for(pilot, lambda: len(view.streamed) >= 2, what="the stream to start")
            screen = app.screen
            assert isinstance(screen, ChatScreen) and screen.running
            assert "escape" in {b.binding.key for b in screen.active_bindings.values() if b.enabled}
            await pilot.press("escape")
            # at once: the view is marked cancelled and the footer no longer offers Esc
            assert view.has_class("cancelled") and not screen.running
            assert "Cancelled" in str(view.query_one(".answer-status").render())
            shown = len(view.streamed)
            await wait_for(
                pilot, lambda: not any(w.group == "answer" and w.is_running for w in screen.workers),
                timeout=3, what="the worker to stop",
            )
            await pilot.pause(0.3)
            assert len(view.streamed) == shown  # nothing more landed after Esc
            assert app.conversations.recent() == []  # a cancelled turn is not saved
            # the chat is immediately usable again
            again = await ask(pilot, QUESTION)
            await wait_for(pilot, lambda: again.has_class("done"))
            assert again.text == ANSWER

    run(scenario)


def test_selecting_a_citation_opens_the_paper(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            view = await ask(pilot, QUESTION)
            await wait_for(pilot, lambda: view.has_class("done"))
            await pilot.press("tab")  # from the question box to the answer's sources
            assert isinstance(app.focused, OptionList)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, PaperScreen), what="the paper")
            paper = app.screen.query_one("#paper-body", Markdown).source
            assert "# Speculative Decoding with Tiny Draft Models" in paper
            assert "Grace Hopper" in paper and "listed 2025-03-10" in paper
            assert "https://arxiv.org/abs/2501.00002" in paper and "2.8 times" in paper
            await pilot.press("escape")
            assert isinstance(app.screen, ChatScreen)
            # clicking the [1] link in the answer text opens the same paper
            view.post_message(Markdown.LinkClicked(view.body, "cite:1"))
            await wait_for(pilot, lambda: isinstance(app.screen, PaperScreen), what="the paper via the link")
            assert app.screen.paper.id == "2501.00002"  # type: ignore[attr-defined]

    run(scenario)


def test_provider_down_is_a_notification_not_a_traceback(
    index_dir: Path, server: OpenAIServer, tmp_path: Path
) -> None:
    server.push(Reply(status=500, error=f"upstream exploded, key {SECRET}"))

    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path, llm_attempts=1)
        async with app.run_test(size=(100, 32)) as pilot:
            view = await ask(pilot, QUESTION)
            await wait_for(pilot, lambda: view.has_class("failed"), what="the failure")
            # the view is marked failed just before the notification is posted: wait for both
            await wait_for(pilot, lambda: any(n.severity == "error" for n in notifications(app)), what="the notice")
            errors = [n for n in notifications(app) if n.severity == "error"]
            assert len(errors) == 1
            note = errors[0]
            assert note.title == "Model unavailable"
            assert "500" in note.message and "/model" in note.message  # the cause and the next step
            assert SECRET not in note.message and "Traceback" not in note.message
            assert not app.screen.query(".answer.done")
            # the app is still alive: the next question works
            again = await ask(pilot, QUESTION)
            await wait_for(pilot, lambda: again.has_class("done"))

    run(scenario)


def test_empty_index_says_what_to_do(server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(tmp_path / "empty", server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.pause()
            assert "No papers yet" in str(app.screen.query_one("#chat-empty").render())
            view = await ask(pilot, "anything new?")
            await wait_for(pilot, lambda: view.has_class("failed"))
            note = notifications(app)[-1]
            assert note.title == "No papers yet" and "F5" in note.message
            await pilot.press("f3")
            await wait_for(pilot, lambda: isinstance(app.screen, PapersScreen))
            empty = app.screen.query_one("#papers-empty")
            await wait_for(pilot, lambda: "press i to ingest" in str(empty.render()))

    run(scenario)


def test_copy_export_and_saved_conversations(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            view = await ask(pilot, QUESTION)
            await wait_for(pilot, lambda: view.has_class("done"))
            await pilot.press("ctrl+y")
            assert app.clipboard == ANSWER
            await pilot.press("ctrl+s")
            exported = tmp_path / "paperbrief-chat-1.md"  # the tests run in tmp_path
            text = exported.read_text()
            assert f"## {QUESTION}" in text and "Speculative Decoding with Tiny Draft Models" in text
            # new chat, then reopen the saved one from the list; rename and delete it there
            await pilot.press("ctrl+n")
            assert not app.screen.query(AnswerView)
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationsScreen))
            await pilot.press("r")
            rename = app.screen.query_one("#rename", Input)
            rename.value = "Speculative decoding"
            await pilot.press("enter")
            assert app.conversations.recent()[0].title == "Speculative decoding"
            await pilot.press("enter")  # open it
            await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen) and bool(app.screen.query(AnswerView)))
            reopened = app.screen.query_one(AnswerView)
            await wait_for(pilot, lambda: reopened.text == ANSWER)
            assert reopened.sources.option_count == 1
            chat = app.screen
            assert isinstance(chat, ChatScreen) and len(chat.history) == 2  # follow-ups continue it
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, ConversationsScreen))
            await pilot.press("d")
            assert len(app.conversations.recent()) == 1  # the first d only asks
            await pilot.press("d")
            assert app.conversations.recent() == []
            await pilot.press("escape")
            assert chat.conversation_id is None

    run(scenario)


def test_slash_commands(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, lambda: app.model_name == "gpt-test")
            await submit(pilot, "/help")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await submit(pilot, "/model")
            assert "gpt-test" in notifications(app)[-1].message
            await submit(pilot, "/frobnicate")
            assert "unknown command /frobnicate" in notifications(app)[-1].message
            await submit(pilot, "/model no-such-model")
            await wait_for(pilot, lambda: notifications(app)[-1].severity == "error", what="the model error")
            assert "unknown model" in notifications(app)[-1].message and app.model_name == "gpt-test"
            await submit(pilot, "/papers protein")
            await wait_for(pilot, lambda: isinstance(app.screen, PapersScreen))
            papers = app.screen
            assert isinstance(papers, PapersScreen)
            await wait_for(pilot, lambda: len(papers.shown) == 1, what="the filtered table")
            assert papers.shown[0].id == "2501.00008"

    run(scenario)


def test_command_palette_lists_the_app_commands(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*"papers")
            await pilot.pause(0.5)
            await pilot.press("enter")  # the best match ("Papers") is highlighted
            await wait_for(pilot, lambda: isinstance(app.screen, PapersScreen), what="the papers screen")
            titles = {c.title for c in app.get_system_commands(app.get_screen("chat"))}
            assert {"Chat", "Papers", "Brief", "Ingest papers", "Switch model", "Export conversation"} <= titles

    run(scenario)


# --- papers and compare ----------------------------------------------------------------


def test_filter_papers_and_compare_two(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press("f3")
            screen = app.screen
            assert isinstance(screen, PapersScreen)
            table = screen.query_one("#papers-table", DataTable)
            await wait_for(pilot, lambda: table.row_count == 8, what="the papers")
            # live filter: every keystroke narrows the table
            await pilot.press("slash", *"robot")
            assert [p.id for p in screen.shown] == ["2501.00006"]
            screen.query_one("#filter", Input).value = ""
            # date range: listings on the 12th and 13th only; a half-typed date is ignored, flagged
            screen.query_one("#since", Input).value = "2025-03-12"
            screen.query_one("#until", Input).value = "2025-03-1"
            await pilot.pause()
            assert screen.query_one("#until", Input).has_class("-invalid") and len(screen.shown) == 4
            screen.query_one("#until", Input).value = "2025-03-12"
            await pilot.pause()
            assert {p.id for p in screen.shown} == {"2501.00005", "2501.00006"}
            screen.query_one("#since", Input).value = ""
            screen.query_one("#until", Input).value = ""
            table.focus()
            await pilot.press("s", "s")  # newest → oldest → title
            assert [p.title for p in screen.shown] == sorted(p.title for p in screen.shown)
            # select the first two rows and compare them
            table.move_cursor(row=0)
            await pilot.press("space", "space")
            assert len(screen.selected) == 2
            first, second = screen.selected
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="the comparison")
            compare = app.screen
            assert isinstance(compare, CompareScreen)
            await wait_for(pilot, lambda: compare.comparison is not None, what="the finished comparison")
            grid = compare.query_one("#compare-table", DataTable)
            assert grid.row_count == 5 and [str(c.value) for c in grid.columns][1:] == [first, second]
            assert "problem its abstract states" in str(grid.get_cell("problem", first))
            assert "different problems" in compare.query_one("#compare-summary", Markdown).source
            await pilot.press("e")
            exported = next(tmp_path.glob("paperbrief-compare-*.md")).read_text()
            assert "| **Problem** |" in exported
            await pilot.press("enter")  # the cell under the cursor belongs to the first paper
            await wait_for(pilot, lambda: isinstance(app.screen, PaperScreen))
            assert app.screen.paper.id == first  # type: ignore[attr-defined]

    run(scenario)


def test_ask_about_selected_papers(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press("f3")
            papers = app.screen
            assert isinstance(papers, PapersScreen)
            table = papers.query_one("#papers-table", DataTable)
            await wait_for(pilot, lambda: table.row_count == 8)
            await pilot.press("space", "space", "a")
            await pilot.pause()
            chat = app.screen
            assert isinstance(chat, ChatScreen) and chat.scope == papers.selected
            view = await ask(pilot, QUESTION)
            await wait_for(pilot, lambda: view.has_class("done"))
            assert {s["paper_id"] for s in view.meta["sources"]} <= set(papers.selected)

    run(scenario)


def test_compare_needs_two_papers(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await submit(pilot, "/compare 2501.00001")
            assert "Name two to six papers" in notifications(app)[-1].message
            await submit(pilot, "/compare 2501.00001 2599.99999")
            await wait_for(pilot, lambda: any(n.title == "Cannot compare" for n in notifications(app)))
            assert "2599.99999" in notifications(app)[-1].message

    run(scenario)


# --- brief -----------------------------------------------------------------------------


def test_generate_a_brief_with_progress_and_export(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    seen: list[object] = []
    bar_shown: list[bool] = []  # was the progress bar on screen while the events came in?

    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path)

        def hook(message: object) -> None:
            if isinstance(message, BriefScreen.Event) and isinstance(message.event, Stage | Progressed):
                if any(e is message.event for e in seen):
                    return  # the hook sees a message when it is posted and again when it is handled
                seen.append(message.event)
                bar_shown.append(bool(app.get_screen("brief").query_one("#brief-progress", ProgressBar).display))

        async with app.run_test(size=(100, 32), message_hook=hook) as pilot:
            await pilot.press("f4")
            screen = app.screen
            assert isinstance(screen, BriefScreen)
            week = screen.query_one("#brief-week", Select)
            await wait_for(pilot, lambda: week.value == "2025-W11", what="the week list")
            offered = {b.binding.key for b in screen.active_bindings.values() if b.enabled}
            assert "g" in offered and "e" not in offered  # nothing to export before a brief exists
            await pilot.press("g")
            await wait_for(pilot, lambda: screen.brief is not None, timeout=60, what="the brief")
            assert not screen.running and not screen.query_one("#brief-progress", ProgressBar).display
            stages = [e.name for e in seen if isinstance(e, Stage)]
            assert stages[:3] == ["vectors", "themes", "tldrs"]
            assert bar_shown and all(bar_shown)
            shown = screen.query_one("#brief-view", Markdown).source
            assert "Weekly brief · 2025-W11" in shown and "Speculative Decoding with Tiny Draft Models" in shown
            assert "8 papers" in str(screen.query_one("#brief-status").render())
            await pilot.press("e", "h")
            assert "Weekly brief · 2025-W11" in (tmp_path / "paperbrief-brief-2025-W11.md").read_text()
            assert "<html" in (tmp_path / "paperbrief-brief-2025-W11.html").read_text().lower()
            assert app.session_tokens > 0

    run(scenario)


def test_brief_for_a_week_without_papers_explains(index_dir: Path, server: OpenAIServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = make_app(index_dir, server, tmp_path, hf_url="http://127.0.0.1:9", http_retries=1)
        async with app.run_test(size=(100, 32)) as pilot:
            await submit(pilot, "/brief 2024-W02")
            await wait_for(pilot, lambda: any(n.severity == "error" for n in notifications(app)), timeout=30)
            note = [n for n in notifications(app) if n.severity == "error"][-1]
            assert note.title == "No brief for that week" and "paperbrief ingest" in note.message
            assert "Traceback" not in note.message

    run(scenario)


# --- ingest ----------------------------------------------------------------------------


def test_ingest_from_the_app_runs_in_the_background(server: OpenAIServer, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in" / "papers.jsonl")

    async def scenario() -> None:
        app = make_app(tmp_path / "fresh", server, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press("f5")
            assert isinstance(app.screen, IngestScreen)
            path = app.screen.query_one("#ingest-path", Input)
            path.value = str(tmp_path / "nope")
            await pilot.press("enter")
            assert "No such file or folder" in str(app.screen.query_one("#ingest-error").render())
            path.value = str(source)
            await pilot.press("enter")
            assert isinstance(app.screen, ChatScreen)  # the dialog closed; ingest goes on behind
            prompt = app.screen.query_one("#prompt", Input)
            await pilot.press(*"typing")  # the chat takes input while papers are indexed
            assert prompt.value == "typing"
            await wait_for(pilot, lambda: app.paper_count == 8, timeout=30, what="the ingest")
            assert any(n.title == "Ingest finished" and "8 new" in n.message for n in notifications(app))
            assert "Ask anything about your 8 papers" in str(app.screen.query_one("#chat-empty").render())

    run(scenario)


def test_fetch_a_day_and_ingest_a_bad_path(server: OpenAIServer, tmp_path: Path) -> None:
    item = {
        "paper": {
            "id": "2503.01234",
            "title": "Sparse Attention for Long Documents",
            "summary": "We make attention sparse so that documents of a million tokens fit on one GPU, "
            "matching dense attention on long-context benchmarks.",
            "authors": [{"name": "Ada Lovelace"}],
            "upvotes": 12,
        }
    }
    with LoopbackServer() as hf:
        hf.route("/api/daily_papers", HttpReply.json([item]), query={"date": "2025-03-14"})

        async def scenario() -> None:
            app = make_app(tmp_path / "fresh", server, tmp_path, hf_url=hf.url, http_min_interval_s=0)
            async with app.run_test(size=(100, 32)) as pilot:
                await submit(pilot, f"/ingest {tmp_path / 'missing.jsonl'}")
                note = notifications(app)[-1]
                assert note.title == "Cannot ingest" and "No such file or folder" in note.message
                await pilot.press("f5")
                day = app.screen.query_one("#ingest-day", Input)
                day.focus()
                day.value = "2025-03-14"
                await pilot.press("enter")
                await wait_for(pilot, lambda: app.paper_count == 1, timeout=30, what="the fetched paper")
                paper = app.session.catalog.get("2503.01234")
                assert paper is not None and paper.listing_dates[0].isoformat() == "2025-03-14"

        run(scenario)
