"""Links in generated text that no source contains: invented URLs, arXiv ids and DOIs.

A small model that loops makes up plausible URLs (``researchgate.net/..._A_2_2_2``),
and a compromised or injected endpoint adds its own (``Visit http://evil.example``).
Neither may reach a reader as part of a "generated" answer: a generated text may only
repeat links that appear in a source's own text (its abstract, title, id or URL).
The eval suite measures the same thing with :func:`invented_links`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["find_links", "invented_links"]

_URL = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'`\[\]{}|\\^]+", re.IGNORECASE)
_DOI = re.compile(r"\b10\.\d{4,9}/[^\s<>\"'`\[\]{}|\\^]+")
# New-style (2501.00002, arXiv:2501.00002v2) and old-style (hep-th/9901001, cs.CL/0101001) ids.
_ARXIV = re.compile(
    r"(?<![\w./])(?:arxiv:\s*)?(\d{4}\.\d{4,5}|[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?![\w/])",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)'\"*_"
_SCHEME = re.compile(r"(?:https?|ftp)://(?:www\.)?|\bwww\.")


def _clean(link: str) -> str:
    return link.rstrip(_TRAILING)


def _key(link: str) -> str:
    """A comparable form: no scheme, no ``www.``, no trailing slash, lower case."""
    return _SCHEME.sub("", link.lower(), count=1).rstrip("/")


def find_links(text: str) -> list[str]:
    """URLs, DOIs and arXiv ids in ``text``, in order of appearance, each once."""
    found: list[tuple[int, str]] = []
    urls = [(m.start(), m.end(), _clean(m.group(0))) for m in _URL.finditer(text)]
    found += [(start, url) for start, _, url in urls]

    def inside_url(pos: int) -> bool:
        return any(start <= pos < end for start, end, _ in urls)

    found += [(m.start(), _clean(m.group(0))) for m in _DOI.finditer(text) if not inside_url(m.start())]
    found += [(m.start(), m.group(1)) for m in _ARXIV.finditer(text) if not inside_url(m.start())]
    return list(dict.fromkeys(link for _, link in sorted(found) if link))


def invented_links(text: str, source_texts: Sequence[str]) -> list[str]:
    """Links (URLs, DOIs, arXiv ids) in ``text`` that appear in none of ``source_texts``.

    A URL counts as present when its scheme-less, ``www``-less form is a substring of a
    source's text (so a source's ``https://arxiv.org/abs/2501.00002`` also covers
    ``arxiv.org/abs/2501.00002``); an arXiv id when the id (version dropped) is.
    """
    haystack = _SCHEME.sub("", "\n".join(source_texts).lower())
    return [link for link in find_links(text) if _key(link) not in haystack]
