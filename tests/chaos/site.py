"""The chaos run's website: articles behind a paginated blog, and a paginated shop whose product
pages carry JSON-LD (rendered as `tests/sites/shop_site` renders them); `SiteShape` knows every
page a crawl from `/` must reach, and the products and records it must find."""

from __future__ import annotations

import html
import math
import random
from dataclasses import dataclass

from aiohttp import web

from tests.sites.server import LoggedSite
from tests.sites.shop_site import ShopProduct, product_page

PER_PAGE = 20
_MATERIALS = ("oak", "steel", "wool", "linen", "cork", "brass")
_VOCABULARY = (
    "harbour tide keeper lantern gull barometer fog channel buoy ferry quay rope anchor net "
    "storm pilot beacon dune pier mooring swell current reef chart compass ledger brine oar "
    "trawler cargo winch hull keel deck mast sail signal shoal estuary lighthouse cove jetty"
)


@dataclass(frozen=True)
class SiteShape:
    articles: int
    products: int

    @classmethod
    def about(cls, pages: int) -> SiteShape:
        """A site of about `pages` pages, half articles and half products (listings included)."""
        each = max(1, round((pages - 2) / 2 * PER_PAGE / (PER_PAGE + 1)))
        return cls(articles=each, products=each)

    @property
    def blog_pages(self) -> int:
        return math.ceil(self.articles / PER_PAGE)

    @property
    def shop_pages(self) -> int:
        return math.ceil(self.products / PER_PAGE)

    def catalogue(self) -> list[ShopProduct]:
        return [
            ShopProduct(
                slug=f"p-{number}",
                name=f"Chaos {_MATERIALS[number % len(_MATERIALS)].title()} Lamp No. {number}",
                sku=f"CH-{10000 + number}",
                price=f"{10 + number % 90}.{number * 7 % 100:02d}",
                currency="EUR" if number % 3 else "GBP",
                availability="OutOfStock" if number % 5 == 4 else "InStock",
                material=_MATERIALS[number % len(_MATERIALS)],
                microdata=False,
            )
            for number in range(1, self.products + 1)
        ]

    def product_paths(self) -> set[str]:
        return {f"/product/{product.slug}" for product in self.catalogue()}

    def reachable(self) -> set[str]:
        """Every page a crawl seeded with `/` fetches."""
        return {
            "/",
            "/about",
            *(f"/blog?page={number}" for number in range(1, self.blog_pages + 1)),
            *(f"/article/{number}" for number in range(1, self.articles + 1)),
            *(f"/shop?page={number}" for number in range(1, self.shop_pages + 1)),
            *self.product_paths(),
        }


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '</head><body><nav><a href="/">Home</a> <a href="/blog?page=1">Blog</a> '
        '<a href="/shop?page=1">Shop</a> <a href="/about">About</a></nav>'
        f"<main>{body}</main><footer>Chaos Harbour Co.</footer></body></html>"
    )


def article_page(number: int, articles: int) -> str:
    rng = random.Random(number)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(_VOCABULARY.split()) for _ in range(70)).capitalize() + ".</p>"
        for _ in range(8)
    )
    related = number % articles + 1
    body = (
        f"<article><h1>Harbour log {number}</h1>{paragraphs}"
        f'<p>See also <a href="/article/{related}">harbour log {related}</a>.</p></article>'
    )
    return _page(f"Harbour log {number}", body)


def _listing(title: str, links: list[tuple[str, str]], path: str, number: int, last: int) -> str:
    items = "".join(f'<li><a href="{href}">{html.escape(text)}</a></li>' for href, text in links)
    pager = f'<a class="next" href="{path}?page={number + 1}">Next</a>' if number < last else ""
    return _page(f"{title}, page {number}", f"<ul>{items}</ul>{pager}")


class ChaosSite(LoggedSite):
    def __init__(self, shape: SiteShape) -> None:
        super().__init__()
        self.shape = shape
        self.products = {product.slug: product for product in shape.catalogue()}

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.home)
        app.router.add_get("/robots.txt", self.robots)
        app.router.add_get("/about", self.about)
        app.router.add_get("/blog", self.blog)
        app.router.add_get("/article/{number}", self.article)
        app.router.add_get("/shop", self.shop)
        app.router.add_get("/product/{slug}", self.product)

    async def home(self, request: web.Request) -> web.Response:
        return _html(_page("Chaos Harbour Co.", "<h1>Welcome</h1><p>Lamps and harbour logs since 1901.</p>"))

    async def robots(self, request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow:\n", content_type="text/plain")

    async def about(self, request: web.Request) -> web.Response:
        return _html(_page("About us", "<h1>About us</h1><p>A cooperative of lamp makers.</p>"))

    async def blog(self, request: web.Request) -> web.Response:
        number = _page_number(request, self.shape.blog_pages)
        first = (number - 1) * PER_PAGE + 1
        shown = range(first, min(first + PER_PAGE, self.shape.articles + 1))
        links = [(f"/article/{n}", f"Harbour log {n}") for n in shown]
        return _html(_listing("Blog", links, "/blog", number, self.shape.blog_pages))

    async def article(self, request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        if not 1 <= number <= self.shape.articles:
            raise web.HTTPNotFound()
        return _html(article_page(number, self.shape.articles))

    async def shop(self, request: web.Request) -> web.Response:
        number = _page_number(request, self.shape.shop_pages)
        shown = list(self.products.values())[(number - 1) * PER_PAGE : number * PER_PAGE]
        links = [(f"/product/{product.slug}", product.name) for product in shown]
        return _html(_listing("Shop", links, "/shop", number, self.shape.shop_pages))

    async def product(self, request: web.Request) -> web.Response:
        found = self.products.get(request.match_info["slug"])
        if found is None:
            raise web.HTTPNotFound()
        return _html(product_page(found))


def _page_number(request: web.Request, last: int) -> int:
    number = int(request.query.get("page", "1"))
    if not 1 <= number <= last:
        raise web.HTTPNotFound()
    return number


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html")
