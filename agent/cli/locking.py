"""The CLI side of the one-writer rule: take the data dir's writer lock, saying why we wait."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from agent.cli.console import err

if TYPE_CHECKING:
    from store.index import Index

NoWaitFlag = Annotated[
    bool,
    typer.Option("--no-wait", help="Fail at once if another process is writing the index."),
]


def say_waiting(message: str) -> None:
    """Why a writer is waiting (another ingest holds the data dir), on stderr."""
    err.print(Text(message, style="yellow"))


@contextmanager
def writing(index: Index, what: str, *, no_wait: bool = False) -> Iterator[None]:
    """Hold the writer lock for a write that is not an ingest (``index check --repair``)."""
    from store.locks import writer_lock

    with writer_lock(index.config.index_dir, what, wait=not no_wait, on_wait=say_waiting):
        yield
