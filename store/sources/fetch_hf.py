"""Live fetcher for the Hugging Face Daily Papers API, one listing day per request.

``GET {hf_url}/api/daily_papers?date=YYYY-MM-DD`` answers the papers listed that
day (an empty list on weekends and holidays). Fetching day by day, rather than
in one big request, is what lets each paper carry the exact day it was listed,
and lets a crawl resume from the last day it finished.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from store.config import HttpConfig
from store.errors import FetchError, SourceError
from store.papers import Paper
from store.sources.hf_json import parse_hf_daily
from store.sources.http import PoliteClient, open_client, safe_url

SOURCE = "hf-api"
#: A crawl longer than this is far more likely a typo in a date than an intent.
MAX_DAYS = 3660


def days_between(since: date, until: date) -> list[date]:
    """Every day from ``since`` to ``until``, both included, oldest first.

    Raises ``ValueError`` when the range is backwards, so ``--since 2024-10-27
    --until 2024-10-25`` says what is wrong instead of quietly fetching nothing.
    """
    if since > until:
        raise ValueError(f"since ({since.isoformat()}) is after until ({until.isoformat()}); "
                         "the range must run forwards")
    span = (until - since).days + 1
    if span > MAX_DAYS:
        raise ValueError(f"{since.isoformat()} to {until.isoformat()} is {span} days; "
                         f"fetch at most {MAX_DAYS} days at a time")
    return [since + timedelta(days=n) for n in range(span)]


def fetch_hf_days(
    config: HttpConfig,
    days: Iterable[date],
    *,
    client: PoliteClient | None = None,
) -> Iterator[tuple[date, list[Paper]]]:
    """Yield ``(day, papers)`` for each day, in the order given; ``[]`` for an empty day.

    A generator, so a caller can store each day before the next is fetched and a
    failure on day 20 keeps days 1 to 19. Raises ``FetchError`` when a day cannot
    be fetched after every retry or the API answers an error status, and
    ``SourceError`` when it answers something that is not the expected JSON.
    """
    url = config.hf_url.rstrip("/") + "/api/daily_papers"
    with open_client(config, client) as http:
        for day in days:
            where, data = _get_json(http, url, day)
            yield day, parse_hf_daily(data, source=SOURCE, listing_date=day, origin=where)


def _get_json(http: PoliteClient, url: str, day: date) -> tuple[str, object]:
    """One day's listing as decoded JSON, with the request it came from for error messages."""
    response = http.get(url, params={"date": day.isoformat()})
    where = f"GET {safe_url(response.request.url)}"
    if response.status_code != 200:
        raise FetchError(f"{where} answered HTTP {response.status_code}: {_snippet(response.text)}")
    try:
        return where, json.loads(response.content)
    except ValueError as exc:
        detail = f"response is not JSON ({exc}): {_snippet(response.text)}"
        raise SourceError(where, detail) from exc


def _snippet(text: str, limit: int = 120) -> str:
    """The start of a body on one line, enough to recognise an error page."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
