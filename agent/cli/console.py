"""Terminal output shared by the commands: consoles, progress bars, dates, JSON.

Results go to stdout (so ``--json`` output can be piped), everything for people
(progress, warnings, errors) to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from agent import dates
from agent.errors import UserError
from agent.safe_text import plain

if TYPE_CHECKING:  # rich.progress loads when a bar is drawn, not for --help
    from rich.progress import Progress

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


class UsageError(UserError):
    """Bad input from the command line: one line, exit code 2."""


def print_error(message: str) -> None:
    """One red ``error:`` line; the message is printed literally (no markup parsing)."""
    err.print(Text.assemble(("error: ", "bold red"), plain(message)), soft_wrap=True)


def print_warning(message: str) -> None:
    err.print(Text.assemble(("warning: ", "yellow"), plain(message)), soft_wrap=True)


def parse_day(value: str | None, flag: str) -> date | None:
    """A ``YYYY-MM-DD`` flag value, or a clear error naming the flag."""
    if value is None:
        return None
    return dates.parse_day(value, flag, UsageError)


def parse_window(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    lo, hi = parse_day(since, "--since"), parse_day(until, "--until")
    if lo and hi and lo > hi:
        raise UsageError(f"--since {lo} is after --until {hi}")
    return lo, hi


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def make_progress(*, transient: bool = False, disable: bool = False) -> Progress:
    """A progress bar with counts, rate and time: what long work shows people."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=transient,
        disable=disable,
    )


@contextmanager
def status(message: str, *, disable: bool = False) -> Iterator[None]:
    if disable:
        yield
        return
    with err.status(message):
        yield
