"""``paperbrief models list|pull|use``: local GGUF files, Hub downloads and the default model.

The download protocol lives in :mod:`agent.llm.hub` and the local files in
:mod:`agent.llm.registry`; this module only turns them into commands, a byte progress bar
and tables. ``HF_ENDPOINT`` (a mirror) and ``HF_TOKEN`` (gated repos) are read from the
environment under the names every Hugging Face tool uses; the token is never printed.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from agent.cli.console import err, out, print_json
from agent.cli.context import state
from agent.llm import registry

models_app = typer.Typer(help="Local models: list, pull from the Hugging Face Hub, choose the default.",
                         no_args_is_help=True)

_CURATED_HELP = ", ".join(f"{c.name} (~{c.approx_gb:.1f} GB)" for c in registry.CURATED.values())


@models_app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """The packaged default and every pulled GGUF; `*` marks the one in use."""
    settings = state(ctx).settings
    rows = registry.list_models(settings.data_dir, settings.local.gguf)
    if as_json:
        print_json([
            {"name": r.name, "path": str(r.path), "size": r.size, "repo": r.repo,
             "packaged": r.packaged, "in_use": r.in_use}
            for r in rows
        ])
        return
    table = Table(title_justify="left")
    for column in ("", "model", "size", "from"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for r in rows:
        origin = "packaged default" if r.packaged else (r.repo or "local file")
        table.add_row("*" if r.in_use else "", Text(r.name), f"{r.size / 1e6:,.0f} MB", Text(origin))
    out.print(table)
    if settings.local.gguf is not None:
        err.print(Text(f"PAPERBRIEF_GGUF is set ({settings.local.gguf}): it wins over `models use`."))
    elif settings.llm.base_url or settings.llm.api_key:
        err.print("OPENAI_BASE_URL / OPENAI_API_KEY is set: commands use that server, not these files.")
    err.print(f"More: paperbrief models pull NAME ({', '.join(registry.CURATED)}) or REPO FILE")


@models_app.command("pull")
def pull_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=f"A curated name: {_CURATED_HELP}; or a Hub repo (owner/name).")],
    file: Annotated[str | None, typer.Argument(help="The .gguf file in REPO (only with a repo).")] = None,
    revision: Annotated[str, typer.Option("--revision", help="Branch, tag or commit.")] = "main",
    use_it: Annotated[bool, typer.Option("--use", help="Make it the default model once pulled.")] = False,
) -> None:
    """Download an instruct GGUF (resumable, sha256-verified) into <data_dir>/models/."""
    settings = state(ctx).settings
    repo, filename = registry.resolve_pull(name, file)
    target = registry.models_dir(settings.data_dir) / filename
    if target.is_file():
        err.print(Text(f"{filename} is already pulled ({target})."))
    else:
        from agent.llm import hub  # httpx loads only for a pull

        endpoint = os.environ.get("HF_ENDPOINT") or hub.DEFAULT_ENDPOINT
        bar = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=err, transient=True,
        )
        with bar:
            task = bar.add_task(f"Pulling {filename}", total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            def notice(line: str) -> None:
                bar.console.print(Text.assemble(("warning: ", "yellow"), line), soft_wrap=True)

            remote = hub.download(repo, filename, target, revision=revision, endpoint=endpoint,
                                  token=os.environ.get("HF_TOKEN") or None, progress=tick, notice=notice)
        registry.record_pull(target, repo=repo, file=filename, revision=revision, sha256=remote.sha256)
        check = "sha256 verified" if remote.sha256 else "size verified (the Hub published no sha256)"
        err.print(Text(f"Pulled {filename}: {remote.size / 1e6:,.0f} MB, {check}."))
    if use_it:
        registry.use(settings.data_dir, filename)
        err.print(Text(f"{filename} is now the default local model."))
    else:
        err.print(Text(f"Use it with: paperbrief models use {filename}"))


@models_app.command("use")
def use_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A pulled file (name or stem), a curated name, or 'default'.")],
) -> None:
    """Make a pulled model the default local model (when PAPERBRIEF_GGUF is unset)."""
    settings = state(ctx).settings
    path = registry.use(settings.data_dir, name)
    err.print(Text(f"Default local model: {path.name if path else 'the packaged SmolLM2-135M-Instruct'}."))
    if settings.local.gguf is not None:
        err.print(Text(f"Note: PAPERBRIEF_GGUF is set ({settings.local.gguf}) and wins over this choice."))


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
