"""Brief outputs: Markdown (the default: a terminal and git both read it), one-file HTML, JSON.

Markdown and HTML come from Jinja2 templates in ``agent/templates/`` so their
layout can change without touching the pipeline; JSON is ``Brief.to_json()``,
the same structure a person reads. Everything a paper or a model wrote is
escaped for its output: Markdown control characters in titles and text, HTML
through autoescaping (the HTML file has no scripts and loads nothing).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import jinja2
from markupsafe import Markup, escape

from agent.brief.types import Brief, BriefTheme
from store.text import display_text

BriefFormat = Literal["md", "html", "json"]
FORMATS: tuple[str, ...] = ("md", "html", "json")
_TEMPLATES = Path(__file__).parent / "templates"
_MD_SPECIAL = re.compile(r"([\\`*_<>|\[\]])")
_CITATION = re.compile(r"\[(\d+)\]")


def md_escape(text: object) -> str:
    """Backslash-escape what Markdown would read as emphasis, code, HTML, a link or a table cell border."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(display_text(text).split()))


def md_link(label: str, url: str | None) -> str:
    return f"[{label}]({url})" if url else f"`{label}`"


@lru_cache(maxsize=2)
def _env(kind: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=kind == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = md_escape
    env.globals["link"] = md_link
    env.globals["link_html"] = html_link
    env.globals["cite"] = html_citations
    return env


def html_link(label: str, url: str | None) -> Markup:
    if not url or not url.startswith(("http://", "https://")):
        return escape(label)
    return Markup('<a href="{}">{}</a>').format(url, label)


def html_citations(text: str, theme: BriefTheme) -> Markup:
    """Escape ``text`` and turn each ``[n]`` of the theme into a link to that paper's entry."""
    known = {p.n for p in theme.papers}
    out: list[str] = []
    last = 0
    for match in _CITATION.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        n = int(match.group(1))
        if n in known:
            out.append(str(Markup('<a href="#{}-p{}">[{}]</a>').format(theme.anchor, n, n)))
        else:
            out.append(str(escape(match.group(0))))
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def render_markdown(brief: Brief) -> str:
    text = _env("md").get_template("brief.md.j2").render(brief=brief)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_html(brief: Brief) -> str:
    return _env("html").get_template("brief.html.j2").render(brief=brief)


def render_json(brief: Brief) -> str:
    return json.dumps(brief.to_json(), ensure_ascii=False, indent=2) + "\n"


def render(brief: Brief, fmt: BriefFormat) -> str:
    if fmt == "html":
        return render_html(brief)
    if fmt == "json":
        return render_json(brief)
    return render_markdown(brief)
