"""The TUI's background ingest (F5) takes the same writer lock as the CLI, and says whom it waits for."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

from textual.widgets import Input

from agent.tui.screens.dialogs import IngestScreen
from store.config import StoreConfig
from store.locks import writer_lock
from tests.support.openai_server import OpenAIServer
from tests.support.papers_fixture import write_jsonl
from tests.support.tui_helpers import make_app, run, wait_for


def test_tui_ingest_waits_for_another_writer_then_runs(server: OpenAIServer, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in" / "papers.jsonl")
    data_dir = tmp_path / "fresh"
    expected = f"waiting for another cli ingest (pid {os.getpid()}) to finish…"

    async def scenario() -> None:
        app = make_app(data_dir, server, tmp_path)
        with ExitStack() as held:
            held.enter_context(writer_lock(StoreConfig(data_dir=data_dir).index_dir, "cli ingest"))
            async with app.run_test(size=(100, 32)) as pilot:
                await pilot.press("f5")
                assert isinstance(app.screen, IngestScreen)
                app.screen.query_one("#ingest-path", Input).value = str(source)
                await pilot.press("enter")
                await wait_for(pilot, lambda: expected in app.activity, timeout=60, what="the waiting notice")
                await pilot.pause(0.5)
                assert app.paper_count == 0  # nothing written while the other writer holds the lock
                held.close()  # the other writer finishes
                await wait_for(pilot, lambda: app.paper_count == 8, timeout=60, what="the ingest")

    run(scenario)
