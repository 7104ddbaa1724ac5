"""Run health: what a brief was made from, and why an empty window is empty.

Users of paper digests complain most about *silent* empty runs. So every brief
opens with one line of counts (listed, fetched, new, revised, already seen,
filtered, source errors), and a window with no papers says its likely reason
instead of just "nothing": the window is a weekend or a holiday (arXiv and
Hugging Face Daily Papers list nothing then), the source has not been updated yet
(naming the newest listing date the index has), or filters removed everything.
"""

from __future__ import annotations

from datetime import date, timedelta

from agent.brief.types import Health, PaperStatus
from agent.brief.weeks import Window
from store.papers import Paper

#: Days arXiv announces nothing every year (month, day); moving holidays are not guessed at.
HOLIDAYS = {(1, 1): "New Year's Day", (12, 25): "Christmas Day", (12, 26): "Boxing Day", (12, 31): "New Year's Eve"}


def paper_status(paper: Paper, window: Window) -> PaperStatus:
    """``revised`` when a new version was listed in the window, ``new`` when first listed there, else ``seen``."""
    if any(window.since <= d <= window.until for d in paper.revised_dates):
        return "revised"
    first = paper.first_listed
    if first is None or first >= window.since:
        return "new"
    return "seen"


def run_health(
    papers: list[Paper],
    window: Window,
    *,
    fetched: int = 0,
    filtered: dict[str, int] | None = None,
    source_errors: list[str] | None = None,
) -> Health:
    counts = {"new": 0, "revised": 0, "seen": 0}
    for p in papers:
        counts[paper_status(p, window)] += 1
    return Health(
        listed=len(papers) + sum((filtered or {}).values()),
        fetched=fetched,
        new=counts["new"],
        revised=counts["revised"],
        seen=counts["seen"],
        filtered={k: v for k, v in (filtered or {}).items() if v},
        source_errors=list(source_errors or []),
    )


def quiet_days(window: Window, today: date) -> list[str]:
    """The window's days on which sources list nothing: weekends and fixed holidays (up to today)."""
    out: list[str] = []
    day = window.since
    while day <= min(window.until, today):
        if day.weekday() >= 5:
            out.append(f"{day:%a %Y-%m-%d}")
        elif (day.month, day.day) in HOLIDAYS:
            out.append(f"{day:%Y-%m-%d} ({HOLIDAYS[day.month, day.day]})")
        day += timedelta(days=1)
    return out


def empty_reason(window: Window, *, today: date, newest: date | None, filtered: int = 0) -> str:
    """The likely reason ``window`` has no papers, in one sentence."""
    if filtered:
        return f"filters removed all {filtered} papers listed in the window"
    last = min(window.until, today)
    if window.since > today:
        return f"the window starts after today ({today}): nothing can be listed yet"
    days = (last - window.since).days + 1
    quiet = quiet_days(window, today)
    if quiet and len(quiet) >= days:
        kind = "a weekend" if all(q[:3] in {"Sat", "Sun"} for q in quiet) else "weekend or holiday days"
        return f"the window is {kind} ({', '.join(quiet)}): arXiv and Hugging Face list no papers then"
    if newest is not None and newest < window.since:
        return (
            f"the source has not been updated for this window yet: the newest listing in the index is {newest}"
            " (fetch or ingest newer listings)"
        )
    if newest is None:
        return "the index is empty"
    note = f" ({', '.join(quiet)} list nothing)" if quiet else ""
    return f"no listing in the index falls in the window{note}; the newest listing is {newest}"
