"""Run the real ``paperbrief`` command in-process, as a user would, and read what it printed."""

from __future__ import annotations

import pytest

from agent.cli.app import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``paperbrief ARGS``: (exit code, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
