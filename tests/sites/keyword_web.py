"""A small web of separate sites for keyword jobs, and the search index that finds its pages.

Three sites, each on its own loopback address (127.0.0.3, .4, .5: different hosts, different
registered domains as far as scope goes), each with a home page, four articles about one
subject and links between them — plus, on every article, a link to another site's article,
which a keyword job must not follow (scope is each result's own site). `search_index()`
is what a search provider answers for the tests' keywords: for "tide tables", two articles
of the harbour site and one of the river site; for "lantern repair", one article of the
workshop site; for "unheard-of words", nothing. `KeywordWeb.pages` is every page's text, the
truth the end-to-end test searches for.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from tests.sites.search_engines import FakeResult
from tests.sites.server import LoggedSite

HOSTS = {"harbour": "127.0.0.3", "river": "127.0.0.4", "workshop": "127.0.0.5"}
_SUBJECTS = {
    "harbour": ("tide tables", "Harbour tide tables for the spring equinox, with the sluice gates' hours"),
    "river": ("tide tables", "River tide tables measured at the weir, upstream of the old mill"),
    "workshop": ("lantern repair", "Lantern repair in the workshop: brass burners, wicks and glass chimneys"),
}
ARTICLES = 4


@dataclass(frozen=True)
class Article:
    site: str
    path: str
    title: str
    text: str


def _articles(site: str) -> list[Article]:
    subject, sentence = _SUBJECTS[site]
    return [
        Article(
            site,
            f"/articles/{n}",
            f"{site.title()} notes {n}: {subject}",
            f"{sentence}. Entry number {n} of the {site} notebook records the {subject} "
            f"observed on day {n * 7}, alongside the weather and the {site} keeper's remarks.",
        )
        for n in range(1, ARTICLES + 1)
    ]


class SmallSite(LoggedSite):
    def __init__(self, site: str) -> None:
        super().__init__(host=HOSTS[site])
        self.site = site
        self.articles = _articles(site)
        self.elsewhere = ""  # another site's article, linked from each article (set once all run)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._home)
        app.router.add_get("/robots.txt", self._robots)
        app.router.add_get(r"/articles/{n:\d+}", self._article)

    async def _robots(self, request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow:\n")

    async def _home(self, request: web.Request) -> web.Response:
        links = "".join(f'<li><a href="{a.path}">{html.escape(a.title)}</a></li>' for a in self.articles)
        return _page(f"The {self.site} notebook", f"<ul>{links}</ul>")

    async def _article(self, request: web.Request) -> web.Response:
        index = int(request.match_info["n"]) - 1
        if not 0 <= index < len(self.articles):
            raise web.HTTPNotFound()
        article = self.articles[index]
        others = "".join(
            f'<a href="{a.path}">{html.escape(a.title)}</a> ' for a in self.articles if a != article
        )
        away = f'<a href="{self.elsewhere}">elsewhere</a>'
        body = f"<article><h1>{html.escape(article.title)}</h1><p>{html.escape(article.text)}</p></article>"
        return _page(article.title, f"{body}<nav>{others}{away}</nav>")


def _page(title: str, body: str) -> web.Response:
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body>{body}</body></html>"
    )
    return web.Response(text=document, content_type="text/html")


class KeywordWeb:
    def __init__(self, sites: dict[str, SmallSite]) -> None:
        self.sites = sites

    def url(self, site: str, path: str) -> str:
        return self.sites[site].url(path)

    def search_index(self) -> dict[str, list[FakeResult]]:
        harbour, river, workshop = (self.sites[name] for name in ("harbour", "river", "workshop"))
        return {
            "tide tables": [
                FakeResult(harbour.url("/articles/1"), harbour.articles[0].title, "spring tides", "bing"),
                FakeResult(river.url("/articles/2"), river.articles[1].title, "weir tides", "duckduckgo"),
                FakeResult(harbour.url("/articles/3#tides"), harbour.articles[2].title, "sluice", "bing"),
            ],
            "lantern repair": [
                FakeResult(workshop.url("/articles/4"), workshop.articles[3].title, "burners", "brave"),
            ],
        }

    def found_urls(self) -> set[str]:
        """The pages the index returns, canonical (fragments dropped)."""
        return {hit.url.split("#")[0] for hits in self.search_index().values() for hit in hits}

    def article(self, url: str) -> Article:
        for site in self.sites.values():
            for article in site.articles:
                if site.url(article.path) == url:
                    return article
        raise KeyError(url)


@contextlib.asynccontextmanager
async def keyword_web() -> AsyncIterator[KeywordWeb]:
    sites = {name: SmallSite(name) for name in HOSTS}
    ring = list(sites.values())
    async with contextlib.AsyncExitStack() as stack:
        for site in ring:
            await stack.enter_async_context(site)
        for site, neighbour in zip(ring, ring[1:] + ring[:1], strict=True):
            site.elsewhere = neighbour.url("/articles/1")
        yield KeywordWeb(sites)
