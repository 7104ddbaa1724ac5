"""``paperbrief fetch hf|arxiv``: pull listings from the live APIs and ingest them."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli.commands.index import IngestProgress, JsonFlag, open_index, print_report
from agent.cli.console import UsageError, make_progress, parse_day, print_json
from agent.cli.locking import NoWaitFlag, say_waiting

if TYPE_CHECKING:
    from store.papers import Paper

fetch_app = typer.Typer(help="Fetch papers from Hugging Face or arXiv and ingest them.", no_args_is_help=True)


def _settings(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from agent.cli.context import state

    return state(ctx).settings


def _ingest(
    ctx: typer.Context, papers: list[Paper], json_out: bool, fetched: dict[str, object], no_wait: bool
) -> None:
    from store.intake import add_papers

    with open_index(ctx) as index, IngestProgress(enabled=not json_out) as progress:
        report = add_papers(
            index, papers, what="fetch", wait=not no_wait, on_wait=say_waiting, on_progress=progress
        )
        total = index.catalog.count_papers()
    if json_out:
        print_json({"fetched": fetched, **report.to_json(), "papers_in_index": total})
    else:
        print_report(report, total)


@fetch_app.command("hf")
def fetch_hf(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", help="One listing day, YYYY-MM-DD.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="First listing day.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last listing day (default today).")] = None,
    json_out: JsonFlag = False,
    no_wait: NoWaitFlag = False,
) -> None:
    """Hugging Face Daily Papers for a day or a range of days."""
    from store.sources.fetch_hf import days_between, fetch_hf_days

    if (day is None) == (since is None):
        raise UsageError("give exactly one of --date D or --since D [--until D]")
    days: list[date | None]
    if day is not None:
        days = [parse_day(day, "--date")]
    else:
        lo = parse_day(since, "--since")
        hi = parse_day(until, "--until") or date.today()
        assert lo is not None
        if lo > hi:
            raise UsageError(f"--since {lo} is after --until {hi}")
        days = list(days_between(lo, hi))
    config = _settings(ctx).store_config().http
    papers: list[Paper] = []
    per_day: dict[str, int] = {}
    with make_progress(disable=json_out) as bar:
        task = bar.add_task("Fetching HF daily papers", total=len(days), rate="")
        for listing_day, found in fetch_hf_days(config, [d for d in days if d]):
            papers.extend(found)
            per_day[listing_day.isoformat()] = len(found)
            bar.update(task, advance=1, rate=f"{len(papers):,} papers")
    _ingest(ctx, papers, json_out, {"source": "hf", "days": per_day}, no_wait)


@fetch_app.command("arxiv")
def fetch_arxiv(
    ctx: typer.Context,
    category: Annotated[str, typer.Option("--category", help="arXiv category, e.g. cs.CL.")],
    since: Annotated[str, typer.Option("--since", help="First submission day, YYYY-MM-DD.")],
    until: Annotated[str | None, typer.Option("--until", help="Last submission day.")] = None,
    max_results: Annotated[int | None, typer.Option("--max", min=1, help="Stop after this many.")] = None,
    json_out: JsonFlag = False,
    no_wait: NoWaitFlag = False,
) -> None:
    """arXiv API listing of a category since a day, page by page."""
    from store.sources.fetch_arxiv import fetch_arxiv as fetch_pages

    lo = parse_day(since, "--since")
    hi = parse_day(until, "--until")
    assert lo is not None
    if hi and lo > hi:
        raise UsageError(f"--since {lo} is after --until {hi}")
    config = _settings(ctx).store_config().http
    papers: list[Paper] = []
    with make_progress(disable=json_out) as bar:
        task = bar.add_task(f"Fetching arXiv {category}", total=None, rate="")
        try:
            for page in fetch_pages(config, category=category, since=lo, until=hi, max_results=max_results):
                papers.extend(page)
                bar.update(task, advance=len(page), rate=f"{len(papers):,} papers")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    _ingest(ctx, papers, json_out, {"source": "arxiv", "category": category, "papers": len(papers)}, no_wait)


def register(app: typer.Typer) -> None:
    app.add_typer(fetch_app, name="fetch")
