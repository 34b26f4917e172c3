"""Local stand-ins for the search providers, speaking their wire protocols.

`FakeSearxng` answers like a SearXNG instance's `/search?format=json` (403 when another format
is asked, as an instance without JSON output does); `FakeBrave` like the Brave Search API's
`/res/v1/web/search` and `/res/v1/images/search`, with its subscription-token check and error
bodies. Both answer from an `index` (query -> results, paginated), and both can be told to
misbehave: `faults` is a queue of what the next requests get instead of an answer — "429"
(with Retry-After), "captcha" (an HTML challenge page), "500", "slow" (an answer after
`slow_seconds`), "empty" (no results, with the provider's diagnostics).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from tests.sites.server import LoggedSite

CAPTCHA_PAGE = (
    "<!doctype html><html><head><title>Just a moment...</title></head>"
    "<body><form id='challenge-form'>Please verify you are a human</form></body></html>"
)


@dataclass(frozen=True)
class FakeResult:
    url: str  # the page
    title: str
    content: str = ""
    engine: str = "duckduckgo"
    image_url: str | None = None
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class _Behaviour:
    index: dict[str, list[FakeResult]]
    per_page: int
    faults: deque[str] = field(default_factory=deque)
    slow_seconds: float = 2.0
    retry_after: int = 1


class _FakeEngine(LoggedSite):
    def __init__(self, index: dict[str, list[FakeResult]], *, per_page: int = 10) -> None:
        super().__init__()
        self.behaviour = _Behaviour({query.lower(): results for query, results in index.items()}, per_page)

    def fail_next(self, *faults: str) -> None:
        self.behaviour.faults.extend(faults)

    def searches(self) -> list[str]:
        """The requests that reached the engine's search endpoint, in order."""
        return [record.path for record in self.access_log if "search" in record.path]

    async def _fault(self) -> web.Response | None:
        """The next fault's answer, or None to answer normally ("slow" answers late but normally)."""
        if not self.behaviour.faults:
            return None
        fault = self.behaviour.faults.popleft()
        match fault:
            case "429":
                return self._rate_limited()
            case "captcha":
                return web.Response(status=403, text=CAPTCHA_PAGE, content_type="text/html")
            case "captcha200":
                return web.Response(status=200, text=CAPTCHA_PAGE, content_type="text/html")
            case "500":
                return web.Response(status=500, text="Internal Server Error")
            case "slow":
                await asyncio.sleep(self.behaviour.slow_seconds)
                return None
            case "empty":
                return self._empty()
        raise ValueError(f"unknown fault {fault!r}")

    def _page(self, query: str, page: int, per_page: int) -> list[FakeResult]:
        results = self.behaviour.index.get(query.strip().lower(), [])
        return results[(page - 1) * per_page : page * per_page]

    def _rate_limited(self) -> web.Response:
        raise NotImplementedError

    def _empty(self) -> web.Response:
        raise NotImplementedError


class FakeSearxng(_FakeEngine):
    def routes(self, app: web.Application) -> None:
        app.router.add_get("/search", self._search)

    async def _search(self, request: web.Request) -> web.Response:
        if request.query.get("format") != "json":
            return web.Response(status=403, text="Forbidden")  # JSON output is off
        if (fault := await self._fault()) is not None:
            return fault
        query = request.query.get("q", "")
        page = int(request.query.get("pageno", "1"))
        images = request.query.get("categories") == "images"
        found = [r for r in self._page(query, page, self.behaviour.per_page) if bool(r.image_url) == images]
        if not found:
            return self._empty(query)
        return web.json_response(
            {
                "query": query,
                "number_of_results": len(self.behaviour.index.get(query.lower(), [])),
                "results": [_searxng_result(result, images) for result in found],
                "answers": [],
                "corrections": [],
                "infoboxes": [],
                "suggestions": [],
                "unresponsive_engines": [],
            }
        )

    def _rate_limited(self) -> web.Response:
        headers = {"Retry-After": str(self.behaviour.retry_after)}
        return web.Response(status=429, text="Too Many Requests", headers=headers)

    def _empty(self, query: str = "") -> web.Response:
        return web.json_response(
            {
                "query": query,
                "number_of_results": 0,
                "results": [],
                "answers": [],
                "corrections": [],
                "infoboxes": [],
                "suggestions": [f"{query} tips"] if query else [],
                "unresponsive_engines": [["google", "CAPTCHA"], ["bing", "timeout"]],
            }
        )


