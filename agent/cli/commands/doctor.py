"""``paperbrief doctor``: one line per check (ok / warn / fail) and the fix; ``--json`` for scripts.

Exit code 1 when any check fails, 0 otherwise (warnings do not fail), so ``make run`` and
scripts can call it. Check details may quote paths or server answers: they are printed as
plain text, never as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from agent.cli.console import err, out, print_json
from agent.cli.context import state

if TYPE_CHECKING:
    from agent.doctor.result import Result
    from agent.settings import Settings

#: Seconds the probe generation may take (agent.doctor.plan.PROBE_TIMEOUT_S; kept here so that
#: --help loads none of the checks).
PROBE_TIMEOUT_S = 120.0

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def _line(result: Result) -> Text:
    line = Text.assemble((f"{result.status:<5}", _STYLE[result.status]), (f"{result.name:<17}", "bold"),
                         result.detail)
    if result.fix:
        line.append(Text.assemble("\n" + " " * 22 + "→ ", result.fix))
    return line


def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable results on stdout.")] = False,
    probe_timeout: Annotated[float, typer.Option("--probe-timeout", min=1.0,
                                                 help="Seconds the probe generation may take.")] = PROBE_TIMEOUT_S,
) -> None:
    """Check Python, the llama.cpp build, the model, the service, the index and the endpoints."""
    from agent.doctor.plan import build_checks
    from agent.doctor.runner import run_all
    from agent.settings import SettingsError

    settings: Settings | None = None
    problem = ""
    try:
        settings = state(ctx).settings
    except SettingsError as exc:
        problem = str(exc)
    results: list[Result] = []
    for result in run_all(build_checks(settings, problem, probe_timeout)):
        results.append(result)
        if not as_json:
            out.print(_line(result), soft_wrap=True)
    failed = [r.name for r in results if r.status == "fail"]
    if as_json:
        print_json({"ok": not failed, "checks": [r.to_dict() for r in results]})
    elif failed:
        err.print(Text(f"{len(failed)} check(s) failed: {', '.join(failed)}"))
    else:
        warned = sum(r.status == "warn" for r in results)
        err.print(Text(f"all {len(results)} checks passed" + (f" ({warned} warning(s))" if warned else "")))
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
