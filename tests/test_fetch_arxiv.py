"""fetch_arxiv and fetch_arxiv_ids against a loopback server fed with real recorded API answers.

The ``q_testing_s*_m10`` recordings are consecutive pages of one query; they are
served by ``start`` so pagination is tested end to end, over real Atom bodies.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from store.config import HttpConfig
from store.errors import FetchError
from store.sources.arxiv_atom import parse_atom
from store.sources.fetch_arxiv import (
    arxiv_error_message,
    fetch_arxiv,
    fetch_arxiv_ids,
    search_query,
    validate_category,
)
from store.sources.http import PoliteClient
from tests.support.clock import FakeClock
from tests.support.loopback import LoopbackServer, Reply

pytestmark = pytest.mark.shared

PATH = "/api/query"
ATOM = "application/atom+xml; charset=utf-8"
STARTS = [0, 10, 20, 30, 40, 50]
SINCE, UNTIL = date(2024, 10, 21), date(2024, 10, 25)


@pytest.fixture
def recorded(shared_dir: Path):
    """``recorded("q_testing_s10_m10")`` -> (status, body) of that recorded response."""
    folder = shared_dir / "data" / "arxiv_atom_fixtures" / "new_api_2026_json"

    def load(stem: str) -> tuple[int, str]:
        (path,) = folder.glob(f"{stem}_*.json")
        data = json.loads(path.read_text())
        return int(data["status_code"]), str(data["body"])

    return load


def config_for(loopback: LoopbackServer) -> HttpConfig:
    return HttpConfig(arxiv_url=loopback.url + PATH, timeout_s=1.0, retries=3, backoff_s=0.001,
                      max_backoff_s=0.004, min_interval_s=0.0, user_agent="paperbrief-test/arxiv")


def atom(body: str, status: int = 200) -> Reply:
    return Reply.text(body, status=status, content_type=ATOM)


def serve_pages(loopback: LoopbackServer, recorded, pages: dict[int, str],
                total: int | None = None) -> list[str]:
    """Serve recorded pages by ``start``; any other start gets the real empty feed.

    Returns the bodies in order. ``total`` rewrites ``totalResults`` to test the stop on it.
    """
    bodies = []
    _, empty = recorded("id_0000.0000_s0_m100")
    loopback.route(PATH, atom(empty))
    for start, stem in pages.items():
        _, body = recorded(stem)
        if total is not None:
            body = re.sub(r"<opensearch:totalResults>\d+<", f"<opensearch:totalResults>{total}<",
                          body)
        bodies.append(body)
        loopback.route(PATH, atom(body), query={"start": str(start)})
    return bodies


def expected_ids(bodies: list[str]) -> list[str]:
    return [p.id for body in bodies for p in parse_atom(body, source="arxiv-api").papers]


def recorded_testing_pages() -> dict[int, str]:
    return {s: f"q_testing_s{s}_m10" for s in STARTS}


def test_paginates_to_the_empty_page_in_order_without_duplicates(loopback, recorded):
    bodies = serve_pages(loopback, recorded, recorded_testing_pages())
    pages = list(fetch_arxiv(config_for(loopback), category="cs.CL", since=SINCE, until=UNTIL,
                             page_size=10))

    assert [len(page) for page in pages] == [10] * 6
    ids = [p.id for page in pages for p in page]
    assert ids == expected_ids(bodies) and len(set(ids)) == 60
    assert all("arxiv-api" in p.sources for page in pages for p in page)
    requests = loopback.requests
    assert [r.params["start"] for r in requests] == ["0", "10", "20", "30", "40", "50", "60"]
    assert {r.params["max_results"] for r in requests} == {"10"}
    first = requests[0].params
    assert first["search_query"] == ("cat:cs.CL AND submittedDate:"
                                     "[202410210000 TO 202410252359]")
    assert (first["sortBy"], first["sortOrder"]) == ("submittedDate", "descending")
    assert requests[0].user_agent == "paperbrief-test/arxiv"


def test_stops_at_total_results_without_asking_for_more(loopback, recorded):
    serve_pages(loopback, recorded, recorded_testing_pages(), total=30)
    pages = list(fetch_arxiv(config_for(loopback), category="cs.CL", since=SINCE, until=UNTIL,
                             page_size=10))
    assert len(pages) == 3
    assert [r.params["start"] for r in loopback.requests] == ["0", "10", "20"]


def test_stops_at_max_results_and_asks_only_for_what_is_left(loopback, recorded):
    serve_pages(loopback, recorded, recorded_testing_pages())
    pages = list(fetch_arxiv(config_for(loopback), category="cs.CL", since=SINCE, until=UNTIL,
                             page_size=10, max_results=25))
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [r.params["max_results"] for r in loopback.requests] == ["10", "10", "5"]


def test_a_shifted_page_yields_no_duplicates(loopback, recorded):
    # New submissions push results down: the second page repeats five papers of the first.
    bodies = serve_pages(loopback, recorded, {0: "q_testing_s0_m10", 10: "q_testing_s5_m10"})
    pages = list(fetch_arxiv(config_for(loopback), category="cs.CL", since=SINCE, until=UNTIL,
                             page_size=10))
    ids = [p.id for page in pages for p in page]
    assert [len(page) for page in pages] == [10, 5]
    assert ids == list(dict.fromkeys(expected_ids(bodies)))


def test_a_failing_page_is_retried_without_a_gap(loopback, recorded):
    bodies = serve_pages(loopback, recorded, {0: "q_testing_s0_m10", 10: "q_testing_s10_m10"})
    loopback.route(PATH, atom(bodies[1]), query={"start": "10"},
                 failures=[Reply.error(503), Reply.disconnect()])
    pages = list(fetch_arxiv(config_for(loopback), category="cs.CL", since=SINCE, until=UNTIL,
                             page_size=10))
    assert [p.id for page in pages for p in page] == expected_ids(bodies)
    assert [r.params["start"] for r in loopback.requests] == ["0", "10", "10", "10", "20"]


def test_arxiv_down_for_good_is_one_fetch_error(loopback):
    loopback.route(PATH, Reply.error(503))
    with pytest.raises(FetchError) as info:
        next(fetch_arxiv(config_for(loopback), category="cs.CL", since=SINCE, until=UNTIL))
    message = str(info.value)
    assert message.startswith(f"GET {loopback.url}{PATH}?search_query=cat%3Acs.CL")
    assert message.endswith("failed after 3 attempts: HTTP 503: scripted 503") and "\n" not in message


def test_the_rate_limit_paces_the_pages(loopback, recorded):
    serve_pages(loopback, recorded, {0: "q_testing_s0_m10", 10: "q_testing_s10_m10"})
    clock = FakeClock()
    config = replace(config_for(loopback), min_interval_s=3.0)
    with PoliteClient(config, sleep=clock.sleep, clock=clock) as http:
        pages = list(fetch_arxiv(config, category="cs.CL", since=SINCE, until=UNTIL,
                                 page_size=10, client=http))
    assert len(pages) == 2 and len(loopback.requests) == 3
    assert clock.sleeps == [3.0, 3.0]  # arXiv's three seconds between calls


# --- by id ---------------------------------------------------------------------------

def test_fetch_by_ids_in_batches(loopback, recorded):
    for ids in ("1707.08567", "astro-ph/0601001", "0808.05394"):
        stem = "id_" + ids.replace("/", "_") + "_s0_m100"
        loopback.route(PATH, atom(recorded(stem)[1]), query={"id_list": ids})
    papers = fetch_arxiv_ids(config_for(loopback), ["1707.08567", "astro-ph/0601001", "0808.05394"],
                             batch_size=1)
    assert [p.arxiv_id for p in papers] == ["1707.08567", "astro-ph/0601001"]  # unknown id absent
    assert [r.params["id_list"] for r in loopback.requests] == [
        "1707.08567", "astro-ph/0601001", "0808.05394"]


def test_fetch_by_ids_joins_a_batch_with_commas(loopback, recorded):
    _, body = recorded("id_0808.05394_1707.08567_s0_m100")
    loopback.route(PATH, atom(body), query={"id_list": "0808.05394,1707.08567"})
    papers = fetch_arxiv_ids(config_for(loopback), ["0808.05394", "1707.08567"])
    assert [p.arxiv_id for p in papers] == ["1707.08567"]
    assert loopback.requests[0].params["max_results"] == "2"


@pytest.mark.parametrize("served_status", [400, 200])
def test_error_feed_becomes_arxivs_own_message(loopback, recorded, served_status: int):
    status, body = recorded("id_abc_s0_m100")
    assert status == 400  # as recorded; also served as 200 in case arXiv ever does that
    loopback.route(PATH, atom(body, status=served_status), query={"id_list": "abc"})
    with pytest.raises(FetchError) as info:
        fetch_arxiv_ids(config_for(loopback), ["abc"])
    assert str(info.value) == "arXiv API error: incorrect id format for abc"
    assert len(loopback.requests) == 1  # a 400 is an answer, not a hiccup: no retry


def test_empty_feed_gives_zero_papers(loopback, recorded):
    loopback.route(PATH, atom(recorded("id_0000.0000_s0_m100")[1]))
    assert fetch_arxiv_ids(config_for(loopback), ["0000.0000"]) == []
    assert list(fetch_arxiv(config_for(loopback), category="cs.CL", since=SINCE,
                            until=UNTIL)) == []
    assert len(loopback.requests) == 2


def test_no_ids_sends_nothing(loopback):
    assert fetch_arxiv_ids(config_for(loopback), []) == []
    assert loopback.requests == []


def test_error_message_reader_ignores_normal_feeds(recorded):
    assert arxiv_error_message(recorded("id_abc_s0_m100")[1]) == "incorrect id format for abc"
    assert arxiv_error_message(recorded("id_1707.08567_s0_m100")[1]) is None
    assert arxiv_error_message("not xml") is None


# --- validation ----------------------------------------------------------------------

@pytest.mark.parametrize("category", ["cs.CL", "math.AG", "astro-ph", "astro-ph.CO",
                                      "cond-mat.mes-hall", "q-bio.NC", "hep-th", "stat.ML"])
def test_valid_categories(category: str):
    assert validate_category(category) == category


@pytest.mark.parametrize("category", ["", "cs CL", "cs.CL OR all:x", "cs.", "CS.CL", "cs:CL",
                                      "cs.CL]", "cs.CL*"])
def test_invalid_categories_are_refused_before_any_request(loopback, category: str):
    with pytest.raises(ValueError, match="not of the form"):
        list(fetch_arxiv(config_for(loopback), category=category, since=SINCE, until=UNTIL))
    assert loopback.requests == []


def test_backwards_range_and_bad_sizes_are_refused(loopback):
    config = config_for(loopback)
    with pytest.raises(ValueError, match=r"since \(2024-10-25\) is after until \(2024-10-21\)"):
        list(fetch_arxiv(config, category="cs.CL", since=UNTIL, until=SINCE))
    with pytest.raises(ValueError, match="page_size"):
        list(fetch_arxiv(config, category="cs.CL", since=SINCE, until=UNTIL, page_size=0))
    with pytest.raises(ValueError, match="max_results"):
        list(fetch_arxiv(config, category="cs.CL", since=SINCE, until=UNTIL, max_results=-1))
    with pytest.raises(ValueError, match="not an arXiv id"):
        fetch_arxiv_ids(config, ["2104.12255, 1707.08567"])
    assert loopback.requests == []


def test_search_query_shape():
    assert search_query("math.AG", date(2026, 1, 5), date(2026, 1, 9)) == (
        "cat:math.AG AND submittedDate:[202601050000 TO 202601092359]")
