"""``paperbrief batch``: answer a file of questions into a JSONL file, safely, in parallel, resumably."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from agent.batch.io import FORMATS, STDIN, BatchInput, read_input
from agent.cli.commands.index import SinceOpt, UntilOpt, open_index
from agent.cli.console import UsageError, err, make_progress, parse_window, print_error, print_warning
from agent.safe_text import text

if TYPE_CHECKING:  # the batch machinery (the model, the index) loads when a batch runs
    from rich.progress import TaskID

    from agent.batch.output import ResumePlan
    from agent.batch.stats import BatchStats, JobResult

_PLAIN_EVERY_S = 30.0  # progress lines when stderr is not a terminal


class BatchProgress:
    """A progress bar (done/failed, rate, ETA) on a terminal; a line every 30 s otherwise."""

    def __init__(self, total: int, *, already: int) -> None:
        self.live = err.is_terminal
        self.bar = make_progress(disable=not self.live)
        self.total = total
        self.already = already
        self.task: TaskID | None = None
        self.last_line = time.monotonic()

    def __enter__(self) -> BatchProgress:
        self.bar.__enter__()
        label = "Answering" + (f" ({self.already} already answered)" if self.already else "")
        self.task = self.bar.add_task(label, total=self.total, rate="")
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def __call__(self, result: JobResult, stats: BatchStats) -> None:
        failed = f" · [red]{stats.failed} failed[/red]" if stats.failed else ""
        rate = f"{stats.per_minute:,.1f} q/min{failed}"
        assert self.task is not None
        self.bar.update(self.task, completed=stats.done, rate=rate)
        if not self.live and (time.monotonic() - self.last_line >= _PLAIN_EVERY_S or stats.done == self.total):
            self.last_line = time.monotonic()
            left = self.total - stats.done
            eta = f", about {left / stats.per_minute:.1f} min left" if stats.per_minute and left else ""
            err.print(
                f"batch: {stats.done}/{self.total} done, {stats.failed} failed, {stats.per_minute:.1f} q/min{eta}",
                markup=False,
            )


def _print_summary(data: dict[str, Any]) -> None:
    table = Table(title="Batch summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("questions", f"{data['questions']:,}")
    if data["already_answered"]:
        table.add_row("already answered", f"{data['already_answered']:,}")
    table.add_row("answered now", f"{data['ok']:,}")
    table.add_row("failed", Text(f"{data['failed']:,}", style="red" if data["failed"] else ""))
    if data["not_run"]:
        table.add_row("not run", f"{data['not_run']:,}")
    if data["invalid"]:
        table.add_row("bad input lines", Text(f"{len(data['invalid']):,}", style="red"))
    if data["duplicates"]:
        table.add_row("duplicates (answered once)", f"{data['duplicates']:,}")
    if data["ok"]:
        table.add_row("abstained / extractive", f"{data['abstained']:,} / {data['extractive']:,}")
        if data.get("model_failed"):
            table.add_row(
                "quoted: model failed",
                Text(f"{data['model_failed']:,} (\"model_error\" in the output)", style="yellow"),
            )
        lat = data["latency_ms"]
        table.add_row("latency p50 / p95", f"{lat['p50'] / 1000:.2f} s / {lat['p95'] / 1000:.2f} s")
    tokens = data["tokens"]
    table.add_row("tokens (prompt + completion)", f"{tokens['prompt']:,} + {tokens['completion']:,}")
    table.add_row("cost", f"${data['cost_usd']:.4f}")
    table.add_row("time", f"{data['seconds']:.1f} s · {data['questions_per_min']:,.1f} q/min")
    table.add_row("model · workers", text(f"{data['model']} · {data['concurrency']}"))
    err.print(table)
    for item in data["errors"][:5]:
        print_error(f"{item['id']}: {item['error']}")
    if len(data["errors"]) > 5 or data["failed"] > len(data["errors"][:5]):
        err.print(text(f'(all failures are in {data["output"]} with "status": "error"; --resume retries them)'))


def _write_summary(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        print_error(f"--summary-json {path}: cannot write it ({exc.strerror or exc})")


def _report_input(batch: BatchInput) -> None:
    for line, reason in batch.invalid:
        print_error(f"{batch.name} line {line}: {reason} (skipped)")
    if batch.duplicates:
        lines = ", ".join(str(d.line) for d in batch.duplicates[:10])
        more = ", …" if len(batch.duplicates) > 10 else ""
        print_warning(f"{len(batch.duplicates)} repeated question(s) answered once (lines {lines}{more})")


def _plan_output(out: str, batch: BatchInput, *, resume: bool, overwrite: bool) -> ResumePlan | None:
    from agent.batch.output import plan_resume

    if out == STDIN:
        if resume:
            raise UsageError("--resume needs an answers file, not --out -")
        return None
    path = Path(out)
    if path.is_dir():
        raise UsageError(f"--out {out}: is a directory")
    if not path.parent.is_dir():
        raise UsageError(f"--out {out}: no such directory {path.parent}")
    if batch.name != "<stdin>" and path.exists() and path.resolve() == Path(batch.name).resolve():
        raise UsageError("--out is the input file: write the answers somewhere else")
    if resume:
        return plan_resume(path, batch.jobs)
    if not overwrite and path.exists() and path.stat().st_size > 0:
        raise UsageError(f"--out {out} already has answers: pass --resume to continue it, or --overwrite to start over")
    return None


def batch(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="INPUT", help="Questions: .txt, .jsonl or .csv; - for stdin.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Answers file (JSONL); - for stdout.")],
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-j",
            min=1,
            max=256,
            help="Questions in flight for API models [PAPERBRIEF_CONCURRENCY]; the local model uses 2.",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip questions already answered in --out; retry failed ones.")
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start --out afresh if it exists.")] = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Chat model name, or a .gguf file for a local model.")
    ] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="Papers to retrieve per question.")] = 6,
    fmt: Annotated[
        str, typer.Option("--format", help=f"Input format: {', '.join(FORMATS)} (auto: from the name or content).")
    ] = "auto",
    summary_json: Annotated[
        Path | None, typer.Option("--summary-json", help="Also write the final summary as JSON here.")
    ] = None,
) -> None:
    """Answer every question in INPUT, one JSON line each in --out, as they finish.

    Exit code 0 when every question is answered, 1 when any failed (or an input line
    was unusable), 2 when the input or options cannot be used at all.
    """
    from agent.batch.output import JsonlWriter, apply_resume
    from agent.batch.run import BatchRun, workers_for
    from agent.batch.stats import exit_code, summary
    from agent.cli.context import state
    from agent.runtime import ask_options, build_llm

    settings = state(ctx).settings
    lo, hi = parse_window(since, until)
    if resume and overwrite:
        raise UsageError("--resume and --overwrite contradict each other")
    batch_input = read_input(source, fmt=fmt)
    _report_input(batch_input)
    if not batch_input.jobs:
        raise UsageError(f"{batch_input.name}: no usable questions ({len(batch_input.invalid)} bad lines)")
    plan = _plan_output(out, batch_input, resume=resume, overwrite=overwrite)
    options = ask_options(settings, k=k, since=lo, until=hi)
    with open_index(ctx) as index:
        if index.catalog.count_papers() == 0:
            raise UsageError("the index is empty: run `paperbrief ingest PATH...` first")
        llm = build_llm(settings, model)
        out_path = None if out == STDIN else Path(out)
        try:
            if out_path is not None and plan is not None:
                apply_resume(out_path, plan)
            elif out_path is not None and overwrite:
                out_path.write_bytes(b"")
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot rewrite it ({exc.strerror or exc})") from None
        pending = plan.pending(batch_input.jobs) if plan else batch_input.jobs
        workers = workers_for(llm, concurrency or settings.llm.concurrency)
        if concurrency and workers < concurrency and llm.provider == "local":
            print_warning(f"the local model answers one question at a time: using {workers} workers, not {concurrency}")
        try:
            writer = JsonlWriter(out_path)
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
        interrupted, write_error = False, None
        with writer:
            progress = BatchProgress(len(pending), already=len(plan.done) if plan else 0)
            run = BatchRun(
                pending,
                index=index,
                llm=llm,
                writer=writer,
                options=options,
                concurrency=workers,
                prices=settings.llm.prices,
                on_result=progress,
            )
            try:
                with progress:
                    run.run()
            except KeyboardInterrupt:
                interrupted = True
            except OSError as exc:  # the answers file cannot take more lines (a full disk)
                write_error = f"cannot write to {out}: {exc.strerror or exc}; --resume continues"
        data = summary(
            batch_input,
            run.stats,
            plan=plan,
            output=out,
            model=llm.name,
            workers=run.workers,
            load_s=run.load_s,
            interrupted=interrupted,
        )
    if interrupted:
        err.print(f"interrupted: {run.stats.done} of {len(pending)} answered; --resume continues")
    _print_summary(data)
    if summary_json is not None:
        _write_summary(summary_json, data)
    if write_error:
        print_error(write_error)
    code = exit_code(batch_input, run.stats, interrupted=interrupted)
    if run.abandoned:
        _exit_now(code)
    if code:
        raise typer.Exit(code)


def _exit_now(code: int) -> None:
    """Leave without finalizing the interpreter: workers abandoned after an interrupt may be
    inside native code (an HTTP read, Chroma, onnxruntime), and tearing the runtime down
    under them can crash the process. Everything of ours is already written and closed."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``paperbrief`` app."""
    app.command()(batch)
