"""The search providers keyword jobs ask: one interface, an adapter per provider's wire protocol.

`SearxngProvider` calls a SearXNG instance's `/search?format=json` (JSON output must be enabled
in its settings, as Firecrawl's self-hosted search needs too); `BraveProvider` the Brave Search
API with a subscription key. Both turn what goes wrong into a `ProviderError` the guard
understands: `429` (with its Retry-After), an HTML page where JSON was asked for (a CAPTCHA or a
block), a `5xx`, no answer in time, or a refused request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

from services.crawler.domain.search_results import (
    ProviderError,
    ProviderRefusal,
    SearchAnswer,
    SearchKind,
    SearchRequest,
    parse_brave,
    parse_searxng,
)
from shared.config import Settings

MAX_ANSWER_BYTES = 5 * 1024 * 1024
_SAFESEARCH = {True: "1", False: "0"}
_BRAVE_FRESHNESS = {"day": "pd", "week": "pw", "month": "pm", "year": "py"}
BRAVE_MAX_IMAGES = 200  # the image endpoint answers up to 200 results in one page, no offset


class SearchProvider(Protocol):
    name: str

    async def search(self, request: SearchRequest) -> SearchAnswer: ...


class SearxngProvider:
    name = "searxng"

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/search"

    async def search(self, request: SearchRequest) -> SearchAnswer:
        params = {
            "q": request.query,
            "format": "json",
            "pageno": str(request.page),
            "categories": "images" if request.kind is SearchKind.IMAGES else "general",
            "safesearch": _SAFESEARCH[request.safe],
        }
        if request.language:
            params["language"] = request.language
        if request.time_range:
            params["time_range"] = request.time_range
        response = await _get(self._client, self._url, params, {"Accept": "application/json"}, "SearXNG")
        return parse_searxng(response.body, response.content_type, request)


class BraveProvider:
    name = "brave"

    def __init__(self, client: httpx.AsyncClient, base_url: str, api_key: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = {"Accept": "application/json", "X-Subscription-Token": api_key}

    async def search(self, request: SearchRequest) -> SearchAnswer:
        images = request.kind is SearchKind.IMAGES
        params = {"q": request.query, "safesearch": "strict" if request.safe else "off"}
        if images:
            # No offset on images: ask for every page up to this one and keep this one's share.
            params["count"] = str(min(BRAVE_MAX_IMAGES, request.page * request.limit))
        else:
            params["count"] = str(request.limit)
            params["offset"] = str(request.page - 1)
            if request.time_range in _BRAVE_FRESHNESS:
                params["freshness"] = _BRAVE_FRESHNESS[request.time_range]
        if request.language:
            params["search_lang"] = request.language
        if request.region:
            params["country"] = request.region
        url = f"{self._base}/{'images' if images else 'web'}/search"
        response = await _get(self._client, url, params, self._headers, "Brave")
        body, content_type = response.body, response.content_type
        if not images:
            return parse_brave(body, content_type, request)
        everything = parse_brave(
            body, content_type, SearchRequest(**{**vars(request), "page": 1, "limit": 10**6})
        )
        start = (request.page - 1) * request.limit
        return SearchAnswer(everything.hits[start : start + request.limit], everything.diagnostics)


def configured_provider(settings: Settings, client: httpx.AsyncClient) -> SearchProvider | None:
    match settings.search_provider_name():
        case "searxng":
            assert settings.searxng_url is not None
            return SearxngProvider(client, settings.searxng_url)
        case "brave":
            assert settings.brave_api_key is not None
            return BraveProvider(client, settings.brave_url, settings.brave_api_key.get_secret_value())
        case _:
            return None


@dataclass(frozen=True)
class _Answer:
    status: int
    content_type: str
    body: bytes


async def _get(
    client: httpx.AsyncClient, url: str, params: dict[str, str], headers: dict[str, str], provider: str
) -> _Answer:
    try:
        async with client.stream("GET", url, params=params, headers=headers) as response:
            body = bytearray()
            async for part in response.aiter_bytes():
                body += part
                if len(body) > MAX_ANSWER_BYTES:
                    detail = f"{provider} answered more than {MAX_ANSWER_BYTES} bytes"
                    raise ProviderError(ProviderRefusal.SERVER, detail)
    except httpx.TimeoutException as exc:
        raise ProviderError(ProviderRefusal.NETWORK, f"{provider} did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise ProviderError(ProviderRefusal.NETWORK, f"{provider}: {type(exc).__name__}") from exc
    answer = _Answer(response.status_code, response.headers.get("content-type", ""), bytes(body))
    if answer.status == 429:
        retry_after = _retry_after(response.headers.get("retry-after"))
        raise ProviderError(ProviderRefusal.RATE_LIMITED, f"{provider} answered 429", retry_after)
    if answer.status >= 500:
        raise ProviderError(ProviderRefusal.SERVER, f"{provider} answered {answer.status}")
    if answer.status >= 400:
        if "html" in answer.content_type.lower():
            raise ProviderError(
                ProviderRefusal.CAPTCHA, f"{provider} answered {answer.status} with an HTML page"
            )
        raise ProviderError(ProviderRefusal.REFUSED, f"{provider} refused the request ({answer.status})")
    return answer


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, or as an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
