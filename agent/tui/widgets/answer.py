"""One chat turn: the question, then the answer streaming in, then its sources and footer.

While the model writes, tokens are appended through a ``MarkdownStream`` (which batches
fragments when they arrive faster than the widget can render). When the answer is done
its *checked* text replaces the raw stream: invalid citations removed, or an extractive
answer if the model's output failed the quality check. Citations become links, and the
sources list below is keyboard-navigable; either opens the paper.

Below the answer, every sentence is listed with its support marker (✓ supported, ~ weak,
✗ unsupported); highlighting one (keys, click or mouse hover) shows the closest sentence
of the source it cites, with the score, and Enter opens that source's paper. All of it is
built as ``Text``, never markup.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Markdown, OptionList, Static
from textual.widgets.markdown import MarkdownStream
from textual.widgets.option_list import Option

from agent.conversations import answer_meta
from agent.llm.base import Usage
from agent.safe_text import markdown_answer, markdown_parser, plain
from agent.safe_text import text as safe_text
from agent.types import Answer, run_footer

_CITE = re.compile(r"\[(\d{1,3})\]")
# While streaming, a URL may arrive split over fragments: every colon is escaped so no part becomes a link.
_UNLINKED_COLON = re.compile(r"(?<!\\):")
MARKS = {"supported": ("✓", "green"), "weak": ("~", "yellow"), "unsupported": ("✗", "bold red")}


def sentence_label(sentence: dict[str, Any]) -> Text:
    """One answer sentence as a list row: its support marker, the words, its citations (text, not markup)."""
    verdict = (sentence.get("support") or {}).get("verdict")
    glyph, style = MARKS.get(str(verdict), ("·", "dim"))
    text = Text(f"{glyph} ", style=style)
    body = plain(sentence.get("text", ""))
    text.append(f"“{body}”" if sentence.get("mode") == "extractive" else body)
    text.append("".join(f" [{n}]" for n in sentence.get("citations", [])), style="bold")
    return text


def support_detail(sentence: dict[str, Any]) -> Text:
    """What backs a sentence: the closest source sentence, its source number, the score and the verdict."""
    support = sentence.get("support") or {}
    if not support:
        return Text("No support score for this sentence.", style="dim")
    verdict = str(support.get("verdict", "?"))
    _, style = MARKS.get(verdict, ("·", "dim"))
    text = Text.assemble((f"{verdict} ", style), (f"(score {float(support.get('score', 0)):.2f}", "dim"))
    text.append(f", {sentence.get('mode', '?')}) ", style="dim")
    source = support.get("source")
    text.append(f"closest source sentence{f' [{source}]' if source else ''}: ", style="dim")
    text.append(f"“{plain(support.get('source_sentence', ''))}”")
    return text


def link_citations(text: str) -> str:
    """``[n]`` markers as Markdown links to ``cite:n``, so clicking one opens that source."""
    return _CITE.sub(lambda m: f"[[{m.group(1)}]](cite:{m.group(1)})", text)


def meta_line(meta: dict[str, Any], latency_ms: int | None) -> str:
    """The footer under an answer: model · mode · tokens · cost · time."""
    usage = meta.get("usage") or {}
    tokens = Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))
    model, mode = str(meta.get("model", "?")), str(meta.get("mode", "generative"))
    return run_footer(model, mode, tokens, float(meta.get("cost_usd") or 0.0), latency_ms)


class SentenceList(OptionList):
    """The answer's sentences; hovering one with the mouse highlights it (and so shows its support)."""

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        super()._on_mouse_move(event)
        hovered = self._mouse_hovering_over
        if hovered is not None and hovered != self.highlighted:
            self.highlighted = hovered


class QuestionView(Static):
    """The user's question, as a right-hand speech bubble."""

    def __init__(self, question: str, scope: str | None = None) -> None:
        text = safe_text(question)
        if scope:
            text.append(f"\n{scope}", style="dim italic")
        super().__init__(text, classes="question")


