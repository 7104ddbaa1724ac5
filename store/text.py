"""Text normalization and the field checks every parser shares.

Abstracts arrive hard-wrapped at 80 columns (arXiv), HTML-escaped (HF pages,
Atom), with stray control characters, or with LaTeX accent escapes (``d\\'ecrit``).
Everything downstream (title keys, chunking, BM25 tokens, embeddings, the text a
person reads) wants one canonical form, so every parser funnels its strings through
:func:`normalize_text` / :func:`normalize_title`. LaTeX math is deliberately left
as written: ``$\\mathcal{O}(n)$`` is readable to the people who search for it, and
any rewrite would lose information.

The sanity checks (:func:`check_abstract`, :func:`check_date`) live here too
because every parser, file-based or live, must apply the same limits.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import date, timedelta

from store.errors import SourceError

MAX_ABSTRACT_CHARS = 100_000
"""Longer "abstracts" are a broken export (a whole paper, a binary blob), never a real abstract."""

EARLIEST_DATE = date(1990, 1, 1)
"""arXiv opened in 1991; an earlier date is a parsing error, not a paper."""

MAX_FUTURE = timedelta(days=365)

# Only entities with the closing ';': html.unescape alone also decodes legacy bare
# entities, which would turn "x&notation" into "x¬ation".
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

# Control characters are removed; the whitespace ones (\t \n \r \v \f) are folded
# into spaces later. Invisible format characters go too: zero-width and soft-hyphen
# characters split words for search, bidi embeddings/overrides/isolates (U+202A-202E,
# U+2066-2069) and marks reorder what a terminal shows (a title can hide text or fake
# an id), and tag characters (U+E0000-E007F) smuggle text no reader can see.
_FORMAT_CHARS = (
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\U000e0000-\U000e007f"
)
_INVISIBLE = re.compile(f"[\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f{_FORMAT_CHARS}]")
# Zero-width (non-)joiners shape emoji, Indic and Persian text, so they stay between
# two non-ASCII characters; next to ASCII (or at an edge) they only hide things.
_STRAY_JOINER = re.compile(r"(?<![^\x00-\x7f])[\u200c\u200d]|[\u200c\u200d](?![^\x00-\x7f])")
# What a screen must never receive from untrusted text: every control character but
# newline and tab (ESC starts terminal escape sequences), plus the format characters above.
_UNSAFE_ON_SCREEN = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_FORMAT_CHARS}]")

# LaTeX text-mode accents: \'e, \'{e}, {\'e}, \"{\i}, \c{c}, \v{s} ... Letter-named
# accents (\c \v \u \H \k \r) need braces so that \url or \cite never match.
_SYMBOL_ACCENTS = {
    "'": "\u0301",  # acute
    "`": "\u0300",  # grave
    "^": "\u0302",  # circumflex
    '"': "\u0308",  # diaeresis
    "~": "\u0303",  # tilde
    "=": "\u0304",  # macron
    ".": "\u0307",  # dot above
}
_LETTER_ACCENTS = {
    "c": "\u0327",  # cedilla
    "v": "\u030c",  # caron
    "u": "\u0306",  # breve
    "H": "\u030b",  # double acute
    "k": "\u0328",  # ogonek
    "r": "\u030a",  # ring above
}
_ACCENT = re.compile(
    r"(?P<open>\{)?\\"
    r"(?:(?P<sym>['`^\"~=.])\s*(?:\{(?P<b1>\\?[A-Za-z])\}|(?P<l1>\\?[A-Za-z]))"
    r"|(?P<let>[cvuHkr])\s*\{(?P<b2>\\?[A-Za-z])\})"
    r"(?(open)\})"
)
# Scraped text also carries programming-style escapes that look like accents:
# "it\'s" is an apostrophe, not an s-acute, and "\"quoted\"" is a quote, not a
# diaeresis. Contractions get their apostrophe back; a bare \" counts as an accent
# only inside a word (na\"ive, Schr\"odinger) and only on a vowel, else it is
# unescaped to a plain quote.
_CONTRACTION = re.compile(r"(?<=[A-Za-z])\\'(?=(?:s|t|d|m|ll|re|ve)\b)")
_DIAERESIS_BASES = set("aeiouyAEIOUY")


def _is_escaped_quote(match: re.Match[str], sym: str | None, base: str) -> bool:
    """True when a ``\\"`` is a backslash-escaped quote rather than an umlaut (then unescaped)."""
    if sym != '"' or match.group("open") or match.group("b1"):
        return False
    before = match.string[match.start() - 1] if match.start() else " "
    return base not in _DIAERESIS_BASES or not before.isalpha()


