"""``paperbrief ask``: a grounded, cited answer streamed to the terminal."""

from __future__ import annotations

from itertools import chain
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from agent.cli.commands.index import JsonFlag, SinceOpt, UntilOpt, open_index
from agent.cli.console import UsageError, out, parse_window, print_json, print_warning, status
from agent.safe_text import markdown_answer, plain, text

if TYPE_CHECKING:  # the pipeline and the model load inside the command (see commands/__init__)
    from agent.ask.pipeline import AskOptions
    from agent.llm.base import LLM
    from agent.settings import Settings
    from agent.types import Answer
    from store.index import Index

#: The compact per-sentence support marker: a glyph a reader can scan, plus its meaning in the legend.
MARKS = {"supported": ("✓", "green"), "weak": ("~", "yellow"), "unsupported": ("✗", "bold red")}


def sentences_text(answer: Answer, *, quotes: bool = False) -> Text:
    """The answer sentence by sentence, each followed by its citations and a support marker; with ``quotes``,
    each sentence the model rewrote on its own line with its quote below it (the checks cannot see every
    misstatement: the quote is what the reader trusts).

    Built with ``Text.append`` so the model's words are shown as text, never parsed as markup.
    """
    text = Text()
    quoted = answer.mode == "extractive"
    if quoted:
        from agent.checks.extractive import LABEL

        text.append(LABEL + "\n", style="dim")
    for s in answer.sentences:
        if quoted:
            text.append("- ")
        words = plain(s.text)  # bidi and invisible characters never reach the terminal
        text.append(f"“{words}”" if s.mode == "extractive" else words)
        text.append("".join(f" [{n}]" for n in s.citations), style="bold cyan")
        if s.support is not None:
            glyph, style = MARKS[s.support.verdict]
            text.append(f" {glyph}", style=style)
        if quotes and s.mode == "quote-then-write" and s.quote:
            text.append(f"\n   ↳ “{plain(s.quote)}”", style="dim")
        text.append("\n" if quoted or quotes else " ")
    return text


def support_line(answer: Answer) -> Text | None:
    """``support: 2 ✓ supported · 1 ~ weak · 0 ✗ unsupported (embedding:…)``, or None without sentences."""
    scored = [s.support for s in answer.sentences if s.support is not None]
    if not scored:
        return None
    line = Text("support: ", style="dim")
    for verdict, (glyph, style) in MARKS.items():
        line.append(f"{sum(v.verdict == verdict for v in scored)} {glyph} {verdict}  ", style=style)
    line.append(f"({scored[0].scorer})", style="dim")
    return line


def render_answer(answer: Answer, *, quotes: bool = False) -> Group:
    """The final answer, its sources list and a footer naming the model and mode."""
    from rich.markdown import Markdown  # markdown-it costs ~0.1 s of start-up: only when answering

    from agent.types import run_footer

    by_sentence = answer.sentences and not answer.abstained
    body: object = sentences_text(answer, quotes=quotes) if by_sentence else Markdown(markdown_answer(answer.text))
    parts: list[object] = [body]
    if (line := support_line(answer)) is not None and not answer.abstained:
        parts.append(line)
    if answer.citations or answer.abstained:
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold cyan", justify="right")
        table.add_column()
        shown = answer.citations or []
        for c in shown:
            table.add_row(Text(f"[{c.n}]"), text(f"{c.title} · {c.date or ''} · {c.paper_id}"))
        if answer.abstained and answer.retrieved:
            parts.append(Text("\nClosest papers found:", style="bold"))
            for h in answer.retrieved[:5]:
                table.add_row("·", text(f"{h.title} · {h.date or ''} · {h.paper_id}"))
        elif shown:
            parts.append(Text("\nSources:", style="bold"))
        parts.append(table)
    footer = run_footer(plain(answer.model), answer.mode, answer.usage, answer.cost_usd, answer.latency_ms)
    parts.append(Text("\n" + footer, style="dim"))
    return Group(*parts)  # type: ignore[arg-type]


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="Your question about the indexed papers.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="Papers to retrieve.")] = 6,
    since: SinceOpt = None,
    until: UntilOpt = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Chat model name, or a .gguf file for a local model.")
    ] = None,
    json_out: JsonFlag = False,
    quotes: Annotated[
        bool, typer.Option("--quotes", help="Show the source sentence under each sentence the model rewrote.")
    ] = False,
) -> None:
    """Answer a question from the indexed papers, with numbered citations."""
    from agent.cli.context import state
    from agent.runtime import ask_options, build_llm

    settings = state(ctx).settings
    lo, hi = parse_window(since, until)
    if not question.strip():
        raise UsageError("the question is empty")
    options = ask_options(settings, k=k, since=lo, until=hi)
    with open_index(ctx) as index:
        if index.catalog.count_papers() == 0:
            raise UsageError("the index is empty: run `paperbrief ingest PATH...` first")
        llm = build_llm(settings, model)
        answer = _run(
            question, index, llm, options, settings,
            live=not json_out and out.is_terminal, show=not json_out, quotes=quotes,
        )
    if json_out:
        print_json(answer.to_json())
        return
    for warning in answer.warnings:
        print_warning(warning)


def _run(
    question: str,
    index: Index,
    llm: LLM,
    options: AskOptions,
    settings: Settings,
    *,
    live: bool,
    show: bool,
    quotes: bool = False,
) -> Answer:
    """Drive the answer's events: a live-updating view on a terminal, the final render otherwise."""
    from rich.live import Live
    from rich.markdown import Markdown

    from agent.ask.pipeline import ask_events
    from agent.types import Done, Notice, Retrieved, Token

    events = ask_events(question, index=index, llm=llm, options=options, prices=settings.llm.prices)
    with status("Retrieving…", disable=not live):
        first = next(events)
    streamed: list[str] = []
    answer: Answer | None = None
    view = Live(Text(""), console=out, refresh_per_second=12) if live else None
    if view:
        view.start()
    try:
        for event in chain([first], events):
            if isinstance(event, Retrieved) and view:
                view.update(Text(f"Reading {len(event.sources)} sources with {llm.name}…", style="dim"))
            elif isinstance(event, Token):
                streamed.append(event.text)
                if view:
                    view.update(Markdown(markdown_answer("".join(streamed))))
            elif isinstance(event, Notice):
                print_warning(event.message)
            elif isinstance(event, Done):
                answer = event.answer
                if view:  # replace the raw stream with the checked answer
                    view.update(render_answer(answer, quotes=quotes))
    finally:
        if view:
            view.stop()
    assert answer is not None
    if show and not view:
        out.print(render_answer(answer, quotes=quotes))
    return answer


def register(app: typer.Typer) -> None:
    app.command()(ask)
