"""Web and image search for keyword jobs: what to ask, and what a provider's answer says.

A keyword job searches each keyword (prefixed with the job's brand for brand jobs), and each
of its expansions, on the configured provider — a SearXNG instance's JSON API or the Brave
Search API — and seeds the run's frontier with the results, each carrying its provenance
(keyword, expansion, provider, rank, engine). An image job searches images, up to its
`max_images`. Answers are parsed here; an answer that is not the provider's JSON (a CAPTCHA
or block page) is an error of its own, and an answer with no results is reported as such,
with what the provider said about it, never taken for a quiet success.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from services.crawler.domain.expansion import keywords_of
from services.crawler.domain.records import NewUrl, new_url
from services.crawler.domain.urls import canonical_url
from shared.events import JobConfig, JobKind


class SearchKind(StrEnum):
    WEB = "web"
    IMAGES = "images"


@dataclass(frozen=True)
class SearchRequest:
    query: str
    kind: SearchKind = SearchKind.WEB
    limit: int = 10
    page: int = 1
    language: str | None = None
    region: str | None = None
    time_range: str | None = None  # day | week | month | year
    safe: bool = True

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "kind": self.kind.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchRequest:
        return cls(**{**data, "kind": SearchKind(data["kind"])})

    def cache_key(self, provider: str) -> str:
        asked: list[object] = [provider, self.query.strip().lower(), self.kind.value, self.limit, self.page]
        asked += [self.language, self.region, self.time_range, self.safe]
        return hashlib.sha256(json.dumps(asked).encode()).hexdigest()


@dataclass(frozen=True)
class SearchHit:
    url: str  # the page (for an image, the page it is on)
    title: str
    snippet: str
    rank: int  # 1-based, over all pages of the search
    engine: str
    published: str | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class SearchAnswer:
    hits: list[SearchHit]
    diagnostics: dict[str, Any] = field(default_factory=dict)  # why an answer is empty, per provider

    def to_json(self) -> dict[str, Any]:
        return {"hits": [vars(hit) for hit in self.hits], "diagnostics": self.diagnostics}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchAnswer:
        return cls([SearchHit(**hit) for hit in data["hits"]], data.get("diagnostics", {}))


class ProviderRefusal(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429
    CAPTCHA = "captcha"  # an HTML page where JSON was asked for
    SERVER = "server"  # 5xx
    NETWORK = "network"  # no answer
    REFUSED = "refused"  # 4xx other than 429: our request or key is wrong


class ProviderError(Exception):
    def __init__(self, refusal: ProviderRefusal, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{refusal.value}: {detail}")
        self.refusal = refusal
        self.detail = detail
        self.retry_after = retry_after

    @property
    def trips_breaker(self) -> bool:
        return self.refusal is not ProviderRefusal.REFUSED


@dataclass(frozen=True)
class PlannedSearch:
    keyword: str
    request: SearchRequest
    expansion: str | None = None  # the phrase searched for the keyword, when it is an expansion's


RESULTS_PER_PAGE = 20


def planned_searches(
    config: JobConfig, expansions: Mapping[str, list[str]] | None = None
) -> list[PlannedSearch]:
    """The searches a job's keywords ask for (or, given `expansions`, those phrases, each under
    its keyword): "<brand> <phrase>" for brand jobs; images for an image job, enough pages to
    reach its `max_images`; the first page of web results otherwise."""
    images = config.kind is JobKind.IMAGES
    wanted = (config.limits.max_images or RESULTS_PER_PAGE) if images else RESULTS_PER_PAGE
    pages = max(1, -(-wanted // RESULTS_PER_PAGE))  # ceiling division
    language = config.options.get("search_language")
    region = config.options.get("search_region")
    terms: list[tuple[str, str | None]]
    if expansions is None:
        terms = [(keyword, None) for keyword in keywords_of(config)]
    else:
        terms = [(keyword, phrase) for keyword, phrases in expansions.items() for phrase in phrases]
    planned = []
    for keyword, expansion in terms:
        term = expansion or keyword
        query = f"{config.brand_name} {term}" if config.brand_name else term
        for page in range(1, pages + 1):
            request = SearchRequest(
                query=query,
                kind=SearchKind.IMAGES if images else SearchKind.WEB,
                limit=RESULTS_PER_PAGE,
                page=page,
                language=language if isinstance(language, str) else None,
                region=region if isinstance(region, str) else None,
            )
            planned.append(PlannedSearch(keyword, request, expansion))
    return planned


def seeded_urls(search: PlannedSearch, provider: str, answer: SearchAnswer) -> list[NewUrl]:
    """The frontier URLs a search's results seed, once each, with where they came from: the
    result's page for a web search (its links then followed within its own site, to the job's
    depth); the image itself for an image search, with the page it is on and its title, which
    engines take from the image's alt text."""
    images = search.request.kind is SearchKind.IMAGES
    found: dict[str, NewUrl] = {}
    for hit in answer.hits:
        provenance = {
            "keyword": search.keyword,
            "query": search.request.query,
            "provider": provider,
            "rank": hit.rank,
            "engine": hit.engine,
            "title": hit.title,
        }
        if search.expansion is not None:
            provenance["expansion"] = search.expansion
        page = canonical_url(hit.url)
        if images and hit.image_url:
            image = canonical_url(hit.image_url)
            url = new_url(image, depth=0, kind="image", discovered_from=page, provenance=provenance)
        else:
            url = new_url(page, depth=0, provenance=provenance)
        found.setdefault(url.url_hash, url)
    return list(found.values())


