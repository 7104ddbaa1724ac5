"""Untrusted text on screen: the one helper the CLI and the TUI use for it.

Titles, abstracts, authors, model output and server messages are data, not
formatting. Rich and Textual both parse ``[...]`` as markup by default, so a title
such as ``[/x]`` crashed ``papers list``, ``[link=https://evil.example]`` became a
clickable hyperlink and "at specific [x, y, z] coordinates" lost its coordinates.
Every front end therefore goes through these functions: the text is first made
safe to show (:func:`store.text.display_text` drops escapes, bidi overrides and
zero-width characters), then wrapped so the renderer cannot read it as markup:

- :func:`text` gives a rich ``Text`` (never parsed; Textual widgets accept it too),
- :func:`markup` escapes it for a rich markup string that also holds our own styles,
- :func:`markdown_literal` escapes it for a Markdown document (a paper's title and
  abstract: no emphasis, links, HTML or headings of their own),
- :func:`markdown_answer` keeps a model answer's formatting (lists, emphasis) but
  disarms links, images and HTML, so only the ``[n]`` citations we add are links.

This module imports rich (not Textual), so both front ends can share it; the core
packages never show text and never import it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.text import Text

from store.text import display_text

if TYPE_CHECKING:  # markdown-it loads only where Markdown is parsed (the TUI): the CLI starts faster
    from markdown_it import MarkdownIt

__all__ = ["markdown_answer", "markdown_literal", "markdown_parser", "markup", "plain", "text"]

# What Markdown (CommonMark + GFM tables) could read as syntax inside running text ...
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#!|~&])")
# ... and at the start of a line: a list item, quote, heading rule or numbered item.
_MD_LINE_START = re.compile(r"^(\s*)(\d*)([-+=>.)])")
# In a model answer: brackets that are not a citation marker, angle brackets, and
# the "!" of an image; citations ([1], [1, 2], [1-3]) stay for link_citations.
_CITATION = r"\[\s*\d{1,3}(?:\s*[,;\-–]\s*\d{1,3})*\s*\]"
_ANSWER_UNSAFE = re.compile(rf"({_CITATION})|([\[\]<>!\\&])")
_URL_SCHEME = re.compile(r"\b(https?|ftp|file|javascript|data)(:)", re.IGNORECASE)


def plain(value: object) -> str:
    """The text made safe for a screen, still a plain string (for places that take no markup)."""
    return display_text(value)


def text(value: object, style: str = "") -> Text:
    """A rich ``Text`` that shows ``value`` exactly: never parsed as markup."""
    return Text(display_text(value), style=style)


def markup(value: object) -> str:
    """``value`` escaped for a rich markup string that also carries the caller's own tags."""
    return escape(display_text(value))


def markdown_literal(value: object) -> str:
    """``value`` as literal text inside a Markdown document (one paragraph, no syntax of its own).

    Bare URLs stay plain text only with a parser that does not linkify: the TUI's
    Markdown widgets use :func:`markdown_parser`.
    """
    line = _MD_SPECIAL.sub(r"\\\1", " ".join(display_text(value).split()))
    return _MD_LINE_START.sub(r"\1\2\\\3", line)


def markdown_parser() -> MarkdownIt:
    """GitHub-flavoured Markdown as Textual parses it, minus linkify (bare URLs never become links).

    Links in untrusted text are escaped by the functions above; bare ``https://...`` or
    ``www.`` text would otherwise be turned into links by the parser itself.
    """
    from markdown_it import MarkdownIt

    return MarkdownIt("gfm-like", {"linkify": False})


def markdown_answer(value: object) -> str:
    """A model's Markdown answer with its layout kept but links, images and HTML disarmed.

    URLs stay readable but are broken up (``http\\:``) so no renderer makes them
    clickable; the answer checks already reject links that come from no source.
    """

    def disarm(match: re.Match[str]) -> str:
        return match.group(1) or "\\" + match.group(2)

    body = _ANSWER_UNSAFE.sub(disarm, display_text(value))
    return _URL_SCHEME.sub(r"\1\\\2", body)
