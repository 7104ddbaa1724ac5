"""fetch_hf_days against a loopback server fed with real recorded Daily Papers responses."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from store.config import HttpConfig
from store.errors import FetchError, SourceError
from store.sources.fetch_hf import days_between, fetch_hf_days
from store.sources.http import PoliteClient
from tests.support.loopback import LoopbackServer, Reply

pytestmark = pytest.mark.shared

PATH = "/api/daily_papers"
FRIDAY_2024 = date(2024, 10, 25)
SATURDAY_2024 = date(2024, 10, 26)
DAY_2026 = date(2026, 3, 2)


@pytest.fixture
def recorded(shared_dir: Path) -> dict[date, object]:
    """Real API answers per day: two 2024 papers, one 2026 paper (wrapped in a list), a weekend."""
    folder = shared_dir / "data" / "hf_daily_papers"
    papers_2024 = json.loads((folder / "raw_api_2024-10-25_first2items.json").read_text())
    one_2026 = json.loads((folder / "raw_api_2026-03_single_item_from_doc.json").read_text())
    return {FRIDAY_2024: papers_2024, DAY_2026: [one_2026], SATURDAY_2024: []}


def config_for(loopback: LoopbackServer) -> HttpConfig:
    return HttpConfig(hf_url=loopback.url + "/", timeout_s=1.0, retries=4, backoff_s=0.001,
                      max_backoff_s=0.004, min_interval_s=0.0, user_agent="paperbrief-test/hf")


def serve(loopback: LoopbackServer, recorded: dict[date, object]) -> dict[date, object]:
    routes = {}
    for day, data in recorded.items():
        routes[day] = loopback.route(PATH, Reply.json(data), query={"date": day.isoformat()})
    return routes


def test_fetches_each_day_in_order_with_listing_dates(loopback, recorded):
    serve(loopback, recorded)
    days = [FRIDAY_2024, SATURDAY_2024, DAY_2026]
    result = list(fetch_hf_days(config_for(loopback), days))

    assert [day for day, _ in result] == days
    by_day = dict(result)
    assert [p.arxiv_id for p in by_day[FRIDAY_2024]] == ["2410.17243", "2410.16251"]
    assert by_day[SATURDAY_2024] == []
    assert [p.arxiv_id for p in by_day[DAY_2026]] == ["2602.23229"]
    for day, papers in result:
        for paper in papers:
            assert day in paper.listing_dates and "hf-api" in paper.sources
    requests = loopback.requests
    assert [r.params["date"] for r in requests] == [d.isoformat() for d in days]
    assert {r.path for r in requests} == {PATH}
    assert {r.user_agent for r in requests} == {"paperbrief-test/hf"}


def test_rate_limited_and_unavailable_day_is_retried(loopback, recorded):
    routes = serve(loopback, recorded)
    routes[FRIDAY_2024].enqueue(Reply.error(429, retry_after=1), Reply.error(503))
    sleeps: list[float] = []
    config = config_for(loopback)
    with PoliteClient(config, sleep=sleeps.append) as http:
        result = dict(fetch_hf_days(config, [FRIDAY_2024], client=http))
    assert len(result[FRIDAY_2024]) == 2
    assert len(loopback.requests) == 3
    assert sleeps[0] >= 1.0 and len(sleeps) == 2


def test_a_day_down_for_good_raises_after_the_days_before_it(loopback, recorded):
    serve(loopback, recorded)
    loopback.route(PATH, Reply.error(503), query={"date": "2024-10-27"})
    config = replace(config_for(loopback), retries=2)
    fetched: list[date] = []
    with pytest.raises(FetchError) as info:
        for day, _papers in fetch_hf_days(config, [FRIDAY_2024, date(2024, 10, 27), DAY_2026]):
            fetched.append(day)
    assert fetched == [FRIDAY_2024]  # the generator handed over day 1 before day 2 failed
    assert str(info.value) == (f"GET {loopback.url}{PATH}?date=2024-10-27 "
                               "failed after 2 attempts: HTTP 503: scripted 503")
    assert [r.params["date"] for r in loopback.requests] == ["2024-10-25", "2024-10-27",
                                                           "2024-10-27"]


def test_not_found_is_reported_without_retrying(loopback):
    loopback.route(PATH, Reply.json({"error": "Not Found"}, status=404))
    with pytest.raises(FetchError, match=r"answered HTTP 404: \{\"error\": \"Not Found\"\}"):
        list(fetch_hf_days(config_for(loopback), [FRIDAY_2024]))
    assert len(loopback.requests) == 1


def test_a_body_that_is_not_json_is_a_source_error(loopback):
    loopback.route(PATH, Reply.text("<html>maintenance</html>", content_type="text/html"))
    with pytest.raises(SourceError, match=r"not JSON.*maintenance"):
        list(fetch_hf_days(config_for(loopback), [FRIDAY_2024]))


def test_a_malformed_item_names_the_request(loopback):
    loopback.route(PATH, Reply.json([{"paper": {"id": "2410.17243"}}]))
    with pytest.raises(SourceError) as info:
        list(fetch_hf_days(config_for(loopback), [FRIDAY_2024]))
    assert str(info.value).startswith(f"GET {loopback.url}{PATH}?date=2024-10-25")


def test_days_between_is_inclusive():
    assert days_between(date(2024, 10, 30), date(2024, 11, 2)) == [
        date(2024, 10, 30), date(2024, 10, 31), date(2024, 11, 1), date(2024, 11, 2)]
    assert days_between(FRIDAY_2024, FRIDAY_2024) == [FRIDAY_2024]


def test_days_between_refuses_a_backwards_range():
    with pytest.raises(ValueError, match=r"since \(2024-10-27\) is after until \(2024-10-25\)"):
        days_between(date(2024, 10, 27), FRIDAY_2024)


def test_days_between_refuses_an_absurd_span():
    with pytest.raises(ValueError, match="at most"):
        days_between(date(1990, 1, 1), date(2026, 1, 1))
