"""The terminal UI. The only package in paperbrief that imports Textual.

``run_tui(settings)`` is what ``paperbrief tui`` (and a bare ``paperbrief`` on a terminal)
calls; the app itself is :class:`agent.tui.app.PaperbriefApp`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from agent.settings import Settings
from store.paths import Paths
from store.private import private_dir


def log_to_file(data_dir: Path) -> Path:
    """Send logging to ``<data_dir>/logs/tui.log`` while the app runs.

    A log line written to the terminal would tear the screen, and a traceback there is
    exactly what the app promises never to show; the file keeps both for later.
    """
    path = Paths(Path(data_dir)).tui_log
    private_dir(path.parent)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            root.removeHandler(handler)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return path


def run_tui(settings: Settings, *, model: str | None = None) -> None:
    """Open the app full-screen until the user quits."""
    from agent.tui.app import PaperbriefApp

    log_to_file(settings.data_dir)
    PaperbriefApp(settings, model=model).run()