def _decode_accent(match: re.Match[str]) -> str:
    """Turn one LaTeX accent escape into its precomposed letter, or leave it untouched."""
    base = match.group("b1") or match.group("l1") or match.group("b2") or ""
    base = {"\\i": "i", "\\j": "j"}.get(base, base)
    sym = match.group("sym")
    if base.startswith("\\") or _is_escaped_quote(match, sym, base):
        return match.group(0)
    mark = _SYMBOL_ACCENTS[sym] if sym else _LETTER_ACCENTS[match.group("let")]
    composed = unicodedata.normalize("NFC", base + mark)
    # Only accept real letters (é, ç, š); an odd combination stays as the author wrote it.
    return composed if len(composed) == 1 else match.group(0)


def normalize_text(s: str) -> str:
    """Canonical one-line form of an abstract (or any free text).

    Decodes HTML entities, LaTeX accent escapes, drops control and zero-width
    characters, NFC-normalizes, and folds every run of whitespace (arXiv hard
    wraps, blank lines between paragraphs, tabs, NBSP) into one space. LaTeX math
    and other markup stay as written.
    """
    if not s:
        return ""
    if s.isascii() and s.isprintable() and "&" not in s and "\\" not in s:
        # the common case (author names, most titles): nothing to decode, drop or compose;
        # skipping the regex passes took a third off parsing the 75k-paper dump
        return " ".join(s.split())
    text = s
    if "&" in text:
        text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    text = _INVISIBLE.sub("", text)
    if "\u200c" in text or "\u200d" in text:  # the lookbehind pass is slow; most text has no joiner
        text = _STRAY_JOINER.sub("", text)
    if "\\" in text:
        text = _CONTRACTION.sub("'", text)
        text = _ACCENT.sub(_decode_accent, text).replace('\\"', '"')
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def display_text(s: object) -> str:
    """Untrusted text (a title, an abstract, model output) made safe to put on a screen.

    Ingest already normalizes new papers, but a catalog written by an older version,
    a model's answer or a server's message may still hold ANSI escapes, bidi
    overrides or zero-width characters: they are dropped here, while line breaks and
    tabs (which model output uses for layout) stay. The result is plain text: the
    front ends must still render it as text, never as markup.
    """
    text = "" if s is None else str(s)
    if text.isascii() and text.isprintable():
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _STRAY_JOINER.sub("", _UNSAFE_ON_SCREEN.sub("", text))


def normalize_title(s: str) -> str:
    """A title is normalized like any text; the result is always a single line."""
    return normalize_text(s)


def location_for(source: str, origin: str | None) -> str:
    """Where an error points: the file name when the caller knows it, else the source tag.

    ``hf-page:x.txt`` and ``file:x.csv`` tags already carry the file name, so the
    tag prefix is dropped to make messages read ``x.txt:12: ...``.
    """
    if origin:
        return origin
    for prefix in ("hf-page:", "file:"):
        if source.startswith(prefix):
            return source[len(prefix) :]
    return source


def check_abstract(text: str, location: str, field: str = "abstract") -> str:
    """Reject an abstract that cannot be one (over 100,000 characters); return it unchanged."""
    if len(text) > MAX_ABSTRACT_CHARS:
        raise SourceError(
            location,
            f"{field} is {len(text):,} characters long (limit {MAX_ABSTRACT_CHARS:,}); "
            "the file looks broken",
        )
    return text


def check_date(value: date, location: str, *, today: date | None = None) -> date:
    """Reject dates before 1990 or more than a year ahead: they are always parsing errors."""
    latest = (today or date.today()) + MAX_FUTURE
    if value < EARLIEST_DATE or value > latest:
        raise SourceError(
            location,
            f"date {value.isoformat()} is implausible (before {EARLIEST_DATE.year} "
            "or more than a year in the future)",
        )
    return value


def parse_iso_date(raw: object, location: str, *, today: date | None = None) -> date:
    """Date part of an ISO date or timestamp (``2024-10-25``, ``2024-10-25T00:57:09.392Z``)."""
    if not isinstance(raw, str) or not raw.strip():
        raise SourceError(location, f"expected an ISO date, got {raw!r}")
    head = raw.strip()[:10]
    try:
        value = date.fromisoformat(head)
    except ValueError:
        raise SourceError(
            location, f"{raw.strip()[:40]!r} is not a date (expected YYYY-MM-DD)"
        ) from None
    return check_date(value, location, today=today)
