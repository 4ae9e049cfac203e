"""Metadata through the real `arxiv` package against the fake export API, and the shared pacing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import arxiv as arxiv_package
import httpx
import pytest

from bot.arxiv.api import ArxivApi, ArxivApiError
from bot.arxiv.http import (
    ArxivPacer,
    ArxivRetry,
    ArxivUnavailableError,
    retry_after_seconds,
    with_retries,
)
from storage.models import Author
from tests.clock import VirtualClock
from tests.fakes.arxiv_server import API, HTML, FakeArxiv


@pytest.fixture
async def api(arxiv: FakeArxiv, virtual_clock: VirtualClock) -> AsyncIterator[ArxivApi]:
    pacer = ArxivPacer(3, monotonic=virtual_clock, sleep=virtual_clock.sleep)
    client = ArxivApi(
        arxiv.api_url, pacer, retry=ArxivRetry(attempts=3), sleep=virtual_clock.sleep, timeout=(0.5, 0.2)
    )
    yield client
    client.close()


async def test_metadata_has_everything_the_feed_lacks(arxiv, api):
    arxiv.add_paper(
        "2508.00001",
        "  Scaling\n   Retrieval ",
        authors=[("Petra Baltescu", ["Pinterest"]), ("Hao Chen", ["Microsoft Research", "Aalto University"])],
        categories=["cs.LG", "cs.IR"],
        primary="cs.IR",
        comment="Accepted at  KDD 2025",
        journal_ref="Proc. KDD 2025",
        doi="10.1145/1234567",
        version=2,
        abstract="We scale\nretrieval.",
    )

    batch = await api.fetch(["2508.00001", "2508.99999"])

    assert batch.missing == ("2508.99999",)
    (paper,) = batch.papers
    assert paper.arxiv_id == "2508.00001"
    assert paper.version == 2
    assert paper.title == "Scaling Retrieval"
    assert paper.abstract == "We scale retrieval."
    assert paper.authors == (
        Author("Petra Baltescu", ("Pinterest",)),
        Author("Hao Chen", ("Microsoft Research", "Aalto University")),
    )
    assert paper.primary_category == "cs.IR"
    assert paper.categories == ("cs.IR", "cs.LG")
    assert (paper.comment, paper.journal_ref, paper.doi) == (
        "Accepted at KDD 2025",
        "Proc. KDD 2025",
        "10.1145/1234567",
    )


async def test_absent_optional_fields_are_none_and_old_style_ids_work(arxiv, api):
    arxiv.add_paper("cs/0501001", categories=["cs.IR"], version=3)
    (paper,) = (await api.fetch(["cs/0501001"])).papers
    assert (paper.arxiv_id, paper.version) == ("cs/0501001", 3)
    assert (paper.comment, paper.journal_ref, paper.doi) == (None, None, None)


async def test_250_ids_take_three_paced_requests(arxiv, api, virtual_clock):
    ids = [f"2508.{number:05d}" for number in range(250)]
    for arxiv_id in ids:
        arxiv.add_paper(arxiv_id)

    batches = [batch async for batch in api.batches([*ids, ids[0]])]

    requests = arxiv.requests_to(API)
    assert [len(request.ids) for request in requests] == [100, 100, 50]
    assert [arxiv_id for request in requests for arxiv_id in request.ids] == ids
    assert {request.param("max_results") for request in requests} == {"100"}
    assert [paper.arxiv_id for batch in batches for paper in batch.papers] == ids
    assert virtual_clock.sleeps == [3.0, 3.0]


async def test_a_batch_larger_than_one_request_is_refused_and_an_empty_one_asks_nothing(arxiv, api):
    with pytest.raises(ValueError, match="at most 100 ids"):
        await api.fetch([f"2508.{number:05d}" for number in range(101)])
    assert (await api.fetch([])).papers == ()
    assert arxiv.requests == []


async def test_server_errors_are_retried_by_us_not_by_the_package(arxiv, api, virtual_clock):
    arxiv.add_paper("2508.00001")
    arxiv.fail(API, 503, times=2)

    batch = await api.fetch(["2508.00001"])

    assert [paper.arxiv_id for paper in batch.papers] == ["2508.00001"]
    assert len(arxiv.requests_to(API)) == 3
    assert virtual_clock.sleeps == [5.0, 10.0]


async def test_429_retry_after_is_honoured(arxiv, api, virtual_clock):
    arxiv.add_paper("2508.00001")
    arxiv.fail(API, 429, retry_after="17")

    await api.fetch(["2508.00001"])

    assert virtual_clock.sleeps == [17.0]


async def test_a_slow_api_times_out_and_gives_up_after_the_last_attempt(arxiv, api):
    arxiv.add_paper("2508.00001")
    arxiv.slow(API, 30, times=None)

    with pytest.raises(ArxivUnavailableError, match="ReadTimeout"):
        await api.fetch(["2508.00001"])
    assert len(arxiv.requests_to(API)) == 3


async def test_truncated_responses_are_retried(arxiv, api):
    arxiv.add_paper("2508.00001")
    arxiv.truncate(API)
    assert len((await api.fetch(["2508.00001"])).papers) == 1
    assert len(arxiv.requests_to(API)) == 2


async def test_malformed_xml_is_an_error_not_a_partial_result(arxiv, api):
    for number in range(20):
        arxiv.add_paper(f"2508.{number:05d}")
    arxiv.malformed(API)
    with pytest.raises(ArxivApiError, match="malformed XML"):
        await api.fetch([f"2508.{number:05d}" for number in range(20)])
    assert len(arxiv.requests_to(API)) == 1


async def test_client_errors_are_not_retried(arxiv, api):
    arxiv.fail(API, 400)
    with pytest.raises(ArxivApiError, match="HTTP 400"):
        await api.fetch(["2508.00001"])
    assert len(arxiv.requests_to(API)) == 1


async def test_pacer_spaces_request_starts_by_the_delay():
    clock = VirtualClock()
    pacer = ArxivPacer(3, monotonic=clock, sleep=clock.sleep)

    starts = [await pacer.wait()]
    clock.now += 1.0
    starts.append(await pacer.wait())
    clock.now += 10.0
    starts.append(await pacer.wait())
    starts.extend(await asyncio.gather(pacer.wait(), pacer.wait()))

    assert starts == [0.0, 3.0, 13.0, 16.0, 19.0]
    assert clock.sleeps == [2.0, 3.0, 3.0]


async def test_pacer_serves_worker_threads_too():
    clock = VirtualClock()
    pacer = ArxivPacer(3, monotonic=clock, sleep=clock.sleep)
    loop = asyncio.get_running_loop()

    starts = await asyncio.gather(
        pacer.wait(),
        asyncio.to_thread(pacer.wait_from_thread, loop),
        asyncio.to_thread(pacer.wait_from_thread, loop),
    )

    assert sorted(starts) == [0.0, 3.0, 6.0]


def test_backoff_is_exponential_and_bounded():
    policy = ArxivRetry(first_backoff=5, max_backoff=60, max_retry_after=120)
    assert [policy.backoff(retry) for retry in range(6)] == [5, 10, 20, 40, 60, 60]
    assert policy.backoff(0, retry_after=7) == 7
    assert policy.backoff(3, retry_after=3600) == 120


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2025, 8, 20, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 20 Aug 2025 12:01:30 GMT", now) == 90
    assert retry_after_seconds("Wed, 20 Aug 2025 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


async def test_with_retries_stops_at_the_first_success_and_passes_other_errors_through():
    clock = VirtualClock()
    outcomes: list[Exception | str] = [ArxivUnavailableError("down"), "ok"]

    async def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert await with_retries(attempt, ArxivRetry(), sleep=clock.sleep, what="test") == "ok"
    outcomes[:] = [ArxivApiError("bad request")]
    with pytest.raises(ArxivApiError):
        await with_retries(attempt, ArxivRetry(), sleep=clock.sleep, what="test")
    assert clock.sleeps == [5.0]


def test_the_fake_pages_search_queries_like_arxiv(arxiv):
    """The fake also answers `search_query` with paging, as the package walks it (sync use)."""
    for day in range(1, 6):
        arxiv.add_paper(f"2508.0000{day}", categories=["cs.IR"], published=datetime(2025, 8, day, tzinfo=UTC))
    arxiv.add_paper("2508.00009", categories=["cs.CV"])
    client = arxiv_package.Client(page_size=2, delay_seconds=0, num_retries=0)
    client.query_url_format = arxiv.api_url + "?{}"
    search = arxiv_package.Search(
        query="cat:cs.IR", max_results=None, sort_by=arxiv_package.SortCriterion.SubmittedDate
    )

    found = [result.get_short_id() for result in client.results(search)]

    assert found == [f"2508.0000{day}v1" for day in range(5, 0, -1)]
    assert [request.param("start") for request in arxiv.requests_to(API)] == ["0", "2", "4"]


async def test_the_fake_serves_html_pages_by_version(arxiv):
    arxiv.add_paper("2508.00001", version=2)
    arxiv.set_html("2508.00001v2", "<html><body>authors</body></html>")
    async with httpx.AsyncClient() as http:
        assert (await http.get(arxiv.html_url + "2508.00001v2")).text == "<html><body>authors</body></html>"
        assert (await http.get(arxiv.html_url + "2508.00001")).status_code == 200
        assert (await http.get(arxiv.html_url + "2508.00001v1")).status_code == 404
    assert [request.path for request in arxiv.requests_to(HTML)] == [
        "/html/2508.00001v2",
        "/html/2508.00001",
        "/html/2508.00001v1",
    ]
