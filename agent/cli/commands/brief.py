"""``paperbrief brief``: the weekly "what's new" brief, to the terminal or a file.

Bad input (an unparseable week or date, an empty window while offline, an
``--out`` folder that is missing or read-only) is one line and exit code 2, and
never touches an existing output file: the brief is written to a temporary file
beside it and renamed over it only once complete.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli.commands.index import open_index
from agent.cli.console import UsageError, err, make_progress, out, print_warning
from agent.safe_text import plain

if TYPE_CHECKING:  # the brief (scikit-learn, jinja2, the model) loads inside the command
    from rich.progress import TaskID

    from agent.brief.render import BriefFormat
    from agent.brief.types import Brief, BriefEvent

_SUFFIX_FORMAT = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json"}


def output_format(fmt: str | None, path: Path | None) -> BriefFormat:
    """``--format`` when given, else from ``--out``'s suffix, else Markdown."""
    from agent.brief.render import FORMATS

    if fmt is not None:
        value = fmt.strip().lower()
        if value not in FORMATS:
            raise UsageError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
        return value  # type: ignore[return-value]
    if path is not None:
        return _SUFFIX_FORMAT.get(path.suffix.lower(), "md")  # type: ignore[return-value]
    return "md"


def check_output_path(path: Path) -> Path:
    """Fail before any work when the brief could not be written to ``path``."""
    target = path.expanduser()
    if target.is_dir():
        raise UsageError(f"--out {path}: is a folder; name a file in it")
    folder = target.parent
    if not folder.exists():
        raise UsageError(f"--out {path}: folder {folder} does not exist")
    if not folder.is_dir():
        raise UsageError(f"--out {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--out {path}: folder {folder} is read-only")
    return target


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``.

    A failure at any point leaves an existing ``path`` exactly as it was.
    """
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot write the brief ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


class BriefProgress:
    """Renders the pipeline's stage events as rich progress bars on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.bar = make_progress(disable=not enabled)
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> BriefProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def __call__(self, event: BriefEvent) -> None:
        from agent.brief.types import Progressed, Stage
        from agent.types import Notice

        if isinstance(event, Stage):
            self.tasks[event.name] = self.bar.add_task(event.label, total=max(event.total, 1), rate="")
        elif isinstance(event, Progressed) and event.name in self.tasks:
            self.bar.update(self.tasks[event.name], advance=event.advance, rate=event.detail)
        elif isinstance(event, Notice):
            print_warning(event.message)


def brief(
    ctx: typer.Context,
    week: Annotated[str | None, typer.Option("--week", help="ISO week, e.g. 2026-W11.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="First listing day, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last listing day, YYYY-MM-DD.")] = None,
    last_week: Annotated[bool, typer.Option("--last-week", help="The ISO week before this one.")] = False,
    out_path: Annotated[Path | None, typer.Option("--out", help="Write to this file (else stdout).")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="md (default), html or json; default from --out's suffix.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Chat model name, or a .gguf file for a local model.")
    ] = None,
    tldrs: Annotated[
        str, typer.Option("--tldrs", help="auto, model (every paper by the model) or extractive (no model).")
    ] = "auto",
    no_fetch: Annotated[
        bool, typer.Option("--no-fetch", help="Never fetch an empty window from Hugging Face.")
    ] = False,
    for_everyone: Annotated[
        bool, typer.Option("--for-everyone", help="Ignore your interests and stars (no \"For you\" ranking).")
    ] = False,
) -> None:
    """Write the brief of what was listed in a week: themes, TL;DRs, papers to read first, trends.

    Without a window option: the ISO week of the newest listing in the index.
    """
    from agent.brief.pipeline import BriefOptions, brief_events
    from agent.brief.render import render
    from agent.brief.weeks import resolve_window
    from agent.cli.context import state
    from agent.runtime import build_llm

    settings = state(ctx).settings
    kind = output_format(fmt, out_path)
    target = check_output_path(out_path) if out_path is not None else None
    if tldrs not in ("auto", "model", "extractive"):
        raise UsageError(f"--tldrs: {tldrs!r} is not one of auto, model, extractive")
    with open_index(ctx) as index:
        latest = index.catalog.listing_range()[1]
        window = resolve_window(week=week, since=since, until=until, last_week=last_week, latest_listing=latest)
        llm = build_llm(settings, model)
        options = BriefOptions(
            fetch=not no_fetch, concurrency=settings.llm.concurrency, tldrs=tldrs,  # type: ignore[arg-type]
            for_everyone=for_everyone,
        )
        result = _run(brief_events(window, index=index, llm=llm, options=options, prices=settings.llm.prices))
    text = render(result, kind)
    if target is None:
        if kind == "md" and out.is_terminal:
            from rich.markdown import Markdown

            out.print(Markdown(plain(text)))
        else:
            sys.stdout.write(plain(text))
            sys.stdout.flush()
        return
    write_atomic(target, text)
    p = result.provenance
    err.print(
        f"Wrote the {kind} brief for {window.label}: {p.papers} papers in {p.themes} themes, "
        f"{p.llm_calls} LLM calls, {p.seconds:.1f} s → {target}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _run(events: object) -> Brief:
    from agent.brief.types import BriefDone

    result: Brief | None = None
    with BriefProgress(enabled=err.is_terminal) as progress:
        for event in events:  # type: ignore[attr-defined]
            progress(event)
            if isinstance(event, BriefDone):
                result = event.brief
    assert result is not None
    return result


def register(app: typer.Typer) -> None:
    """Add ``brief`` to the ``paperbrief`` app."""
    app.command()(brief)