class AnswerView(Vertical):
    """An answer being written or already finished."""

    class CitationSelected(Message):
        """The user picked a source of this answer: open that paper."""

        def __init__(self, paper_id: str) -> None:
            super().__init__()
            self.paper_id = paper_id

    def __init__(self, *, show_latency: bool = True) -> None:
        super().__init__(classes="answer")
        self.show_latency = show_latency
        self.text = ""  # the final, checked answer text ("" while streaming)
        self.source_ids: list[str] = []  # the finished answer's sources, in [n] order (what a star key stars)
        self.streamed: list[str] = []
        self.meta: dict[str, Any] = {}
        self._stream: MarkdownStream | None = None
        self._by_n: dict[int, str] = {}
        self.question = ""  # the question this answers (for /save-case)
        self.sentences: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static("Searching the papers…", classes="answer-status", markup=False)
        yield Markdown("", open_links=False, classes="answer-body", parser_factory=markdown_parser)
        yield SentenceList(classes="answer-sentences")
        yield Static("", classes="answer-support", markup=False)
        yield Static("", classes="answer-sources-title", markup=False)
        yield OptionList(classes="answer-sources")
        yield Static("", classes="answer-meta", markup=False)

    @property
    def body(self) -> Markdown:
        return self.query_one(".answer-body", Markdown)

    @property
    def sources(self) -> OptionList:
        return self.query_one(".answer-sources", OptionList)

    def set_status(self, text: str) -> None:
        status = self.query_one(".answer-status", Static)
        status.update(text)
        status.display = bool(text)

    async def write(self, fragment: str) -> None:
        """Append streamed model output."""
        if self._stream is None:
            self.set_status("")
            self._stream = Markdown.get_stream(self.body)
        self.streamed.append(fragment)
        await self._stream.write(_UNLINKED_COLON.sub(r"\:", markdown_answer(fragment)))

    async def _stop_stream(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None

    async def finish(self, answer: Answer) -> None:
        self.source_ids = [s.paper_id for s in answer.sources]
        """Replace the raw stream with the checked answer and show its sources and footer."""
        self.question = answer.question
        await self.show_saved(answer.text, answer_meta(answer), answer.latency_ms if self.show_latency else None)
        if answer.warnings:
            self.set_status("⚠ " + "; ".join(answer.warnings))
            self.query_one(".answer-status", Static).add_class("warning")

    async def show_saved(self, text: str, meta: dict[str, Any], latency_ms: int | None = None) -> None:
        """Render a finished answer (live, or reopened from a saved conversation)."""
        await self._stop_stream()
        self.text, self.meta = text, meta
        self.set_status("")
        await self.body.update(link_citations(markdown_answer(text)))
        self._show_sentences([] if meta.get("abstained") else list(meta.get("sentences") or []))
        self._by_n = {int(s["n"]): str(s["paper_id"]) for s in meta.get("sources", [])}
        cited = [s for s in meta.get("sources", []) if s.get("cited")]
        options: list[Option] = []
        title = ""
        if cited:
            title = "Sources"
            for s in cited:
                options.append(Option(_source_label(f"[{s['n']}]", s), id=str(s["paper_id"])))
        elif meta.get("closest"):
            title = "Closest papers found"
            for h in meta["closest"]:
                options.append(Option(_source_label("·", h), id=str(h["paper_id"])))
        self.query_one(".answer-sources-title", Static).update(title)
        self.sources.clear_options()
        self.sources.add_options(options)
        if options:
            self.sources.highlighted = 0
        self.sources.display = bool(options)
        self.query_one(".answer-sources-title", Static).display = bool(options)
        self.query_one(".answer-meta", Static).update(meta_line(meta, latency_ms))
        self.add_class("done")

    def _show_sentences(self, sentences: list[dict[str, Any]]) -> None:
        self.sentences = sentences
        listing = self.query_one(".answer-sentences", OptionList)
        listing.clear_options()
        listing.add_options([Option(sentence_label(s), id=f"s{i}") for i, s in enumerate(sentences)])
        listing.display = bool(sentences)
        if sentences:
            listing.highlighted = 0
        detail = self.query_one(".answer-support", Static)
        detail.update(Text("Highlight a sentence to see the source sentence that supports it.", style="dim"))
        detail.display = bool(sentences)

    @on(OptionList.OptionHighlighted, ".answer-sentences")
    def _sentence_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_index < len(self.sentences):
            self.query_one(".answer-support", Static).update(support_detail(self.sentences[event.option_index]))

    @on(OptionList.OptionSelected, ".answer-sentences")
    def _sentence_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a sentence opens the paper its supporting quote comes from (else its first citation)."""
        event.stop()
        if event.option_index >= len(self.sentences):
            return
        sentence = self.sentences[event.option_index]
        self.query_one(".answer-support", Static).update(support_detail(sentence))
        n = (sentence.get("support") or {}).get("source") or next(iter(sentence.get("citations") or []), None)
        paper_id = self._by_n.get(int(n)) if n else None
        if paper_id:
            self.post_message(self.CitationSelected(paper_id))

    async def cancel(self) -> None:
        """Stop showing the stream at once; what was written so far stays, marked as cancelled."""
        await self._stop_stream()
        self.set_status("Cancelled (Esc)." if self.streamed else "Cancelled (Esc) before the model answered.")
        self.query_one(".answer-status", Static).add_class("warning")
        self.add_class("cancelled")

    async def fail(self, message: str) -> None:
        await self._stop_stream()
        self.set_status(f"✗ {message}")
        self.query_one(".answer-status", Static).add_class("error")
        self.add_class("failed")

    @on(OptionList.OptionSelected, ".answer-sources")
    def _source_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.CitationSelected(event.option.id))

    @on(Markdown.LinkClicked)
    def _link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        if event.href.startswith("cite:"):
            paper_id = self._by_n.get(int(event.href.removeprefix("cite:") or 0))
            if paper_id:
                self.post_message(self.CitationSelected(paper_id))
        else:
            self.app.open_url(event.href)


def _source_label(marker: str, source: dict[str, Any]) -> Text:
    text = Text.assemble((f"{marker} ", "bold"), safe_text(source["title"]))
    details = " · ".join(str(v) for v in (source.get("date"), source.get("paper_id")) if v)
    text.append(plain(f"  {details}"), style="dim")
    return text
