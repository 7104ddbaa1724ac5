"""The ``paperbrief`` command: global options, sub-command registration, error handling.

Each group of commands lives in its own module under ``agent/commands/``; this file
only wires them together and turns known errors into one line and an exit code:
2 for bad input or configuration, 1 for a remote service that kept failing.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from agent.cli.console import err, print_error
from agent.cli.context import State
from agent.cli.failures import as_error

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
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback when a command fails.")
    ] = False,
) -> None:
    _debug[0] = debug
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = State({"data_dir": data_dir, "chroma_host": chroma_host, "chroma_port": chroma_port})


#: Set by ``--debug``: a failure then prints its traceback before the one line.
_debug = [False]


def _register() -> None:
    from agent.cli.commands import (
        ask,
        backfill,
        batch,
        brief,
        compare,
        doctor,
        evals,
        fetch,
        index,
        interests,
        maintenance,
        models,
        serve,
        tui,
    )

    groups = [index, backfill, maintenance, fetch, ask, compare, brief, batch, evals, interests, serve, tui]
    groups += [models, doctor]
    for module in groups:
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; a bare ``paperbrief`` on a terminal opens the TUI (else: help)."""
    from agent.cli.commands.tui import is_interactive

    args = sys.argv[1:] if argv is None else argv
    _debug[0] = False  # set again by the root callback when --debug is given
    if not args:
        args = ["tui"] if is_interactive() else ["--help"]
    # Boxed, coloured help is for people at a terminal; piped into grep, less or a script it is
    # plain click text, which also skips loading rich's Markdown and Pygments (~0.2 s of start-up).
    app.rich_markup_mode = "rich" if sys.stdout.isatty() else None
    try:
        # standalone mode: click (vendored inside typer) prints its own usage errors with
        # exit code 2 and turns typer.Exit into sys.exit; our domain errors propagate here.
        app(args=args, prog_name="paperbrief")
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
        return  # success: callers (tests, python -m agent) get a normal return
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # one place maps every failure to one line and an exit code: user errors 2, the
        # rest 1; the traceback only on request
        if _debug[0]:
            traceback.print_exc()
        error = as_error(exc)
        print_error(str(error))
        sys.exit(error.exit_code)

