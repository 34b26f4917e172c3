"""A small paginated shop for the structured-extraction tests.

`/shop?page=N` (N = 1..LISTING_PAGES) lists PRODUCTS_PER_PAGE products with a `a.next` button to
the following page; each product has `/product/<slug>`. Product pages carry schema.org data the
way shops do it — JSON-LD on most, microdata on every fourth — plus a visible "Material" line
that only the page's text has (a schema can reach it with a selector). `/about` is a page of
the shop with no product. `ShopSite.products` is the truth the tests compare with.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from aiohttp import web

from tests.sites.server import LoggedSite

LISTING_PAGES = 3
PRODUCTS_PER_PAGE = 4
_MATERIALS = ("oak", "steel", "wool", "linen", "cork", "brass")


@dataclass(frozen=True)
class ShopProduct:
    slug: str
    name: str
    sku: str
    price: str  # as a decimal string, the way the extractor normalises it
    currency: str
    availability: str  # schema.org name
    material: str
    microdata: bool  # its page carries microdata instead of JSON-LD


def _catalogue() -> list[ShopProduct]:
    products = []
    for index in range(LISTING_PAGES * PRODUCTS_PER_PAGE):
        products.append(
            ShopProduct(
                slug=f"item-{index + 1}",
                name=f"Harbour {_MATERIALS[index % len(_MATERIALS)].title()} Lantern No. {index + 1}",
                sku=f"HL-{1000 + index}",
                price=f"{19 + index * 7}.{(index * 13) % 100:02d}",
                currency="EUR" if index % 3 else "GBP",
                availability="OutOfStock" if index % 5 == 4 else "InStock",
                material=_MATERIALS[index % len(_MATERIALS)],
                microdata=index % 4 == 3,
            )
        )
    return products


PRODUCTS = _catalogue()


def _page(title: str, body: str, head: str = "") -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>{head}</head>"
        f'<body><nav><a href="/shop?page=1">Shop</a> <a href="/about">About</a></nav>'
        f"<main>{body}</main><footer>Harbour Lanterns Ltd.</footer></body></html>"
    )


def _symbol(currency: str) -> str:
    return {"EUR": "€", "GBP": "£"}[currency]


def product_page(product: ShopProduct) -> str:
    price = f"{_symbol(product.currency)}{product.price}"
    stock = "In stock" if product.availability == "InStock" else "Out of stock"
    if product.microdata:
        body = (
            '<div itemscope itemtype="https://schema.org/Product">'
            f'<h1 itemprop="name">{product.name}</h1>'
            f'<p>SKU: <span itemprop="sku">{product.sku}</span></p>'
            '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
            f'<span itemprop="priceCurrency" content="{product.currency}"></span>'
            f'<span itemprop="price" content="{product.price}">{price}</span>'
            f'<link itemprop="availability" href="https://schema.org/{product.availability}">{stock}</div>'
            f'<p class="material">Material: {product.material}</p></div>'
        )
        return _page(product.name, body)
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "sku": product.sku,
        "offers": {
            "@type": "Offer",
            "price": product.price,
            "priceCurrency": product.currency,
            "availability": f"https://schema.org/{product.availability}",
        },
    }
    body = (
        f"<h1>{product.name}</h1><p class='price'>{price}</p><p>{stock}</p><p>SKU: {product.sku}</p>"
        f"<p class='material'>Material: {product.material}</p><button>Add to cart</button>"
    )
    return _page(product.name, body, head=f'<script type="application/ld+json">{json.dumps(data)}</script>')


class ShopSite(LoggedSite):
    products = PRODUCTS

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/robots.txt", self.robots)
        app.router.add_get("/shop", self.listing)
        app.router.add_get("/product/{slug}", self.product)
        app.router.add_get("/about", self.about)

    async def robots(self, request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow:\n", content_type="text/plain")

    async def listing(self, request: web.Request) -> web.Response:
        number = int(request.query.get("page", "1"))
        if not 1 <= number <= LISTING_PAGES:
            raise web.HTTPNotFound()
        shown = PRODUCTS[(number - 1) * PRODUCTS_PER_PAGE : number * PRODUCTS_PER_PAGE]
        items = "".join(f'<li><a href="/product/{p.slug}">{p.name}</a></li>' for p in shown)
        pager = f'<a class="next" href="/shop?page={number + 1}">Next</a>' if number < LISTING_PAGES else ""
        return web.Response(
            text=_page(f"Shop, page {number}", f"<ul>{items}</ul>{pager}"), content_type="text/html"
        )

    async def product(self, request: web.Request) -> web.Response:
        found = next((p for p in PRODUCTS if p.slug == request.match_info["slug"]), None)
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(text=product_page(found), content_type="text/html")

    async def about(self, request: web.Request) -> web.Response:
        return web.Response(text=_page("About us", "<p>Lanterns since 1901.</p>"), content_type="text/html")
