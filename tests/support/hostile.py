"""A hostile corpus: paper text that tries to be markup, hyperlinks, terminal escapes or hidden text.

The papers are written straight into the catalog (as an older paperbrief, or a
hand-edited database, would have left them), so the display side is tested on raw
text; ingest-time cleaning has its own tests. :func:`visible` is what a person must
see for each string: exactly the text, minus the invisible and control characters.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from store.index import Index
from store.ingest import ingest_papers
from store.papers import Paper

LONG_TITLE = "Long " + " ".join(f"w{i}" for i in range(2_000))  # over 10,000 characters
assert len(LONG_TITLE) > 10_000

HOSTILE = [
    Paper(
        id="2601.00001",
        title="Closing [/x] tags and [bold]loud[/bold] words in speculative decoding",
        abstract="Speculative decoding drafts tokens at specific [x, y, z] coordinates [/x] and "
        "[link=https://evil.example]verifies[/link] them in one pass with a tiny draft model.",
        authors=("[red]Mallory[/red]",),
        listing_dates=(date(2025, 3, 10),),
    ),
    Paper(
        id="2601.00002",
        title="[link=https://evil.example]Click me[/link] for contrastive loss tiles",
        abstract="Contrastive loss tiles for [bold]huge[/bold] batch sizes; see [docs](https://evil.example).",
        listing_dates=(date(2025, 3, 10),),
    ),
    Paper(
        id="2601.00003",
        title="Bidi \u202egnp.exe\u202c and isolate \u2066trick\u2069 for coral reef forecasts",
        abstract="Coral reef bleaching forecasts\u200b with \u2067hidden\u2069 text and ANSI \x1b[31mred\x1b[0m.",
        listing_dates=(date(2025, 3, 11),),
    ),
    Paper(
        id="2601.00004",
        title="ANSI \x1b[31mred\x1b[0m and zero\u200bwidth\u2060 joiners in robot grasping",
        abstract="Robots grasp transparent objects\x1b]8;;https://evil.example\x07 with depth completion.",
        listing_dates=(date(2025, 3, 12),),
    ),
    Paper(
        id="2601.00005",
        title=LONG_TITLE,
        abstract="A very long title about quantum error correction codes.",
        listing_dates=(date(2025, 3, 12),),
    ),
]

_SGR = re.compile(r"\x1b\[[0-9;]*m")
_OSC8 = "\x1b]8;"


_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """What a person must see: the text itself, minus control and invisible characters.

    Written out here, independently of ``store.text``, so the test states the rule.
    """
    return _HIDDEN.sub("", text)


def build_hostile_index(root: Path) -> Path:
    """The hostile papers written into a fresh data dir under ``root``; returns the data dir."""
    from agent.settings import load_settings

    data_dir = root / "data"
    with Index(load_settings(data_dir=data_dir).store_config()) as idx:
        ingest_papers(idx, list(HOSTILE))
    return data_dir


def screen_text(raw: str) -> str:
    """A terminal's visible text: our own style codes removed; no other escape may remain."""
    assert _OSC8 not in raw, "a hyperlink reached the terminal"
    plain = _SGR.sub("", raw)
    leftover = [c for c in plain if c in "\x1b\x07\u202e\u2066\u2067\u2069\u200b"]
    assert not leftover, f"raw control or invisible characters reached the terminal: {leftover!r}"
    return plain