def answered_state(search: PlannedSearch, results: int) -> str:
    """ "zero_results" when a search found nothing at all; a later page that is empty is only
    the end of the results ("done")."""
    return "done" if results or search.request.page > 1 else "zero_results"


def parse_searxng(body: bytes, content_type: str, request: SearchRequest) -> SearchAnswer:
    """SearXNG's `format=json` answer (results, unresponsive_engines, ...)."""
    data = _json_answer(body, content_type, "SearXNG")
    offset = (request.page - 1) * request.limit
    hits: list[SearchHit] = []
    for result in data.get("results", [])[: request.limit]:
        url = result.get("url")
        if not isinstance(url, str) or not _http(url):
            continue
        image = result.get("img_src") if request.kind is SearchKind.IMAGES else None
        if request.kind is SearchKind.IMAGES and not (isinstance(image, str) and _http(image)):
            continue
        width, height = _resolution(result.get("resolution"))
        hits.append(
            SearchHit(
                url=url,
                title=str(result.get("title") or ""),
                snippet=str(result.get("content") or ""),
                rank=offset + len(hits) + 1,
                engine=str(result.get("engine") or ",".join(result.get("engines") or []) or "searxng"),
                published=result.get("publishedDate"),
                image_url=image,
                thumbnail_url=result.get("thumbnail_src") or result.get("thumbnail"),
                width=width,
                height=height,
            )
        )
    diagnostics = {}
    if not hits:
        diagnostics = {
            "unresponsive_engines": data.get("unresponsive_engines", []),
            "suggestions": data.get("suggestions", []),
            "corrections": data.get("corrections", []),
            "number_of_results": data.get("number_of_results", 0),
        }
    return SearchAnswer(hits, diagnostics)


def parse_brave(body: bytes, content_type: str, request: SearchRequest) -> SearchAnswer:
    """The Brave Search API's answer: `web.results` for web search, `results` for images."""
    data = _json_answer(body, content_type, "Brave")
    images = request.kind is SearchKind.IMAGES
    results = data.get("results", []) if images else (data.get("web") or {}).get("results", [])
    offset = (request.page - 1) * request.limit
    hits: list[SearchHit] = []
    for result in results[: request.limit]:
        url = result.get("url")
        if not isinstance(url, str) or not _http(url):
            continue
        image = (result.get("properties") or {}).get("url") if request.kind is SearchKind.IMAGES else None
        if request.kind is SearchKind.IMAGES and not (isinstance(image, str) and _http(image)):
            continue
        properties = result.get("properties") or {}
        hits.append(
            SearchHit(
                url=url,
                title=str(result.get("title") or ""),
                snippet=str(result.get("description") or ""),
                rank=offset + len(hits) + 1,
                engine="brave",
                published=result.get("page_age") or result.get("age"),
                image_url=image,
                thumbnail_url=(result.get("thumbnail") or {}).get("src"),
                width=_int(properties.get("width")),
                height=_int(properties.get("height")),
            )
        )
    diagnostics = {}
    if not hits:
        query = data.get("query") or {}
        said = ("original", "altered", "spellcheck_off")
        diagnostics = {"query": {name: query[name] for name in said if name in query}}
    return SearchAnswer(hits, diagnostics)


def _json_answer(body: bytes, content_type: str, provider: str) -> dict[str, Any]:
    """The JSON object a provider answered; a CAPTCHA or block page (HTML) is an error."""
    looks_html = "html" in content_type.lower() or body.lstrip()[:1] == b"<"
    if looks_html:
        detail = f"{provider} answered an HTML page (a CAPTCHA or a block)"
        raise ProviderError(ProviderRefusal.CAPTCHA, detail)
    try:
        data = json.loads(body)
    except ValueError as exc:
        detail = f"{provider} answered something that is not JSON"
        raise ProviderError(ProviderRefusal.SERVER, detail) from exc
    if not isinstance(data, dict):
        raise ProviderError(ProviderRefusal.SERVER, f"{provider} answered JSON that is not an object")
    return data


def _http(url: str) -> bool:
    try:
        return urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).hostname)
    except ValueError:
        return False


def _resolution(value: Any) -> tuple[int | None, int | None]:
    """SearXNG writes an image's size as "800x600" (sometimes "800 x 600")."""
    if not isinstance(value, str) or "x" not in value:
        return None, None
    width, _, height = value.replace(" ", "").partition("x")
    return _int(width), _int(height)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
