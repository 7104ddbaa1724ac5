"""Hostile paper text through every command: shown exactly, never as markup, links or escapes.

Paper titles, abstracts and model output are data. Before this test, a title holding
``[/x]`` crashed ``papers list`` with a MarkupError, ``[link=...]`` became a terminal
hyperlink and "[x, y, z]" vanished from ``papers show``. Output is recorded by a rich
console that keeps styles (so a hyperlink is detectable) at a width no title wraps at.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from agent.cli.app import main
from store.index import Index
from store.ingest import ingest_papers
from store.sources.tabular import parse_jsonl
from store.text import normalize_text
from tests.support.hostile import HOSTILE, build_hostile_index, screen_text, visible
from tests.support.openai_server import OpenAIServer
from tests.support.tui_helpers import tui_replies

_COMMAND_MODULES = ("index", "ask", "compare", "brief", "batch")


class Screen:
    """A recording terminal stand-in patched in for the commands' ``out`` and ``err`` consoles."""

    def __init__(self) -> None:
        self.console = Console(file=io.StringIO(), width=20_000, record=True, highlight=False, color_system=None)

    def take(self) -> str:
        html = self.console.export_html(clear=False)
        assert "<a href" not in html, "untrusted text became a hyperlink"
        return screen_text(self.console.export_text(clear=True))


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hostile_index(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> Screen:
    import importlib

    shown = Screen()
    monkeypatch.setattr("agent.cli.console.out", shown.console)
    monkeypatch.setattr("agent.cli.console.err", shown.console)
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"agent.cli.commands.{name}")
        for attr in ("out", "err"):
            if hasattr(module, attr):
                monkeypatch.setattr(module, attr, shown.console)
    return shown


ANSWER = (
    "Speculative decoding drafts tokens with a tiny model [1]. "
    "[link=https://evil.example]Click[/link] [bold]now[/bold] [/x] \x1b[31mred\x1b[0m \u202eevil [1]."
)


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"respond": tui_replies(ANSWER)}


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_papers_list_and_show_print_the_exact_text(hostile_dir: Path, screen: Screen) -> None:
    assert run(["--data-dir", str(hostile_dir), "papers", "list"]) == 0
    shown = screen.take()
    for paper in HOSTILE:
        assert visible(paper.title) in shown
    for paper in HOSTILE:
        assert run(["--data-dir", str(hostile_dir), "papers", "show", paper.id]) == 0
        shown = screen.take()
        assert visible(paper.title) in shown.splitlines()
        assert visible(paper.abstract) in shown
        assert all(visible(a) in shown for a in paper.authors)
    assert "at specific [x, y, z] coordinates [/x]" in visible(HOSTILE[0].abstract)


def test_search_shows_titles_and_snippets_as_text(hostile_dir: Path, screen: Screen) -> None:
    assert run(["--data-dir", str(hostile_dir), "search", "speculative decoding draft tokens", "-k", "5"]) == 0
    shown = screen.take()
    assert visible(HOSTILE[0].title) in shown and "[x, y, z]" in shown


def test_ask_compare_and_batch_show_model_output_as_text(
    hostile_dir: Path, screen: Screen, server_env: OpenAIServer, tmp_path: Path
) -> None:
    assert run(["--data-dir", str(hostile_dir), "ask", "How does speculative decoding draft tokens?"]) == 0
    shown = screen.take()
    assert "[link=https://evil.example]Click[/link] [bold]now[/bold] [/x]" in shown
    assert visible(HOSTILE[0].title) in shown  # the sources list
    assert run(["--data-dir", str(hostile_dir), "compare", "2601.00001", "2601.00003"]) == 0
    shown = screen.take()
    assert visible(HOSTILE[0].title) in shown and visible(HOSTILE[2].title) in shown
    questions = tmp_path / "q.txt"
    questions.write_text("How does [bold]speculative[/bold] decoding draft tokens?\n")
    out = tmp_path / "[red]answers[bold].jsonl"
    assert run(["--data-dir", str(hostile_dir), "batch", str(questions), "--out", str(out)]) == 0
    assert "Batch summary" in screen.take()
    assert json.loads(out.read_text().splitlines()[0])["status"] == "ok"


def test_brief_terminal_output_holds_no_markup_or_escapes(
    hostile_dir: Path, screen: Screen, server_env: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--data-dir", str(hostile_dir), "brief", "--week", "2025-W11", "--no-fetch"]) == 0
    text = capsys.readouterr().out
    screen_text(text)
    assert "\\[link=https://evil.example\\]Click me\\[/link\\]" in text  # Markdown-escaped: no link
    assert "Bidi gnp.exe and isolate trick" in text


def test_ingest_strips_bidi_zero_width_and_tag_characters(tmp_path: Path) -> None:
    raw = {
        "id": "2601.00009",
        "title": "Safe\u202e txt.exe\u202c \u2066iso\u2069 zero\u200bwidth\u200d tag\U000e0041s \u200e",
        "abstract": "Emoji 👩\u200d🔬 keep their joiner; \u2067hidden\u2069 text does not.",
        "date": "2025-03-10",
    }
    (paper,) = parse_jsonl([json.dumps(raw)], source="file:p.jsonl")
    assert paper.title == "Safe txt.exe iso zerowidth tags"
    assert paper.abstract == "Emoji 👩\u200d🔬 keep their joiner; hidden text does not."
    assert normalize_text("a\u2068b\u061cc\ufeffd") == "abcd"


def test_real_abstract_keeps_its_brackets(shared_dir: Path, tmp_path: Path, screen: Screen) -> None:
    """``papers show 2503.18769`` on the real arXiv dump prints "[x, y, z]" (issue 14)."""
    from agent.settings import load_settings

    dump = shared_dir / "data" / "arxiv_daily_cs" / "arxiv_daily_cs_dedup.jsonl.gz"
    with gzip.open(dump, "rt", encoding="utf-8") as fh:
        line = next(row for row in fh if '"2503.18769' in row)
    papers = parse_jsonl([line], source="file:arxiv_daily_cs_dedup.jsonl.gz")
    data_dir = tmp_path / "data"
    with Index(load_settings(data_dir=data_dir).store_config()) as idx:
        ingest_papers(idx, papers)
    assert run(["--data-dir", str(data_dir), "papers", "show", "2503.18769"]) == 0
    shown = screen.take()
    assert "at specific [x, y, z] coordinates" in shown
