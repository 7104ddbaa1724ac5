"""``paperbrief index embed``: fill in the dense vectors that a ``--lexical-only`` ingest left out.

Its own group so that other index maintenance commands can join ``paperbrief index``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agent.cli.commands.index import IngestProgress, JsonFlag, open_index
from agent.cli.console import err, print_json

index_app = typer.Typer(help="Maintain the index: vectors, checks.", no_args_is_help=True)


@index_app.command("embed")
def embed(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Embed at most this many chunks this run.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Embed every chunk that has no vector yet (resumable: a killed run loses at most one batch)."""
    import time

    from store.ingest import embed_pending

    started = time.perf_counter()
    with open_index(ctx) as index, IngestProgress(enabled=not json_out) as progress:
        written = embed_pending(index, on_progress=progress, limit=limit)
        pending = index.catalog.count_pending()
        coverage = index.dense_coverage()
    seconds = time.perf_counter() - started
    if json_out:
        print_json({"chunks_written": written, "chunks_pending": pending, "dense_coverage": coverage,
                    "seconds": round(seconds, 3)})
        return
    rate = f" ({written / seconds:,.1f} chunks/s)" if written and seconds > 0 else ""
    err.print(
        f"Embedded {written:,} chunks in {seconds:.1f} s{rate}; dense coverage {coverage:.1%}"
        + (f", {pending:,} chunks still pending." if pending else "."),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")
