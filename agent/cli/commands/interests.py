"""Reader commands: ``interests set|list|clear`` and ``star`` / ``unstar``.

What the reader says they care about lives in the data dir (``store.interests``);
the brief ranks by it ("For you", unless ``brief --for-everyone``), and so do
``papers list --for-me`` and the TUI's sort.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from agent.cli.commands.index import JsonFlag, open_index
from agent.cli.console import UsageError, err, out, print_json
from store.interests import ReaderStore

interests_app = typer.Typer(help="What you care about: the brief and papers list rank by it.", no_args_is_help=True)


def _store(ctx: typer.Context) -> ReaderStore:
    from agent.cli.context import state

    return ReaderStore(state(ctx).settings.data_dir)


@interests_app.command("set")
def interests_set(
    ctx: typer.Context,
    texts: Annotated[list[str], typer.Argument(help='One or more interests, e.g. "test-time compute scaling".')],
) -> None:
    """Add interests (free text; several allowed, kept until `interests clear`)."""
    try:
        added = _store(ctx).add_interests(texts)
    except ValueError as exc:
        raise UsageError(f"interests set: {exc}") from None
    if not added and not any(t.strip() for t in texts):
        raise UsageError("interests set: give at least one non-empty interest")
    err.print(Text(f"{len(added)} interest(s) added; `paperbrief interests list` shows them all."))


@interests_app.command("list")
def interests_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Your interests and starred papers."""
    reader = _store(ctx).load()
    if json_out:
        print_json({"interests": list(reader.interests), "stars": list(reader.stars)})
        return
    if reader.empty:
        out.print(Text('No interests or stars yet: `paperbrief interests set "TOPIC"`, `paperbrief star ID`.'))
        return
    for text in reader.interests:
        out.print(Text(f"interest  {text}"))
    for paper_id in reader.stars:
        out.print(Text(f"star      {paper_id}"))


@interests_app.command("clear")
def interests_clear(ctx: typer.Context) -> None:
    """Forget every interest (stars stay)."""
    removed = _store(ctx).clear_interests()
    err.print(Text(f"{removed} interest(s) removed."))


def star(
    ctx: typer.Context, paper_id: Annotated[str, typer.Argument(help="Paper id (arXiv id or t-… title hash).")]
) -> None:
    """Star a paper: the brief and `papers list --for-me` rank papers like it first."""
    from store.papers import normalize_arxiv_id

    pid = normalize_arxiv_id(paper_id) or paper_id.strip()
    with open_index(ctx) as index:
        paper = index.catalog.get(pid)
    if paper is None:
        raise UsageError(f"star: no paper with id {paper_id!r} in the index")
    new = _store(ctx).star(paper.id)
    err.print(Text(f"{'Starred' if new else 'Already starred'}: {paper.title} ({paper.id})"))


def unstar(
    ctx: typer.Context, paper_id: Annotated[str, typer.Argument(help="Paper id of a starred paper.")]
) -> None:
    """Remove a star."""
    from store.papers import normalize_arxiv_id

    pid = normalize_arxiv_id(paper_id) or paper_id.strip()
    if not _store(ctx).unstar(pid):
        raise UsageError(f"unstar: {paper_id!r} is not starred")
    err.print(Text(f"Unstarred {pid}"))


def register(app: typer.Typer) -> None:
    """Add ``interests``, ``star`` and ``unstar`` to the ``paperbrief`` app."""
    app.add_typer(interests_app, name="interests")
    app.command()(star)
    app.command()(unstar)
