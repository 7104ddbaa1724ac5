"""Invented links: URLs in generated text that no source contains.

A small model asked about a benchmark will happily write a plausible GitHub URL. A
link is only worth showing when a source abstract carries it, so every link found in
model output is compared (scheme, ``www.``, case of the host and trailing punctuation
ignored) against the links and bare domains of the sources it was given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# http(s) URLs, www. hosts and bare host/path forms such as github.com/org/repo
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'`)\]]+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|org|net|io|ai|dev|edu|gov|co|app|info|me|xyz)(?:/[^\s<>\"'`)\]]*)?",
    re.IGNORECASE,
)


def _normal(url: str) -> str:
    url = url.strip().rstrip(".,;:!?")
    url = re.sub(r"^https?://", "", url, flags=re.IGNORECASE)
    url = re.sub(r"^www\.", "", url, flags=re.IGNORECASE)
    host, _, path = url.partition("/")
    return (host.lower() + ("/" + path if path else "")).rstrip("/")


def find_links(text: str) -> list[str]:
    """Every link-looking span of ``text``, in order, as written (trailing punctuation dropped)."""
    return [m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text)]


def invented_links(text: str, source_texts: Sequence[str]) -> list[str]:
    """Links in ``text`` that appear in none of ``source_texts`` (each reported once, as written)."""
    known = [_normal(link) for src in source_texts for link in find_links(src)]
    out: list[str] = []
    for link in find_links(text):
        norm = _normal(link)
        if not norm or link in out:
            continue
        if any(norm == k or k.startswith(norm + "/") for k in known):
            continue  # the same link, or a shorter form of one a source carries
        out.append(link)
    return out
