"""``paperbrief index check [--repair]``: catalog, Chroma and BM25 agree, and every vector is findable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from agent.cli.commands.backfill import index_app
from agent.cli.commands.index import JsonFlag, open_index
from agent.cli.console import err, make_progress, print_json
from agent.cli.locking import NoWaitFlag, writing
from agent.errors import ServiceError

if TYPE_CHECKING:  # bm25s and numpy load inside the command (see commands/__init__)
    from rich.progress import TaskID

    from store.check import IndexCheck


class IndexInconsistent(ServiceError):
    """``index check`` found the stores disagreeing and was not asked to repair them."""

    title = "Index inconsistent"
    hint = "run `paperbrief index check --repair`"


def _summary(found: IndexCheck) -> Table:
    table = Table(title="Index check", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("chunks in catalog", found.catalog_chunks),
        ("waiting for a vector (index embed)", found.pending_vectors),
        ("vectors in Chroma", found.vectors),
        ("chunks in BM25", found.bm25_chunks),
        ("missing from Chroma", len(found.missing_vectors)),
        ("orphans in Chroma", len(found.orphan_vectors)),
        ("stored but unfindable", len(found.unfindable_vectors)),
        ("missing from BM25", len(found.bm25_missing)),
        ("orphans in BM25", len(found.bm25_orphans)),
    ]
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    table.add_row("BM25 up to date", "no" if found.bm25_stale else "yes")
    return table


def index_check(
    ctx: typer.Context,
    repair: Annotated[
        bool, typer.Option("--repair", help="Re-embed what Chroma lacks, drop orphans, rebuild BM25.")
    ] = False,
    quick: Annotated[
        bool, typer.Option("--quick", help="Compare ids only; skip querying every vector with itself.")
    ] = False,
    json_out: JsonFlag = False,
    no_wait: NoWaitFlag = False,
) -> None:
    """Compare the catalog, Chroma and BM25; exit 1 if they disagree (0 once repaired)."""
    from store.check import check_index, repair_index

    with open_index(ctx) as index, make_progress(disable=json_out) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            label = {"findable": "Querying vectors", "repair": "Re-embedding"}[stage]
            if stage not in tasks:
                tasks[stage] = bar.add_task(label, total=total, rate="")
            bar.update(tasks[stage], completed=done, total=total)

        found = check_index(index, findable=not quick, on_progress=progress)
        repaired = 0
        after: IndexCheck | None = None
        if repair and not found.ok:
            with writing(index, "index repair", no_wait=no_wait):
                found = check_index(index, findable=not quick, on_progress=progress)  # now stable
                repaired = repair_index(index, found, on_progress=progress)
                after = check_index(index, findable=not quick, on_progress=progress)
    final = after or found
    if json_out:
        print_json({**found.to_json(), "repaired_chunks": repaired, "ok_after": final.ok})
    else:
        err.print(_summary(found))
        if after is not None:
            state = "consistent" if after.ok else "still inconsistent"
            err.print(f"Repaired: re-embedded {repaired:,} chunks, dropped "
                      f"{len(found.orphan_vectors):,} orphans; index {state}.")
        elif found.ok:
            err.print("Index consistent.")
    if not final.ok:
        raise IndexInconsistent(
            "the index is inconsistent (see the table); run `paperbrief index check --repair`"
            if after is None
            else "the index is still inconsistent after --repair; rerun with --debug and report it"
        )


def register(app: typer.Typer) -> None:
    """``check`` joins ``embed`` in the one ``paperbrief index`` group (registered by ``backfill``)."""
    index_app.command("check")(index_check)
