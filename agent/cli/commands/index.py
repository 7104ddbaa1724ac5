"""Index commands: ``ingest``, ``papers list|show``, ``stats`` and ``search``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from agent.cli.console import (
    UsageError,
    err,
    make_progress,
    out,
    parse_window,
    print_error,
    print_json,
    print_warning,
    status,
)
from agent.cli.locking import NoWaitFlag, say_waiting
from agent.safe_text import markup, text

if TYPE_CHECKING:  # the store (bm25s, numpy, chunking) loads inside the commands that use it
    from rich.progress import TaskID

    from store.index import Index
    from store.ingest import IngestReport, Progress
    from store.papers import Paper

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="First listing day, YYYY-MM-DD.")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Last listing day, YYYY-MM-DD.")]


def open_index(ctx: typer.Context) -> Index:
    from agent.cli.context import state
    from agent.runtime import open_index as _open

    return _open(state(ctx).settings)


class IngestProgress:
    """Renders ingest's progress ticks as rich bars: files, then papers and chunks."""

    def __init__(self, enabled: bool) -> None:
        self.bar = make_progress(disable=not enabled)
        self.tasks: dict[str, TaskID] = {}
        self.started = time.perf_counter()

    def __enter__(self) -> IngestProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def __call__(self, tick: Progress) -> None:
        labels = {
            "parse": "Parsing files",
            "catalog": "Cataloguing papers",
            "index": "Updating BM25",
            "embed": "Embedding chunks",
        }
        if tick.stage not in self.tasks:
            self.started = time.perf_counter()
            self.tasks[tick.stage] = self.bar.add_task(labels[tick.stage], total=tick.total, rate="")
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        rate = ""
        if tick.stage == "catalog" and tick.done:
            rate = f"{tick.done / elapsed:,.0f} papers/s · searchable as they land"
        elif tick.stage == "embed" and tick.chunks:
            rate = f"{tick.chunks / elapsed:,.1f} chunks/s · {tick.chunks:,} chunks"
        self.bar.update(self.tasks[tick.stage], completed=tick.done, total=tick.total, rate=rate)


def print_report(report: IngestReport, total: int) -> None:
    for _, reason in report.skipped:
        print_error(reason)
    for change in report.title_changes:
        print_warning(change)
    if not report.changed and not report.skipped:
        err.print(
            f"Index unchanged: all {report.unchanged:,} papers were already up to date "
            f"({total:,} papers indexed)."
        )
        return
    table = Table(title="Ingest summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("new papers", f"{report.new:,}")
    table.add_row("updated", f"{report.updated:,}")
    table.add_row("unchanged", f"{report.unchanged:,}")
    table.add_row("skipped files", f"{len(report.skipped):,}")
    table.add_row("chunks embedded", f"{report.chunks_written:,}")
    if report.chunks_pending:
        table.add_row("chunks without vectors", f"{report.chunks_pending:,} (`paperbrief index embed`)")
    table.add_row("papers in index", f"{total:,}")
    table.add_row("time", f"{report.seconds:.1f} s")
    err.print(table)


def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    year: Annotated[
        int | None, typer.Option("--year", help="Year of HF listing pages (their date lines have none).")
    ] = None,
    lexical_only: Annotated[
        bool,
        typer.Option(
            "--lexical-only",
            help="Catalog and BM25 only (minutes for a big dump); `paperbrief index embed` adds the vectors later.",
        ),
    ] = False,
    json_out: JsonFlag = False,
    no_wait: NoWaitFlag = False,
) -> None:
    """Parse paper files and add them to the index (safe to re-run).

    Papers are searchable by keyword as soon as they are catalogued; their vectors follow in the same run.
    """
    if year is not None and not 1990 <= year <= 2100:
        raise UsageError(f"--year {year} is not a plausible listing year")
    from store.intake import add_files

    with open_index(ctx) as index, IngestProgress(enabled=not json_out) as progress:
        report = add_files(
            index, paths, year=year, lexical_only=lexical_only, wait=not no_wait, on_wait=say_waiting,
            on_progress=progress,
        )
        total = index.catalog.count_papers()
    if json_out:
        for _, reason in report.skipped:  # scripts read stdout; people still see why
            print_error(reason)
        for change in report.title_changes:
            print_warning(change)
        print_json({**report.to_json(), "papers_in_index": total})
    else:
        print_report(report, total)
    if report.skipped:
        raise typer.Exit(2)


