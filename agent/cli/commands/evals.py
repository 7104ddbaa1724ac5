"""``paperbrief eval``: run the prompt-regression suite, compare with a baseline, accept a baseline.

Exit codes: 0 fine; 1 ``eval compare`` found a regression (or a model kept failing);
2 bad input (a case file, a missing paper, an incomparable baseline), one line naming
the file and the case.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.table import Table

from agent.cli.console import UsageError, err, make_progress, out, print_warning
from store.paths import Paths

app = typer.Typer(
    name="eval",
    help="Prompt-regression evals: run the cases, compare with the baseline, accept a new baseline.",
    no_args_is_help=True,
)

CASES_DEFAULT = "evals/cases/*.yaml"
BASELINES_DEFAULT = Path("evals/baselines")
BaselinesOpt = Annotated[
    Path,
    typer.Option("--baselines", help="Folder of committed baselines (seeds the response cache; accept writes here)."),
]


def _shared_default() -> Path | None:
    env = os.environ.get("PAPERBRIEF_SHARED_DIR")
    if env:
        return Path(env)
    for candidate in (Path.cwd().parent / "shared", Path(__file__).resolve().parents[2].parent / "shared"):
        if candidate.is_dir():
            return candidate
    return None


def _metrics_table(title: str, suite: dict[str, Any]) -> Table:
    from evals.metrics import LOWER_IS_BETTER
    from evals.report import fmt

    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("cases", justify="right", style="dim")
    for metric, value in suite.get("metrics", {}).items():
        arrow = "↓" if metric in LOWER_IS_BETTER else "↑"
        table.add_row(f"{metric} {arrow}", fmt(metric, value), str(suite.get("counts", {}).get(metric, "")))
    return table


@app.command("run")
def run(
    ctx: typer.Context,
    cases: Annotated[str, typer.Option("--cases", help="Case files: a glob or one file.")] = CASES_DEFAULT,
    model: Annotated[str | None, typer.Option("--model", help="Chat model name, or a .gguf file.")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where results.json and report.md go [DATA_DIR/evals/last-run].")
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Eval indexes and the response cache [DATA_DIR/evals/cache].")
    ] = None,
    shared: Annotated[
        Path | None,
        typer.Option("--shared", help="The shared data dir for {shared} paths [PAPERBRIEF_SHARED_DIR, ../shared]."),
    ] = None,
    prompts: Annotated[
        Path | None, typer.Option("--prompts", help="A prompt set to evaluate instead of the shipped prompts/ (ask).")
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option("--judge-model", help="Also judge groundedness with this model (LLM judge).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Call the model for every case (records).")] = False,
    strategy: Annotated[
        str, typer.Option("--strategy", help="auto | single-prompt | quote-then-write: how ask cases are answered.")
    ] = "auto",
    baselines: BaselinesOpt = BASELINES_DEFAULT,
) -> None:
    """Run the eval cases and write results.json and report.md."""
    from agent.ask.pipeline import Strategy
    from agent.cli.context import state
    from evals.runner import Runner, RunOptions, write_results

    if strategy not in ("auto", "single-prompt", "quote-then-write"):
        raise UsageError(f"--strategy {strategy}: expected auto, single-prompt or quote-then-write")
    settings = state(ctx).settings
    base = Paths(settings.data_dir).evals_dir
    options = RunOptions(
        cases=cases,
        out=out_dir or base / "last-run",
        cache_dir=cache_dir or base / "cache",
        model=model,
        shared=shared or _shared_default(),
        prompts_dir=prompts,
        judge_model=judge_model,
        use_cache=not no_cache,
        baselines=baselines,
        strategy=cast(Strategy, strategy),
    )
    if prompts is not None and not prompts.is_dir():
        raise UsageError(f"--prompts {prompts}: not a directory of prompt files")
    with make_progress(transient=True, disable=not err.is_terminal) as progress:
        tasks: dict[str, Any] = {}

        def on_progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(f"suite {label}", total=total, rate="")
            progress.update(tasks[label], completed=done, total=total)

        def on_status(message: str) -> None:
            if err.is_terminal:  # progress talk is for people watching; errors stay one line in logs
                progress.console.print(f"[dim]{message}[/dim]")

        runner = Runner(settings, options, on_progress=on_progress, on_status=on_status, on_warning=print_warning)
        results = runner.run()
    results_path, report_path = write_results(results, options.out)
    out.print(f"model {results['model']} · prompt set {results['prompt_set']} · "
              f"{results['cache']['hits']} cached, {results['cache']['misses']} model calls · {results['seconds']} s")
    for name, suite in results["suites"].items():
        if suite.get("skipped"):
            print_warning(f"suite {name} skipped: {suite['skipped']}")
            continue
        out.print(_metrics_table(f"{name} ({len(suite['cases'])} cases)", suite))
        for case in suite["cases"]:
            if case.get("error"):
                print_warning(f"{suite['file']}: case {case['id']}: {case['error']}")
            elif case.get("skipped"):
                print_warning(f"{suite['file']}: case {case['id']} skipped: {case['skipped']}")
    out.print(f"results: {results_path}\nreport:  {report_path}")


def _fmt_delta(metric: str, delta: float | None) -> str:
    from evals.report import fmt

    if delta is None:
        return "–"
    sign = "+" if delta > 0 else ""
    return sign + fmt(metric, delta)


@app.command("compare")
def compare_runs(
    baseline: Annotated[Path, typer.Argument(help="Baseline results.json, a run dir, or the baselines folder.")],
    current: Annotated[Path, typer.Argument(help="Current results.json or run dir.")],
    all_cases: Annotated[bool, typer.Option("--all-cases", help="List every changed case, not the first 40.")] = False,
) -> None:
    """Before/after table per metric and per case; exit 1 when a metric drops beyond its tolerance."""
    from evals.compare import compare_results, find_baseline, load_results
    from evals.report import fmt

    current_file, current_data = load_results(current, role="current")
    if baseline.is_dir() and not (baseline / "results.json").exists():
        baseline = find_baseline(baseline, current_data)
    baseline_file, baseline_data = load_results(baseline, role="baseline")
    result = compare_results(baseline_file, baseline_data, current_file, current_data)
    out.print(f"baseline {result.baseline_file} ({result.baseline_model})\ncurrent  {result.current_file} "
              f"({result.current_model})\n{result.shared} shared cases"
              + (f", {result.only_baseline} only in the baseline" if result.only_baseline else "")
              + (f", {result.only_current} only in the current run" if result.only_current else ""))
    for note in result.notes:
        print_warning(note)
    table = Table(show_edge=False)
    for column, justify in (("suite", "left"), ("metric", "left"), ("baseline", "right"), ("current", "right"),
                            ("Δ", "right"), ("tolerance", "right"), ("", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in result.metrics:
        status = "[bold red]REGRESSED[/]" if row.regressed else ""
        table.add_row(row.suite, row.metric, fmt(row.metric, row.baseline), fmt(row.metric, row.current),
                      _fmt_delta(row.metric, row.delta), "" if row.tolerance is None else f"{row.tolerance:g}", status)
    out.print(table)
    if result.cases:
        cases = Table(title=f"{len(result.cases)} cases changed", title_justify="left", show_edge=False)
        cases.add_column("case")
        cases.add_column("changes")
        shown = result.cases if all_cases else result.cases[:40]
        for case in shown:
            changes = ", ".join(f"{m} {fmt(m, b)} → {fmt(m, c)}" for m, b, c in case.changes)
            cases.add_row(f"{case.suite}/{case.case}", changes)
        out.print(cases)
        if len(shown) < len(result.cases):
            out.print(f"[dim]… {len(result.cases) - len(shown)} more (--all-cases)[/dim]")
    else:
        out.print("no case changed")
    if result.regressions:
        names = ", ".join(f"{r.suite}/{r.metric}" for r in result.regressions)
        err.print(f"[bold red]regression:[/] {names} dropped beyond tolerance")
        raise typer.Exit(1)
    out.print("[green]no regression beyond tolerance[/green]")


@app.command("accept")
def accept(
    ctx: typer.Context,
    run_dir: Annotated[
        Path | None, typer.Argument(help="The run to accept: results.json or its folder [DATA_DIR/evals/last-run].")
    ] = None,
    baselines: BaselinesOpt = BASELINES_DEFAULT,
) -> None:
    """Store a run's results as the baseline for its model and prompt set (commit the file)."""
    from agent.cli.context import state
    from evals.compare import accept as accept_baseline

    source = run_dir or Paths(state(ctx).settings.data_dir).evals_dir / "last-run"
    target, results, replaced = accept_baseline(source, baselines)
    n_new = sum(len(s.get("cases", [])) for s in results["suites"].values())
    if replaced is not None:
        n_old = sum(len(s.get("cases", [])) for s in replaced.get("suites", {}).values())
        if n_new < n_old:
            print_warning(f"the new baseline has {n_new} cases, the one it replaces had {n_old}")
    out.print(f"baseline for {results['model']} · {results['prompt_set']} written to {target} ({n_new} cases, "
              f"{len(results.get('responses', {}))} recorded responses); commit it")


@app.command("add")
def add(
    ctx: typer.Context,
    conversation: Annotated[
        int, typer.Option("--from-conversation", help="Id of a saved conversation (the TUI's Ctrl+O list).")
    ],
    turn: Annotated[int, typer.Option("--turn", min=1, help="Which question of it, counting from 1.")],
    cases_dir: Annotated[Path, typer.Option("--cases-dir", help="Folder of case files.")] = Path("evals/cases"),
) -> None:
    """Save a chat turn as an eval case (marked needs_review) in CASES_DIR/saved.yaml."""
    from agent.cli.context import state
    from agent.conversations import ConversationStore
    from evals.saved import case_from_turn, save_case

    store = ConversationStore.for_data_dir(state(ctx).settings.data_dir)
    case = case_from_turn(store, conversation, turn)
    path = save_case(case, cases_dir)
    out.print(f"case {case['id']} saved to {path} (needs review: check `expect`, add `must_include`)",
              markup=False)


def register(root: typer.Typer) -> None:
    """Add ``paperbrief eval`` to the ``paperbrief`` app."""
    root.add_typer(app, name="eval")
