"""The SSRF corpus (tests/corpora/ssrf_urls.txt) through the real fetcher: every URL refused,
fetched directly or at the end of a redirect chain from an allowed site, each with its reason;
nothing reaches the server listening on loopback. And DNS rebinding: a name that answers an
allowed address when checked and loopback the next time is fetched from the checked address."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from services.crawler.domain.fetching import FetchLimits
from services.crawler.domain.ssrf import AddressPolicy, IPAddress
from services.crawler.fetcher import Fetcher, FetchError
from tests.sites.server import LoggedSite

CORPUS = Path(__file__).parents[2] / "corpora" / "ssrf_urls.txt"
ALLOWED_HOST = "127.0.0.2"


@dataclass(frozen=True)
class Case:
    url: str
    reason: str


class Listener(LoggedSite):
    """Answers anything: a request reaching it is a request the guard let through."""

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._any)

    async def _any(self, request: web.Request) -> web.Response:
        return web.Response(text="secret")


class Redirector(LoggedSite):
    """Two hops to a target: /first?to=URL -> /second?to=URL -> URL."""

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/first", self._first)
        app.router.add_get("/second", self._second)

    async def _first(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(self.url("/second?" + request.query_string))

    async def _second(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])


def corpus(port: int) -> list[Case]:
    cases = []
    for line in CORPUS.read_text().splitlines():
        if line.startswith("http"):
            url, reason = line.split("\t")
            cases.append(Case(url.replace("{port}", str(port)), reason))
    return cases


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    async with Listener(host="127.0.0.1") as site:
        yield site


async def refusal(fetcher: Fetcher, url: str) -> str:
    limits = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=5)
    with pytest.raises(FetchError) as refused:
        await fetcher.fetch(url, headers={}, limits=limits)
    assert refused.value.kind == "ssrf", (url, refused.value.kind, str(refused.value))
    return str(refused.value)


async def test_every_url_of_the_corpus_is_refused_with_its_reason(listener: Listener) -> None:
    cases = corpus(listener.port)
    assert len(cases) >= 50
    fetcher = Fetcher(AddressPolicy([f"{ALLOWED_HOST}/32"]))
    async with Redirector(host=ALLOWED_HOST) as redirector:
        try:
            for case in cases:
                direct = await refusal(fetcher, case.url)
                assert direct.endswith(f": {case.reason}"), (case, direct)
                chained = await refusal(fetcher, redirector.url("/first?to=") + case.url)
                assert chained.endswith(f": {case.reason}"), (case, chained)
        finally:
            await fetcher.aclose()
        # Every chain went through both hops of the allowed site, and stopped there.
        hops = [record.path.split("?")[0] for record in redirector.access_log]
        assert (hops.count("/first"), hops.count("/second")) == (len(cases), len(cases))
    assert listener.access_log == []


async def test_a_rebinding_name_is_fetched_from_the_address_that_was_checked(listener: Listener) -> None:
    answers: list[IPAddress] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        # Allowed the first time it is asked, loopback every time after.
        answer = ipaddress.ip_address(ALLOWED_HOST if not answers else "127.0.0.1")
        answers.append(answer)
        return [answer]

    fetcher = Fetcher(AddressPolicy([f"{ALLOWED_HOST}/32"]), lookup=rebinding)
    async with Listener(host=ALLOWED_HOST, port=listener.port) as allowed:
        try:
            fetched = await fetcher.fetch(
                f"http://rebind.example:{listener.port}/page", headers={}, limits=FetchLimits()
            )
            assert fetched.status == 200
            again = await fetcher.fetch(
                f"http://rebind.example:{listener.port}/again", headers={}, limits=FetchLimits()
            )
            assert again.status == 200  # the checked answer, reused for the connection
            other = f"http://other.rebind.example:{listener.port}/"
            assert "127.0.0.1" in await refusal(fetcher, other)  # a fresh lookup: loopback
        finally:
            await fetcher.aclose()
        assert [record.path for record in allowed.access_log] == ["/page", "/again"]
    assert listener.access_log == []