def stats(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """How many papers, chunks and vectors the index holds, and where."""
    with open_index(ctx) as index:
        data = index.stats()
    if json_out:
        print_json(data)
        return
    table = Table(show_header=False, title="paperbrief index", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in data.items():
        shown = ", ".join(f"{k} {v:,}" for k, v in value.items()) if isinstance(value, dict) else value
        table.add_row(key.replace("_", " "), text(f"{shown:,}" if isinstance(shown, int) else str(shown or "–")))
    out.print(table)


def _paper_row(p: Paper) -> dict[str, object]:
    return {
        "paper_id": p.id,
        "title": p.title,
        "date": p.display_date.isoformat() if p.display_date else None,
        "listing_dates": [d.isoformat() for d in p.listing_dates],
        "upvotes": p.upvotes,
        "url": p.url,
    }


papers_app = typer.Typer(help="Browse indexed papers.", no_args_is_help=True)


@papers_app.command("list")
def papers_list(
    ctx: typer.Context,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1)] = None,
    for_me: Annotated[
        bool, typer.Option("--for-me", help="Closest to your interests and stars first, with why.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Indexed papers, newest listing first, optionally within a listing-date window."""
    lo, hi = parse_window(since, until)
    why: dict[str, tuple[float, str]] = {}
    with open_index(ctx) as index:
        papers = index.catalog.list_papers(lo, hi, None if for_me else limit)
        if for_me:
            papers, why = _for_me(index, papers, limit)
    if json_out:
        rows = [_paper_row(p) for p in papers]
        for row in rows:
            if row["paper_id"] in why:
                row["score"], row["why"] = round(why[str(row["paper_id"])][0], 4), why[str(row["paper_id"])][1]
        print_json(rows)
        return
    table = Table(title=f"{len(papers):,} papers", title_justify="left")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("listed", no_wrap=True)
    table.add_column("title")
    table.add_column("▲", justify="right")
    if for_me:
        table.add_column("why")
    for p in papers:
        listed = ", ".join(d.strftime("%b %d") for d in p.listing_dates) or "–"
        cells = [text(p.id), Text(listed), text(p.title), Text(str(p.upvotes) if p.upvotes is not None else "")]
        table.add_row(*cells, *([text(why.get(p.id, (0.0, ""))[1])] if for_me else []))
    out.print(table)


def _for_me(index: Index, papers: list[Paper], limit: int | None) -> tuple[list[Paper], dict[str, tuple[float, str]]]:
    """``papers`` by the reader's affinity (the brief's "For you" score), best first."""
    from store.affinity import Affinity

    affinity = Affinity.for_index(index)
    if affinity is None:
        raise UsageError(
            'papers list --for-me: no interests or stars yet; add some with `paperbrief interests set "TOPIC"`'
        )
    matches = affinity.score_papers(index, papers)
    ranked = sorted(zip(papers, matches, strict=True), key=lambda pm: (-pm[1].score, pm[0].id))[:limit]
    return [p for p, _ in ranked], {p.id: (m.score, m.why) for p, m in ranked}


@papers_app.command("show")
def papers_show(
    ctx: typer.Context,
    paper_id: Annotated[str, typer.Argument(help="Paper id (arXiv id or t-… title hash).")],
    json_out: JsonFlag = False,
) -> None:
    """One paper in full."""
    with open_index(ctx) as index:
        paper = index.catalog.get(paper_id.strip())
        if paper is None:
            close = index.catalog.search_titles(paper_id, limit=5)
            hint = "; did you mean " + ", ".join(p.id for p in close) if close else ""
            raise UsageError(f"no paper with id {paper_id!r} in the index{hint}")
    if json_out:
        print_json(paper.to_json())
        return
    out.print(text(paper.title, "bold"))
    out.print(Text.assemble(text(paper.id, "cyan"), "  ", text(paper.url or "")))
    if paper.authors:
        out.print(text(", ".join(paper.authors)))
    meta = [f"published {paper.published}" if paper.published else ""]
    meta.append("listed " + ", ".join(d.isoformat() for d in paper.listing_dates))
    if paper.upvotes is not None:
        meta.append(f"{paper.upvotes} upvotes")
    out.print(text(" · ".join(m for m in meta if m), "dim"))
    if paper.keywords:
        out.print(text("keywords: " + ", ".join(paper.keywords), "dim"))
    if paper.previous_titles:
        out.print(text("also seen as: " + " · ".join(paper.previous_titles), "dim"))
    out.print()
    out.print(text(paper.abstract))
    out.print(text(f"\nsources: {', '.join(paper.sources)}", "dim"))


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    k: Annotated[
        int | None, typer.Option("-k", min=1, max=1000, help="How many papers [PAPERBRIEF_TOP_K, default 10].")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Hybrid (BM25 + dense) search over the indexed papers."""
    from agent.cli.context import state

    k = k or state(ctx).settings.retrieval.top_k
    from store.retrieve import search as hybrid_search

    lo, hi = parse_window(since, until)
    if not query.strip():
        raise UsageError("the search query is empty")
    with open_index(ctx) as index:
        if index.catalog.count_papers() == 0:
            raise UsageError("the index is empty: run `paperbrief ingest PATH...` first")
        with status("Searching…", disable=json_out):
            hits = hybrid_search(index, query, k=k, since=lo, until=hi)
        coverage = index.dense_coverage()
    if json_out:
        print_json({"query": query, "dense_coverage": coverage, "hits": [h.to_json() for h in hits]})
        return
    if coverage < 1.0:
        err.print(
            f"Dense vectors cover {coverage:.0%} of the index; the rest is found by keywords only "
            "(`paperbrief index embed` fills them in).",
            highlight=False,
        )
    if not hits:
        err.print("No matching papers.")
        return
    table = Table(show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("paper")
    for i, h in enumerate(hits, 1):
        body = (
            f"[bold]{markup(h.title)}[/]\n[cyan]{markup(h.paper_id)}[/] · {h.date or ''}\n[dim]{markup(h.snippet)}[/]"
        )
        table.add_row(str(i), f"{h.score:.3f}", body)
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(stats)
    app.command()(search)
    app.add_typer(papers_app, name="papers")