def _searxng_result(result: FakeResult, images: bool) -> dict[str, object]:
    answer: dict[str, object] = {
        "url": result.url,
        "title": result.title,
        "content": result.content,
        "engine": result.engine,
        "engines": [result.engine],
        "category": "images" if images else "general",
        "score": 1.0,
    }
    if images:
        answer["img_src"] = result.image_url
        answer["thumbnail_src"] = result.thumbnail_url or result.image_url
        if result.width and result.height:
            answer["resolution"] = f"{result.width} x {result.height}"
        answer["template"] = "images.html"
    return answer


class FakeBrave(_FakeEngine):
    def __init__(self, index: dict[str, list[FakeResult]], *, api_key: str, per_page: int = 20) -> None:
        super().__init__(index, per_page=per_page)
        self.api_key = api_key

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/res/v1/web/search", self._web)
        app.router.add_get("/res/v1/images/search", self._images)

    async def _checked(self, request: web.Request) -> web.Response | None:
        if request.headers.get("X-Subscription-Token") != self.api_key:
            return _brave_error(
                401, "SUBSCRIPTION_TOKEN_INVALID", "The provided subscription token is invalid."
            )
        return await self._fault()

    async def _web(self, request: web.Request) -> web.Response:
        if (refused := await self._checked(request)) is not None:
            return refused
        query = request.query.get("q", "")
        count = min(20, int(request.query.get("count", "20")))
        offset = int(request.query.get("offset", "0"))
        found = [r for r in self._page(query, offset + 1, count) if not r.image_url]
        if not found:
            return self._empty(query)
        results = [
            {"title": r.title, "url": r.url, "description": r.content, "page_age": "2026-11-30T10:00:00"}
            for r in found
        ]
        return web.json_response(
            {"type": "search", "query": _brave_query(query), "web": {"type": "search", "results": results}}
        )

    async def _images(self, request: web.Request) -> web.Response:
        if (refused := await self._checked(request)) is not None:
            return refused
        query = request.query.get("q", "")
        count = min(200, int(request.query.get("count", "50")))
        found = [r for r in self._page(query, 1, count) if r.image_url][:count]
        results = [
            {
                "type": "image_result",
                "title": r.title,
                "url": r.url,
                "source": r.url.split("/")[2],
                "thumbnail": {"src": r.thumbnail_url or r.image_url},
                "properties": {"url": r.image_url, "placeholder": r.thumbnail_url or r.image_url}
                | ({"width": r.width, "height": r.height} if r.width else {}),
            }
            for r in found
        ]
        return web.json_response({"type": "images", "query": _brave_query(query), "results": results})

    def _rate_limited(self) -> web.Response:
        response = _brave_error(429, "RATE_LIMITED", "Request rate limit exceeded for plan.")
        response.headers["X-RateLimit-Reset"] = f"{self.behaviour.retry_after}, 2592000"
        response.headers["Retry-After"] = str(self.behaviour.retry_after)
        return response

    def _empty(self, query: str = "") -> web.Response:
        return web.json_response(
            {"type": "search", "query": _brave_query(query), "web": {"type": "search", "results": []}}
        )


def _brave_query(query: str) -> dict[str, object]:
    return {"original": query, "altered": f"{query} ", "spellcheck_off": False, "show_strict_warning": False}


def _brave_error(status: int, code: str, detail: str) -> web.Response:
    body = {"type": "ErrorResponse", "error": {"id": "0", "status": status, "code": code, "detail": detail}}
    return web.json_response(body, status=status)
