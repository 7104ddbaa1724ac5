"""Listing-date windows for briefs: ISO weeks, ``--last-week`` and explicit ``--since/--until``.

A brief covers the papers *listed* in a window (HF daily pages, arXiv daily
listings), so a window is a pair of calendar days, both included. ISO weeks run
Monday to Sunday, which matches how listing sites group their days. Every
parse error is a :class:`WindowError` whose message is one line naming the flag,
so the CLI can print it and exit 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from agent import dates
from agent.dates import FIRST_YEAR
from agent.errors import UserError

_WEEK = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


class WindowError(UserError, ValueError):
    """A window that cannot be parsed or makes no sense; ``str()`` is one line for people."""

    title = "Not a week"
    hint = "use YYYY-Www (2025-W11), a day (2025-03-12) or --since/--until"


@dataclass(frozen=True)
class Window:
    """Listing days ``since..until`` (both included) and the label people see (``2026-W11``)."""

    since: date
    until: date
    label: str

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> Window:
        """The window of the same length just before this one: what week-over-week compares against."""
        until = self.since - timedelta(days=1)
        since = until - timedelta(days=self.days - 1)
        if self.label.count("-W") == 1 and self.days == 7 and since.weekday() == 0:
            return Window(since, until, iso_week_label(since))
        return Window(since, until, f"{since.isoformat()}..{until.isoformat()}")

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "since": self.since.isoformat(), "until": self.until.isoformat()}


def iso_week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_window(day: date) -> Window:
    """The ISO week (Monday..Sunday) containing ``day``."""
    monday = day - timedelta(days=day.weekday())
    return Window(monday, monday + timedelta(days=6), iso_week_label(monday))


def parse_week(text: str) -> Window:
    """``2025-W11`` (also ``2025W11``, lower-case ``w``) to its Monday..Sunday window."""
    match = _WEEK.match(text or "")
    if not match:
        raise WindowError(f"--week: {text!r} is not an ISO week (expected YYYY-Www, e.g. 2025-W11)")
    year, week = int(match.group(1)), int(match.group(2))
    if year < FIRST_YEAR:
        raise WindowError(f"--week: {text.strip()} is before {FIRST_YEAR}, outside the range of paper listings")
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        weeks = date(year, 12, 28).isocalendar()[1]  # Dec 28 is always in the last ISO week
        raise WindowError(f"--week: {year} has ISO weeks 1 to {weeks}, not {week}") from None
    return Window(monday, monday + timedelta(days=6), f"{year}-W{week:02d}")


def parse_day(text: str, flag: str) -> date:
    return dates.parse_day(text, flag, WindowError)


def resolve_window(
    *,
    week: str | None = None,
    since: str | None = None,
    until: str | None = None,
    last_week: bool = False,
    today: date | None = None,
    latest_listing: date | None = None,
) -> Window:
    """The window the flags ask for; exactly one way of choosing it may be used.

    * ``week``: that ISO week;
    * ``last_week``: the ISO week before the one containing ``today``;
    * ``since``/``until``: those days (``since`` alone runs to ``today``; ``until``
      alone covers the seven days ending then);
    * nothing: the ISO week of the latest listing in the index (what is newest
      there), else last week.
    """
    today = today or date.today()
    chosen = [name for name, given in (("--week", week), ("--last-week", last_week)) if given]
    if since is not None or until is not None:
        chosen.append("--since/--until")
    if len(chosen) > 1:
        raise WindowError(f"choose one window: {' or '.join(chosen)}, not both")
    if week is not None:
        window = parse_week(week)
    elif last_week:
        window = week_window(today - timedelta(days=7))
    elif since is not None or until is not None:
        hi = parse_day(until, "--until") if until is not None else None
        lo = parse_day(since, "--since") if since is not None else None
        if lo is None:
            assert hi is not None
            lo = hi - timedelta(days=6)
        if hi is None:
            hi = max(today, lo)
        if lo > hi:
            raise WindowError(f"--since {lo} is after --until {hi}")
        window = Window(lo, hi, f"{lo.isoformat()}..{hi.isoformat()}")
    else:
        window = week_window(latest_listing or today - timedelta(days=7))
    if window.since > today:
        raise WindowError(f"{window.label} starts after today ({today}): nothing has been listed yet")
    return window
