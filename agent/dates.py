"""Listing days typed by people (flags, batch rows, TUI fields): one parser, one error wording."""

from __future__ import annotations

from datetime import date

from agent.errors import UserError

#: Paper listings before this year are certainly a typo (arXiv opened in 1991).
FIRST_YEAR = 1990


class DateError(UserError, ValueError):
    """A day that is not ``YYYY-MM-DD`` or lies outside the range of paper listings."""

    title = "Not a date"
    hint = "use YYYY-MM-DD"


def parse_day(text: str, name: str, error: type[UserError] = DateError) -> date:
    """``text`` as a day, or ``error`` with one line naming ``name`` (the flag, column or field)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise error(f"{name}: {text!r} is not a date (expected YYYY-MM-DD)") from None
    if not FIRST_YEAR <= day.year <= date.today().year + 1:
        raise error(f"{name}: {day} is outside the range of paper listings")
    return day
