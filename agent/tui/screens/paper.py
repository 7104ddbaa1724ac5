"""A paper in full, over whatever screen opened it: title, authors, dates, abstract, link."""

from __future__ import annotations

import re
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown, Static

from agent.safe_text import markdown_literal, markdown_parser
from store.papers import Paper

_PLAIN_URL = re.compile(r"https?://[^\s<>\\`\x00-\x1f\x7f-\x9f]+")


def paper_markdown(paper: Paper) -> str:
    """The paper as Markdown; shared with exports so a paper reads the same everywhere."""
    lines = [f"# {markdown_literal(paper.title)}", ""]
    if paper.authors:
        lines += [markdown_literal(", ".join(paper.authors)), ""]
    facts = [f"**{markdown_literal(paper.id)}**"]
    if paper.published:
        facts.append(f"published {paper.published.isoformat()}")
    if paper.listing_dates:
        facts.append("listed " + ", ".join(d.isoformat() for d in paper.listing_dates))
    if paper.upvotes is not None:
        facts.append(f"▲ {paper.upvotes}")
    lines += [" · ".join(facts), ""]
    if paper.url:
        safe_url = _PLAIN_URL.fullmatch(paper.url)
        lines += [f"<{paper.url}>" if safe_url else markdown_literal(paper.url), ""]
    if paper.keywords:
        lines += ["_" + markdown_literal(", ".join(paper.keywords)) + "_", ""]
    lines += ["---", "", markdown_literal(paper.abstract) if paper.abstract else "_No abstract._"]
    return "\n".join(lines)


class PaperScreen(ModalScreen[None]):
    """Read one paper; Esc goes back to where you were."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("o", "open_link", "Open link"),
        Binding("y", "copy", "Copy citation"),
    ]

    def __init__(self, paper: Paper) -> None:
        super().__init__(classes="paper-screen")
        self.paper = paper

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog paper-dialog"):
            yield Markdown(
                paper_markdown(self.paper), open_links=False, id="paper-body", parser_factory=markdown_parser
            )
            yield Static("Esc close · o open link · y copy citation", classes="dialog-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(".paper-dialog").focus()

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        self.app.open_url(event.href)

    def action_open_link(self) -> None:
        if self.paper.url:
            self.app.open_url(self.paper.url)
            self.notify(f"Opening {self.paper.url}")
        else:
            self.notify("This paper has no link.", severity="warning")

    def action_copy(self) -> None:
        authors = ", ".join(self.paper.authors[:3]) + (" et al." if len(self.paper.authors) > 3 else "")
        year = self.paper.display_date.year if self.paper.display_date else ""
        cite = f"{authors} ({year}). {self.paper.title}. {self.paper.url or self.paper.id}".strip()
        self.app.copy_to_clipboard(cite)
        self.notify("Citation copied to the clipboard.")
