"""Brief windows: ISO weeks, --last-week, --since/--until, and one clear line for bad input."""

from __future__ import annotations

from datetime import date

import pytest

from agent.brief.weeks import Window, WindowError, parse_week, resolve_window, week_window

TODAY = date(2026, 11, 22)  # a Sunday


@pytest.mark.parametrize("text", ["2025-W11", "2025W11", "2025-w11", " 2025-W11 "])
def test_iso_week_spellings(text: str) -> None:
    window = parse_week(text)
    assert (window.since, window.until, window.label) == (date(2025, 3, 10), date(2025, 3, 16), "2025-W11")


def test_week_53_and_year_boundaries() -> None:
    assert parse_week("2020-W53").since == date(2020, 12, 28)  # 2020 has 53 ISO weeks
    assert parse_week("2026-W01").since == date(2025, 12, 29)  # week 1 starts in the previous year
    with pytest.raises(WindowError, match="2025 has ISO weeks 1 to 52, not 53"):
        parse_week("2025-W53")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"week": "2025-11"}, "is not an ISO week"),
        ({"week": "W11"}, "is not an ISO week"),
        ({"week": "2025-W00"}, "not 0"),
        ({"week": "1970-W01"}, "before 1990"),
        ({"since": "11/03/2025"}, "--since: '11/03/2025' is not a date"),
        ({"until": "2025-02-30"}, "--until: '2025-02-30' is not a date"),
        ({"since": "2025-03-12", "until": "2025-03-10"}, "--since 2025-03-12 is after --until 2025-03-10"),
        ({"week": "2025-W11", "last_week": True}, "choose one window"),
        ({"week": "2025-W11", "since": "2025-03-10"}, "choose one window"),
        ({"week": "2027-W02"}, "starts after today"),
    ],
)
def test_bad_windows_are_one_line(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(WindowError) as info:
        resolve_window(today=TODAY, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value) and "\n" not in str(info.value)


def test_last_week_and_defaults() -> None:
    last = resolve_window(last_week=True, today=TODAY)
    assert (last.since, last.until, last.label) == (date(2026, 11, 9), date(2026, 11, 15), "2026-W46")
    # no flag: the week of the newest listing in the index, else last week
    assert resolve_window(today=TODAY, latest_listing=date(2026, 3, 13)).label == "2026-W11"
    assert resolve_window(today=TODAY).label == "2026-W46"


def test_since_until_ranges() -> None:
    both = resolve_window(since="2025-03-10", until="2025-03-12", today=TODAY)
    assert (both.since, both.until, both.days) == (date(2025, 3, 10), date(2025, 3, 12), 3)
    assert resolve_window(since="2026-11-20", today=TODAY).until == TODAY  # runs to today
    assert resolve_window(until="2025-03-16", today=TODAY).since == date(2025, 3, 10)  # seven days


def test_previous_window_has_the_same_length() -> None:
    assert parse_week("2026-W01").previous().label == "2025-W52"
    custom = Window(date(2025, 3, 10), date(2025, 3, 12), "x").previous()
    assert (custom.since, custom.until) == (date(2025, 3, 7), date(2025, 3, 9))
    assert week_window(date(2026, 3, 13)).label == "2026-W11"
