"""The ``paperbrief`` command: global options, sub-command registration, error handling.

Each group of commands lives in its own module under ``agent/commands/``; this file
only wires them together and turns known errors into one line and an exit code:
2 for bad input or configuration, 1 for a remote service that kept failing.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from agent.cli.console import err, print_error
from agent.cli.context import State
from agent.errors import PaperbriefError

app = typer.Typer(
    name="paperbrief",
    help="Keep on top of new papers: ingest abstracts, search them, ask cited questions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where the index and caches live [PAPERBRIEF_DATA_DIR].")
    ] = None,
    chroma_host: Annotated[
        str | None, typer.Option("--chroma-host", help="Use a Chroma server [CHROMA_HOST].")
    ] = None,
    chroma_port: Annotated[int | None, typer.Option("--chroma-port", help="[CHROMA_PORT]")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = State({"data_dir": data_dir, "chroma_host": chroma_host, "chroma_port": chroma_port})


def _register() -> None:
    from agent.cli.commands import ask, batch, brief, compare, evals, fetch, index, interests, tui

    for module in (index, fetch, ask, compare, brief, batch, evals, interests, tui):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; a bare ``paperbrief`` on a terminal opens the TUI (else: help)."""
    from agent.cli.commands.tui import is_interactive

    args = sys.argv[1:] if argv is None else argv
    if not args:
        args = ["tui"] if is_interactive() else ["--help"]
    try:
        # standalone mode: click (vendored inside typer) prints its own usage errors with
        # exit code 2 and turns typer.Exit into sys.exit; our domain errors propagate here.
        app(args=args, prog_name="paperbrief")
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
        return  # success: callers (tests, python -m agent) get a normal return
    except PaperbriefError as exc:
        # one place maps the error model to exit codes: user errors 2, service errors 1
        print_error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)

