"""``paperbrief serve``: the local model service in the foreground, for people who want it always on.

Without it the service starts on demand and exits after ``PAPERBRIEF_SERVICE_IDLE_TIMEOUT``;
with it the model stays loaded (``--idle-timeout 0``, the default here) until Ctrl+C.
Either way every paperbrief process on this data dir finds it through the state file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli.console import err


def serve(
    ctx: typer.Context,
    idle_timeout: Annotated[
        float,
        typer.Option("--idle-timeout", min=0, help="Exit after this many idle seconds; 0 = never."),
    ] = 0.0,
    model: Annotated[
        str | None, typer.Option("--model", help="A .gguf file (default PAPERBRIEF_GGUF, else SmolLM2).")
    ] = None,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the service running for this data dir.")] = False,
) -> None:
    """Run the local model service in the foreground (Ctrl+C stops it)."""
    from agent.cli.context import state
    from agent.errors import ConfigError
    from agent.llm.base import LLMError
    from agent.llm.local import DEFAULT_LOCAL_CONTEXT, check_gguf, cpu_threads, default_gguf
    from agent.llm.service import process
    from agent.llm.service.state import ServicePaths, ServiceState

    settings = state(ctx).settings
    if stop:
        stopped = process.stop(ServicePaths(settings.data_dir))
        if stopped is None:
            err.print("no model service is running for this data dir", markup=False)
        else:
            err.print(f"stopped the model service (pid {stopped.pid}, {Path(stopped.model).stem})", markup=False)
        return
    try:
        path = (Path(model).expanduser() if model else settings.local.gguf or default_gguf()).resolve()
        check_gguf(path)
    except LLMError as exc:
        raise ConfigError(str(exc)) from None
    spec = process.ServiceSpec(
        model=path,
        data_dir=settings.data_dir,
        n_ctx=settings.llm.context_window or DEFAULT_LOCAL_CONTEXT,
        threads=settings.local.threads or cpu_threads(),
        idle_timeout_s=idle_timeout,
    )

    def ready(st: ServiceState) -> None:
        idle = "never stops when idle" if not idle_timeout else f"stops after {idle_timeout:g}s idle"
        err.print(
            f"serving {path.stem} at {st.base_url} (pid {st.pid}, {spec.threads} threads); "
            f"{idle}; Ctrl+C stops it. Log: {spec.paths.log}",
            markup=False,
        )

    err.print(f"loading {path.name}…", markup=False)
    process.serve_foreground(spec, ready)
    err.print("model service stopped", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(serve)
