"""The TUI's plain-Python parts: conversation store, slash commands, error notices, helpers, the bare command."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from agent.ask.pipeline import AskError
from agent.brief.weeks import WindowError
from agent.cli.app import main
from agent.compare.select import SelectionError
from agent.conversations import ConversationStore, make_title
from agent.llm.base import LLMError, Usage
from agent.prompts import PromptRef
from agent.tui.errors import explain
from agent.tui.screens.brief import parse_window
from agent.tui.screens.papers import in_window, matches, sort_papers
from agent.tui.slash import SlashError, help_markdown, parse
from agent.tui.widgets.answer import link_citations, meta_line
from agent.types import Answer, Citation, Source
from store.papers import Paper

# --- conversation store ----------------------------------------------------------------


def _answer(question: str, text: str = "Drafts are verified [1].") -> Answer:
    source = Source(1, "2501.00002", "Speculative Decoding", date(2025, 3, 10), "abstract", "https://arxiv.org/abs/x")
    other = Source(2, "2501.00001", "Tiles", date(2025, 3, 10), "abstract")
    return Answer(
        question, text, [Citation(1, "2501.00002", "Speculative Decoding", date(2025, 3, 10))], [source, other],
        [], False, "generative", "gpt-test", PromptRef("answer", "1", "abc"), Usage(100, 20), cost_usd=0.001,
    )


def test_store_saves_turns_and_reopens_them(tmp_path: Path) -> None:
    ticks = iter(datetime(2025, 3, 14, 9, m, tzinfo=UTC) for m in range(60))
    store = ConversationStore(tmp_path / "c.sqlite3", clock=lambda: next(ticks))
    first = store.create(make_title("How can a small model speed up decoding?"))
    store.add_turn(first.id, _answer("How can a small model speed up decoding?"))
    second = store.create("Other")
    store.add_turn(first.id, _answer("How much faster?", "2.8 times [1]."))
    listed = store.recent()
    assert [c.id for c in listed] == [first.id, second.id]  # the most recently used first
    assert listed[0].turns == 2 and listed[1].turns == 0
    history = store.history(first.id)
    assert [(m.role, m.content) for m in history][:2] == [
        ("user", "How can a small model speed up decoding?"),
        ("assistant", "Drafts are verified [1]."),
    ]
    meta = store.messages(first.id)[1].meta
    assert meta["model"] == "gpt-test" and meta["usage"] == {"prompt_tokens": 100, "completion_tokens": 20}
    assert [s["cited"] for s in meta["sources"]] == [True, False]
    # a second store on the same file (another session) sees the same data; the schema is versioned
    again = ConversationStore(tmp_path / "c.sqlite3")
    assert again.get(first.id) is not None
    with sqlite3.connect(tmp_path / "c.sqlite3") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1


def test_store_rename_delete_and_markdown(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3")
    conv = store.create("First")
    store.add_turn(conv.id, _answer("What is speculative decoding?"))
    store.rename(conv.id, "  Speculative\n decoding ")
    assert store.get(conv.id).title == "Speculative decoding"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="empty"):
        store.rename(conv.id, "   ")
    md = store.to_markdown(conv.id)
    assert md.startswith("# Speculative decoding\n")
    assert "## What is speculative decoding?" in md and "Drafts are verified [1]." in md
    assert "- [1] [Speculative Decoding](https://arxiv.org/abs/x) · 2501.00002 · 2025-03-10" in md
    assert "Tiles" not in md  # only cited sources are listed
    store.delete(conv.id)
    assert store.get(conv.id) is None and store.messages(conv.id) == []


def test_titles_are_one_short_line() -> None:
    assert make_title("  What is\nnew?  ") == "What is new?"
    long = make_title("word " * 40)
    assert len(long) <= 60 and long.endswith("…") and not long.endswith(" …")


# --- slash commands --------------------------------------------------------------------


def test_slash_parsing() -> None:
    assert parse("what is new in RL?") is None
    assert parse("//not a command") is None
    cmd = parse("/compare 2501.00001 'tile based loss'")
    assert cmd is not None and cmd.name == "compare" and cmd.args == ("2501.00001", "tile based loss")
    assert parse("/MODEL gpt-4o").name == "model"  # type: ignore[union-attr]
    with pytest.raises(SlashError, match="did you mean /compare"):
        parse("/comp 1 2")
    with pytest.raises(SlashError, match="/help lists them"):
        parse("/zzz")
    assert "`/export [PATH]`" in help_markdown()


# --- errors ----------------------------------------------------------------------------


def test_errors_become_a_cause_and_a_next_step() -> None:
    empty = explain(AskError("the index is empty: run `paperbrief ingest PATH...` first"))
    assert empty.title == "No papers yet" and "F5" in empty.hint
    down = explain(LLMError("model gpt-x at http://h/v1: HTTP 503 after 4 attempts, key sk-abcdef123456"))
    assert down.title == "Model unavailable" and "503" in down.message and "sk-abcdef" not in down.text
    assert "/model" in down.hint
    secret = explain(RuntimeError("boom with mykey-1234"), secrets=("mykey-1234",))
    assert "mykey-1234" not in secret.text and "tui.log" in secret.hint
    assert explain(SelectionError("no paper with id 'x'")).title == "Cannot compare"
    assert explain(FileNotFoundError(2, "No such file", "/nope")).title == "No such file"


# --- helpers ---------------------------------------------------------------------------


def test_citations_become_links_and_the_footer_reads_well() -> None:
    assert link_citations("Fast [1][2], see [12].") == "Fast [[1]](cite:1)[[2]](cite:2), see [[12]](cite:12)."
    meta = {"model": "gpt-test", "mode": "extractive", "usage": {"prompt_tokens": 5, "completion_tokens": 2}}
    assert meta_line(meta, 1500) == "gpt-test · extractive · 5+2 tokens · 1.5 s"
    assert meta_line({**meta, "cost_usd": 0.00123}, None) == "gpt-test · extractive · 5+2 tokens · $0.0012"


def _paper(pid: str, title: str, days: tuple[date, ...], upvotes: int | None = None) -> Paper:
    return Paper(pid, title, "abstract", authors=("Ada Lovelace",), listing_dates=days, upvotes=upvotes)


def test_paper_filter_window_and_sort() -> None:
    a = _paper("1", "Speculative Decoding", (date(2025, 3, 10),), 5)
    b = _paper("2", "Coral Reefs", (date(2025, 3, 12), date(2025, 3, 13)), 9)
    c = _paper("3", "Atoms", (), None)
    assert matches(a, "speculative lovelace") and not matches(a, "speculative turing") and matches(a, "")
    assert in_window(b, date(2025, 3, 13), None) and not in_window(a, date(2025, 3, 11), None)
    assert in_window(c, None, None) and not in_window(c, date(2025, 1, 1), None)
    assert [p.id for p in sort_papers([a, b, c], "newest")] == ["2", "1", "3"]
    assert [p.id for p in sort_papers([a, b, c], "oldest")] == ["3", "1", "2"]
    assert [p.id for p in sort_papers([a, b, c], "title")] == ["3", "2", "1"]
    assert [p.id for p in sort_papers([a, b, c], "upvotes")] == ["2", "1", "3"]


def test_brief_week_from_a_label_or_a_day() -> None:
    assert parse_window("2025-W11").since == date(2025, 3, 10)
    assert parse_window("2025-03-14").label == "2025-W11"
    with pytest.raises(WindowError, match="not a week"):
        parse_window("next week")


# --- the bare command ------------------------------------------------------------------


def test_bare_paperbrief_opens_the_tui_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    opened: list[object] = []
    monkeypatch.setattr("agent.tui.run_tui", lambda settings, model=None: opened.append(settings))
    main([])  # not a terminal (pytest captures stdio): help, no TUI
    assert "Usage" in capsys.readouterr().out and opened == []
    monkeypatch.setattr("agent.cli.commands.tui.is_interactive", lambda: True)
    main([])
    assert len(opened) == 1
    monkeypatch.setattr("agent.cli.commands.tui.is_interactive", lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        main(["tui"])
    assert exit_info.value.code == 2 and "needs a terminal" in capsys.readouterr().err
