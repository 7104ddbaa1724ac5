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

from agent.console import UsageError, err, print_error
from agent.llm.base import LLMError
from agent.prompts import PromptError
from agent.settings import Settings, SettingsError, load_settings
from store.errors import FetchError, StoreError

app = typer.Typer(
    name="paperbrief",
    help="Keep on top of new papers: ingest abstracts, search them, ask cited questions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


class State:
    """Per-invocation context: CLI overrides, turned into settings on first use."""

    def __init__(self, overrides: dict[str, object]) -> None:
        self.overrides = overrides
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(**self.overrides)
        return self._settings


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


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
    from agent.commands import ask, batch, brief, compare, evals, fetch, index, tui

    for module in (index, fetch, ask, compare, brief, batch, evals, tui):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; a bare ``paperbrief`` on a terminal opens the TUI (else: help)."""
    from agent.commands.tui import is_interactive

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
    except (FetchError, LLMError) as exc:
        print_error(str(exc))
        sys.exit(1)
    except (UsageError, SettingsError, StoreError, PromptError) as exc:
        print_error(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)

