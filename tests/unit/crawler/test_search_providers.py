"""Contract tests of the search adapters against local servers speaking SearXNG's and Brave's
wire protocols: what is asked, what is understood, and every way an answer goes wrong."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.crawler.domain.search_results import (
    PlannedSearch,
    ProviderError,
    ProviderRefusal,
    SearchKind,
    SearchRequest,
    answered_state,
    planned_searches,
    seeded_urls,
)
from services.crawler.search_providers import BraveProvider, SearchProvider, SearxngProvider
from shared.events import JobConfig
from tests.sites.search_engines import FakeBrave, FakeResult, FakeSearxng

KEY = "brave-test-key"
PAGES = [
    FakeResult(f"https://site{n % 3}.example/post/{n}", f"Post {n}", f"about tides {n}") for n in range(25)
]
IMAGES = [
    FakeResult(
        f"https://photos.example/page/{n}",
        f"A tide pool, photo {n}",
        image_url=f"https://cdn.photos.example/{n}.jpg",
        thumbnail_url=f"https://cdn.photos.example/thumb/{n}.jpg",
        width=800 + n,
        height=600,
    )
    for n in range(30)
]
INDEX = {"tide tables": PAGES, "tide pools": IMAGES}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=1.0) as http:
        yield http


@pytest.fixture
async def searxng() -> AsyncIterator[FakeSearxng]:
    async with FakeSearxng(INDEX, per_page=10) as engine:
        yield engine


@pytest.fixture
async def brave() -> AsyncIterator[FakeBrave]:
    async with FakeBrave(INDEX, api_key=KEY) as engine:
        yield engine


def _providers(searxng: FakeSearxng, brave: FakeBrave, client: httpx.AsyncClient) -> list[SearchProvider]:
    return [SearxngProvider(client, searxng.base_url), BraveProvider(client, brave.url("/res/v1"), KEY)]


async def test_searxng_web_results_page_by_page(searxng: FakeSearxng, client: httpx.AsyncClient) -> None:
    provider = SearxngProvider(client, searxng.base_url)
    first = await provider.search(SearchRequest("tide tables", limit=10, language="en", time_range="month"))
    second = await provider.search(SearchRequest("tide tables", limit=10, page=2))
    assert [hit.url for hit in first.hits + second.hits] == [r.url for r in PAGES[:20]]
    assert [hit.rank for hit in first.hits + second.hits] == list(range(1, 21))
    assert (first.hits[3].title, first.hits[3].snippet, first.hits[3].engine) == (
        "Post 3",
        "about tides 3",
        "duckduckgo",
    )
    asked = parse_qs(urlsplit(searxng.searches()[0]).query)
    assert asked["format"] == ["json"] and asked["categories"] == ["general"] and asked["pageno"] == ["1"]
    assert asked["language"] == ["en"] and asked["time_range"] == ["month"] and asked["safesearch"] == ["1"]


async def test_searxng_images_carry_the_image_its_page_and_size(
    searxng: FakeSearxng, client: httpx.AsyncClient
) -> None:
    provider = SearxngProvider(client, searxng.base_url)
    answer = await provider.search(SearchRequest("tide pools", kind=SearchKind.IMAGES, limit=10, page=3))
    assert [hit.image_url for hit in answer.hits] == [
        f"https://cdn.photos.example/{n}.jpg" for n in range(20, 30)
    ]
    hit = answer.hits[0]
    assert (hit.url, hit.rank, hit.width, hit.height) == ("https://photos.example/page/20", 21, 820, 600)
    assert hit.thumbnail_url == "https://cdn.photos.example/thumb/20.jpg"
    assert parse_qs(urlsplit(searxng.searches()[0]).query)["categories"] == ["images"]


async def test_brave_web_and_images(brave: FakeBrave, client: httpx.AsyncClient) -> None:
    provider = BraveProvider(client, brave.url("/res/v1"), KEY)
    second = await provider.search(
        SearchRequest("tide tables", limit=20, page=2, region="GB", time_range="week")
    )
    assert [hit.url for hit in second.hits] == [r.url for r in PAGES[20:25]]
    assert [hit.rank for hit in second.hits] == list(range(21, 26))
    asked = parse_qs(urlsplit(brave.searches()[0]).query)
    assert asked["offset"] == ["1"] and asked["count"] == ["20"] and asked["country"] == ["GB"]
    assert asked["freshness"] == ["pw"] and asked["safesearch"] == ["strict"]
    assert brave.access_log[0].headers["x-subscription-token"] == KEY

    images = await provider.search(SearchRequest("tide pools", kind=SearchKind.IMAGES, limit=20, page=2))
    assert [hit.image_url for hit in images.hits] == [
        f"https://cdn.photos.example/{n}.jpg" for n in range(20, 30)
    ]
    assert (images.hits[0].rank, images.hits[0].width, images.hits[0].url) == (
        21,
        820,
        "https://photos.example/page/20",
    )


async def test_no_results_is_an_answer_with_the_providers_diagnostics(
    searxng: FakeSearxng, brave: FakeBrave, client: httpx.AsyncClient
) -> None:
    searx, brave_provider = _providers(searxng, brave, client)
    nothing = await searx.search(SearchRequest("no such thing"))
    assert nothing.hits == []
    assert nothing.diagnostics["unresponsive_engines"] == [["google", "CAPTCHA"], ["bing", "timeout"]]
    assert nothing.diagnostics["suggestions"] == ["no such thing tips"]
    brave.fail_next("empty")
    empty = await brave_provider.search(SearchRequest("tide tables"))
    assert empty.hits == [] and empty.diagnostics == {
        "query": {"original": "", "altered": " ", "spellcheck_off": False}
    }


@pytest.mark.parametrize(
    ("fault", "refusal"),
    [
        ("429", ProviderRefusal.RATE_LIMITED),
        ("captcha", ProviderRefusal.CAPTCHA),
        ("captcha200", ProviderRefusal.CAPTCHA),
        ("500", ProviderRefusal.SERVER),
        ("slow", ProviderRefusal.NETWORK),
    ],
)
async def test_faults_are_errors_the_breaker_understands(
    fault: str, refusal: ProviderRefusal, searxng: FakeSearxng, brave: FakeBrave, client: httpx.AsyncClient
) -> None:
    for provider, engine in zip(_providers(searxng, brave, client), (searxng, brave), strict=True):
        engine.fail_next(fault)
        with pytest.raises(ProviderError) as raised:
            await provider.search(SearchRequest("tide tables"))
        assert raised.value.refusal is refusal and raised.value.trips_breaker
        if fault == "429":
            assert raised.value.retry_after == 1.0
        # The fault was one answer: the next request is answered.
        engine.behaviour.slow_seconds = 0
        assert (await provider.search(SearchRequest("tide tables"))).hits


async def test_a_refused_key_or_a_searxng_without_json_does_not_trip_the_breaker(
    searxng: FakeSearxng, brave: FakeBrave, client: httpx.AsyncClient
) -> None:
    with pytest.raises(ProviderError) as wrong_key:
        await BraveProvider(client, brave.url("/res/v1"), "not-the-key").search(SearchRequest("tide tables"))
    assert wrong_key.value.refusal is ProviderRefusal.REFUSED and not wrong_key.value.trips_breaker
    assert "401" in str(wrong_key.value) and "not-the-key" not in str(wrong_key.value)
    unreachable = SearxngProvider(client, "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ProviderError) as nobody:
        await unreachable.search(SearchRequest("tide tables"))
    assert nobody.value.refusal is ProviderRefusal.NETWORK


def test_brand_jobs_search_brand_and_keyword_and_image_jobs_enough_pages() -> None:
    brand = JobConfig.model_validate(
        {
            "kind": "keywords",
            "keywords": ["boots", " boots ", "laces"],
            "brand_name": "Acme",
            "options": {"search_region": "DE"},
        }
    )
    planned = planned_searches(brand)
    assert [(s.keyword, s.request.query, s.request.page, s.request.region) for s in planned] == [
        ("boots", "Acme boots", 1, "DE"),
        ("laces", "Acme laces", 1, "DE"),
    ]
    images = JobConfig.model_validate(
        {"kind": "images", "keywords": ["tide pools"], "limits": {"max_images": 45}}
    )
    assert [(s.request.kind, s.request.page) for s in planned_searches(images)] == [
        (SearchKind.IMAGES, 1),
        (SearchKind.IMAGES, 2),
        (SearchKind.IMAGES, 3),
    ]
    # Nothing on the first page is news; nothing on a later page is the end of the results.
    first, _, third = planned_searches(images)
    assert [answered_state(first, 0), answered_state(third, 0), answered_state(first, 4)] == [
        "zero_results",
        "done",
        "done",
    ]


async def test_results_seed_the_frontier_once_each_with_their_provenance(
    searxng: FakeSearxng, client: httpx.AsyncClient
) -> None:
    search = PlannedSearch("tide pools", SearchRequest("tide pools", kind=SearchKind.IMAGES, limit=10))
    answer = await SearxngProvider(client, searxng.base_url).search(search.request)
    doubled = type(answer)(answer.hits + answer.hits[:3], answer.diagnostics)
    urls = seeded_urls(search, "searxng", doubled)
    assert [u.url for u in urls] == [f"https://cdn.photos.example/{n}.jpg" for n in range(10)]
    first = urls[0]
    assert (first.kind, first.depth, first.discovered_from) == ("image", 0, "https://photos.example/page/0")
    assert first.provenance == {
        "keyword": "tide pools",
        "query": "tide pools",
        "provider": "searxng",
        "rank": 1,
        "engine": "duckduckgo",
        "title": "A tide pool, photo 0",
    }
    web = PlannedSearch("tides", SearchRequest("Acme tides"))
    pages = seeded_urls(
        web, "brave", (await SearxngProvider(client, searxng.base_url).search(SearchRequest("tide tables")))
    )
    assert all(u.kind == "page" and u.provenance and u.provenance["query"] == "Acme tides" for u in pages)
