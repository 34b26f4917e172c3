"""A deterministic local website with every case the crawler's integration tests crawl.

`async with FixtureSite(host="127.0.0.2") as site:` serves it on an ephemeral port. The home
page `/` links (directly or through a few hops) to every case: robots-disallowed pages under
/private/ with a Crawl-delay, a sitemap index with a plain and a gzipped sitemap, pagination
both by URL pattern (/list?page=N) and by next button (/catalog/N), redirect chains, a loop,
redirects into loopback and cloud metadata, 404, 410, 500-then-200, 429 with Retry-After, an
always-500 page, a slow page, a 50 MiB body, a gzip bomb, PDFs, images of several sizes and
formats, windows-1251 and Shift_JIS pages, duplicate links differing only in fragment or
query order, a page reached again through a redirect (/docs-home -> /docs-home/) and through a
URL whose rel=canonical names it with the same bytes (/article?ref=feed), nofollow links,
ETag/Last-Modified with 304, plain text and JSON; robots.txt names a sitemap on another host.

`site.expected` says what a crawl with the default JobConfig (seed `/`, max_depth 3, robots
obeyed, same registered domain) should end with: which URLs are fetched, skipped or failed
(with the reason), and which links the scope refuses, in canonical form.

Not linked, for pagination tests that seed it: /feed?page=N, whose pages past FEED_LAST_PAGE
repeat the last one; for sitemap tests, /blog/ whose posts only its own /blog/sitemap.xml lists.
`python -m tests.sites.fixture_site` serves the site from a subprocess.
"""

from __future__ import annotations

import asyncio
import functools
import io
import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Literal

from aiohttp import web
from fpdf import FPDF
from PIL import Image, ImageDraw

from services.crawler.domain.urls import canonical_url
from tests.sites.server import Handler, LoggedSite, serve_args, serve_until_terminated

HTML = "text/html; charset=utf-8"
LIST_LAST_PAGE = 3  # /list?page=1..3 exist, /list?page=4 and beyond are 404
CATALOG_LAST_PAGE = 3  # /catalog/1..3, each with a "next" button to the following one
FEED_LAST_PAGE = 2  # /feed?page=N beyond this repeats the last page (pagination by repeat)
DEEP_PAGES = 4  # /deep/1 -> /deep/2 -> ...: the last is one hop beyond max_depth 3
BIG_BODY_BYTES = 50 * 1024 * 1024
BOMB_BLOCKS = 2200  # MiB of zeros behind ~10 MiB of gzip
CP1251_TEXT = "Привет, мир! Съешь же ещё этих мягких французских булок."
SHIFT_JIS_TEXT = "日本語のページです。今日は良い天気ですね。"
PDF_TEXT = "Trawl fixture report: quarterly figures for the crawler tests."
TEXT_BODY = "Plain text notes for the crawler.\nSecond line.\n"
JSON_BODY = {"name": "fixture", "items": [1, 2, 3], "nested": {"ok": True}}
CACHED_LAST_MODIFIED = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
OFF_SITE_URL = "https://example.org/elsewhere"
METADATA_URL = "http://169.254.169.254/latest/meta-data/"


@dataclass(frozen=True)
class SiteImage:
    path: str
    format: str  # Pillow's name: PNG, JPEG, GIF, WEBP
    width: int
    height: int


IMAGES = (
    SiteImage("/images/tiny.png", "PNG", 16, 16),
    SiteImage("/images/banner.png", "PNG", 1200, 300),
    SiteImage("/images/photo.jpg", "JPEG", 800, 600),
    SiteImage("/images/thumb.jpg", "JPEG", 60, 40),
    SiteImage("/images/anim.gif", "GIF", 120, 90),
    SiteImage("/images/photo.webp", "WEBP", 640, 480),
    SiteImage("/images/icon.webp", "WEBP", 24, 24),
)
IMAGE_CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}

Outcome = Literal["fetched", "skipped", "failed", "out_of_scope"]


@dataclass(frozen=True)
class ExpectedUrl:
    outcome: Outcome
    reason: str | None = None  # why skipped or failed
    kind: str | None = None  # what a fetched URL is: html, pdf, text, json, image
    final_url: str | None = None  # where redirects ended, for a fetched redirect


@dataclass(frozen=True)
class ExpectedCrawl:
    """What a default crawl of the site from `/` ends with, keyed by canonical URL.

    Reasons name the case: "robots" (skipped); "http_404", "http_410", "redirect" (a loop, or
    a hop out of scope such as into 127.0.0.1 or the metadata address), "too_large" (50 MiB
    body, gzip bomb), "retries_exhausted" (failed); "off_domain", "too_deep" (out_of_scope:
    linked, but refused by the job's scope before ever being queued)."""

    urls: dict[str, ExpectedUrl]
    sitemaps: list[str]  # sitemap documents the crawl reads (robots Sitemap: line and index)
    not_discovered: list[str]  # linked only through nofollow: never enters the frontier
    refused_sitemaps: list[str]  # named by robots.txt on a host out of scope: never queued

    def with_outcome(self, outcome: Outcome) -> dict[str, str | None]:
        return {url: expected.reason for url, expected in self.urls.items() if expected.outcome == outcome}

    @property
    def fetched(self) -> set[str]:
        return set(self.with_outcome("fetched"))

    @property
    def skipped(self) -> dict[str, str | None]:
        return self.with_outcome("skipped")

    @property
    def failed(self) -> dict[str, str | None]:
        return self.with_outcome("failed")

    @property
    def out_of_scope(self) -> dict[str, str | None]:
        return self.with_outcome("out_of_scope")

    def of_kind(self, kind: str) -> set[str]:
        return {url for url, expected in self.urls.items() if expected.kind == kind}


@dataclass
class _Counters:
    """Per-path request counts behind the fail-once endpoints."""

    hits: Counter[str] = field(default_factory=Counter)

    def first(self, path: str) -> bool:
        self.hits[path] += 1
        return self.hits[path] == 1


def page(title: str, body: str, *, head: str = "", charset: str = "utf-8") -> str:
    return (
        f'<!doctype html><html><head><meta charset="{charset}"><title>{title}</title>{head}</head>'
        f'<body><h1>{title}</h1>{body}<p><a href="/">home</a></p></body></html>'
    )


def links(*paths: str) -> str:
    return "<ul>" + "".join(f'<li><a href="{path}">{path}</a></li>' for path in paths) + "</ul>"


class FixtureSite(LoggedSite):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        crawl_delay: float = 0.2,
        slow_seconds: float = 2.0,
        access_log_file: Path | None = None,
    ) -> None:
        super().__init__(host, port, access_log_file=access_log_file)
        self.crawl_delay = crawl_delay
        self.slow_seconds = slow_seconds
        self.revision = 1  # of /cached: `revise()` changes its body and validators
        self.images = {image.path: image for image in IMAGES}
        self._counters = _Counters()

    def reset_state(self) -> None:
        """Forget the fail-once counters (and the access log), as if the site had just started."""
        self._counters = _Counters()
        self.reset_log()

    def revise(self) -> None:
        """Change /cached, as a site updating a page between two runs of a job."""
        self.revision += 1

    # --- expected outcome ------------------------------------------------------------------

    @property
    def expected(self) -> ExpectedCrawl:
        html = ExpectedUrl("fetched", kind="html")
        urls: dict[str, ExpectedUrl] = {
            "/": html,
            "/about": html,
            "/products?a=1&b=2": html,
            "/private/": ExpectedUrl("skipped", "robots"),
            "/private/secret": ExpectedUrl("skipped", "robots"),
            "/private/from-sitemap": ExpectedUrl("skipped", "robots"),
            **{f"/list?page={n}": html for n in range(1, LIST_LAST_PAGE + 1)},
            **{f"/catalog/{n}": html for n in range(1, CATALOG_LAST_PAGE + 1)},
            "/redirect/chain": ExpectedUrl("fetched", kind="html", final_url=self.url("/redirect/final")),
            "/redirect/loop": ExpectedUrl("failed", "redirect"),
            "/redirect/to-metadata": ExpectedUrl("failed", "redirect"),
            "/missing": ExpectedUrl("failed", "http_404"),
            "/gone": ExpectedUrl("failed", "http_410"),
            "/flaky": html,
            "/throttled": html,
            "/always-500": ExpectedUrl("failed", "retries_exhausted"),
            "/slow": html,
            "/big/50mb": ExpectedUrl("failed", "too_large"),
            "/big/50mb-chunked": ExpectedUrl("failed", "too_large"),
            "/bomb": ExpectedUrl("failed", "too_large"),
            "/docs/report.pdf": ExpectedUrl("fetched", kind="pdf"),
            "/gallery": html,
            **{image.path: ExpectedUrl("fetched", kind="image") for image in IMAGES},
            "/intl/cp1251": html,
            "/intl/shift-jis": html,
            "/cached": html,
            "/notes.txt": ExpectedUrl("fetched", kind="text"),
            "/data.json": ExpectedUrl("fetched", kind="json"),
            "/meta-nofollow": html,
            "/docs-home/": html,
            "/docs-home": ExpectedUrl("skipped", "duplicate"),  # redirects to /docs-home/
            "/article": html,
            "/article?ref=feed": ExpectedUrl("skipped", "duplicate"),  # canonical /article, same bytes
            **{f"/deep/{n}": html for n in range(1, DEEP_PAGES)},
            f"/deep/{DEEP_PAGES}": ExpectedUrl("out_of_scope", "too_deep"),
            **{f"/from-sitemap/{n}": html for n in range(1, 5)},
        }
        # The redirect into 127.0.0.1 leaves the seed's host (off the crawl's scope) unless the
        # site itself runs on 127.0.0.1, where it lands on an ordinary page.
        urls["/redirect/to-loopback"] = (
            ExpectedUrl("fetched", kind="html", final_url=f"http://127.0.0.1:{self.port}/redirect/landing")
            if self.host == "127.0.0.1"
            else ExpectedUrl("failed", "redirect")
        )
        expected = {canonical_url(self.url(path)): outcome for path, outcome in urls.items()}
        expected[canonical_url(OFF_SITE_URL)] = ExpectedUrl("out_of_scope", "off_domain")
        return ExpectedCrawl(
            urls=expected,
            sitemaps=[
                self.url(path) for path in ("/sitemap.xml", "/sitemap-pages.xml", "/sitemap-more.xml.gz")
            ],
            not_discovered=[self.url("/nofollow-target"), self.url("/meta-nofollow-target")],
            refused_sitemaps=[self.foreign_sitemap],
        )

    @property
    def foreign_sitemap(self) -> str:
        """A sitemap on another host (nothing listens there), named by robots.txt."""
        other = "127.0.0.3" if self.host != "127.0.0.3" else "127.0.0.4"
        return f"http://{other}:{self.port}/sitemap.xml"

    # --- routes ----------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        get = app.router.add_get
        get("/", self.home)
        get("/robots.txt", self.robots)
        get("/sitemap.xml", self.sitemap_index)
        get("/sitemap-pages.xml", self.sitemap_pages)
        get("/sitemap-more.xml.gz", self.sitemap_more)
        get("/list", self.list_page)
        get("/feed", self.feed_page)
        get("/catalog/{number:\\d+}", self.catalog_page)
        get("/redirect/chain", self.redirect_to("/redirect/chain/2", 301))
        get("/redirect/chain/2", self.redirect_to("/redirect/chain/3", 302))
        get("/redirect/chain/3", self.redirect_to("/redirect/final", 307))
        get("/redirect/loop", self.redirect_to("/redirect/loop/2", 302))
        get("/redirect/loop/2", self.redirect_to("/redirect/loop", 302))
        get("/redirect/to-loopback", self.redirect_to_loopback)
        get("/redirect/to-metadata", self.redirect_to(METADATA_URL, 302))
        get("/missing", self.status_page(404))
        get("/gone", self.status_page(410))
        get("/flaky", self.flaky)
        get("/throttled", self.throttled)
        get("/always-500", self.status_page(500))
        get("/slow", self.slow)
        get("/big/50mb", self.big_body)
        get("/big/50mb-chunked", self.big_body)
        get("/bomb", self.gzip_bomb)
        get("/docs/{name}.pdf", self.pdf)
        get("/gallery", self.gallery)
        get("/images/{name}", self.image)
        get("/intl/cp1251", self.encoded_page("windows-1251", CP1251_TEXT))
        get("/intl/shift-jis", self.encoded_page("shift_jis", SHIFT_JIS_TEXT))
        get("/cached", self.cached)
        get("/notes.txt", self.text)
        get("/data.json", self.json)
        get("/meta-nofollow", self.meta_nofollow)
        get("/deep/{number:\\d+}", self.deep)
        get("/docs-home", self.redirect_to("/docs-home/", 301))
        get("/article", self.article)
        get("/blog/", self.blog)
        get("/blog/sitemap.xml", self.blog_sitemap)
        for path in (
            "/about",
            "/products",
            "/private/",
            "/private/secret",
            "/private/from-sitemap",
            "/redirect/final",
            "/redirect/landing",
            "/nofollow-target",
            "/meta-nofollow-target",
            "/from-sitemap/{number:\\d+}",
            "/docs-home/",
            "/blog/post-{number:\\d+}",
        ):
            get(path, self.plain_page)

    async def home(self, request: web.Request) -> web.Response:
        body = links(
            "/about",
            "/about#team",
            "/products?b=2&a=1",
            "/products?a=1&b=2#reviews",
            "/private/",
            "/private/secret",
            "/list?page=1",
            "/catalog/1",
            "/redirect/chain",
            "/redirect/loop",
            "/redirect/to-loopback",
            "/redirect/to-metadata",
            "/missing",
            "/gone",
            "/flaky",
            "/throttled",
            "/always-500",
            "/slow",
            "/big/50mb",
            "/big/50mb-chunked",
            "/bomb",
            "/docs/report.pdf",
            "/gallery",
            "/intl/cp1251",
            "/intl/shift-jis",
            "/cached",
            "/notes.txt",
            "/data.json",
            "/meta-nofollow",
            "/docs-home/",
            "/article",
            "/deep/1",
            OFF_SITE_URL,
            "mailto:team@example.org",
            "javascript:void(0)",
        )
        body += '<p><a href="/nofollow-target" rel="nofollow">not followed</a></p>'
        return web.Response(
            text=page("Fixture home", body, head='<link rel="canonical" href="/">'), content_type="text/html"
        )

    async def robots(self, request: web.Request) -> web.Response:
        delay = f"Crawl-delay: {self.crawl_delay:g}\n" if self.crawl_delay > 0 else ""
        body = (
            f"User-agent: *\nDisallow: /private/\n{delay}\n"
            f"Sitemap: {self.url('/sitemap.xml')}\nSitemap: {self.foreign_sitemap}\n"
        )
        return web.Response(text=body, content_type="text/plain")

    async def sitemap_index(self, request: web.Request) -> web.Response:
        entries = "".join(
            f"<sitemap><loc>{self.url(path)}</loc></sitemap>"
            for path in ("/sitemap-pages.xml", "/sitemap-more.xml.gz")
        )
        body = f'{XML_DECLARATION}<sitemapindex xmlns="{SITEMAP_NS}">{entries}</sitemapindex>'
        return web.Response(text=body, content_type="application/xml")

    async def sitemap_pages(self, request: web.Request) -> web.Response:
        return web.Response(
            text=self._urlset("/from-sitemap/1", "/from-sitemap/2", "/about"), content_type="application/xml"
        )

    async def sitemap_more(self, request: web.Request) -> web.Response:
        urlset = self._urlset("/from-sitemap/3", "/from-sitemap/4", "/private/from-sitemap")
        return web.Response(body=gzip_bytes(urlset.encode()), content_type="application/gzip")

    def _urlset(self, *paths: str) -> str:
        entries = "".join(f"<url><loc>{self.url(path)}</loc></url>" for path in paths)
        return f'{XML_DECLARATION}<urlset xmlns="{SITEMAP_NS}">{entries}</urlset>'

    async def list_page(self, request: web.Request) -> web.Response:
        number = _page_number(request)
        if not 1 <= number <= LIST_LAST_PAGE:
            raise web.HTTPNotFound()
        items = "".join(f"<li>item {number}.{item}</li>" for item in range(1, 6))
        pager = f'<a class="next" href="/list?page={number + 1}">next</a>' if number < LIST_LAST_PAGE else ""
        return web.Response(
            text=page(f"List page {number}", f"<ul>{items}</ul>{pager}"), content_type="text/html"
        )

    async def feed_page(self, request: web.Request) -> web.Response:
        number = min(_page_number(request), FEED_LAST_PAGE)  # past the end: the last page again
        if number < 1:
            raise web.HTTPNotFound()
        return web.Response(
            text=page(f"Feed page {number}", f"<p>entries of page {number}</p>"), content_type="text/html"
        )

    async def catalog_page(self, request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        if not 1 <= number <= CATALOG_LAST_PAGE:
            raise web.HTTPNotFound()
        head, pager = "", ""
        if number < CATALOG_LAST_PAGE:
            head = f'<link rel="next" href="/catalog/{number + 1}">'
            pager = f'<div class="pager"><a class="next" href="/catalog/{number + 1}">Next &raquo;</a></div>'
        body = f"<p>products of catalog page {number}</p>{pager}"
        return web.Response(text=page(f"Catalog page {number}", body, head=head), content_type="text/html")

    def redirect_to(self, location: str, status: int) -> Handler:
        async def redirect(request: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Location": location})

        return redirect

    async def redirect_to_loopback(self, request: web.Request) -> web.Response:
        return web.Response(
            status=302, headers={"Location": f"http://127.0.0.1:{self.port}/redirect/landing"}
        )

    def status_page(self, status: int) -> Handler:
        async def respond(request: web.Request) -> web.Response:
            return web.Response(status=status, text=page(f"Status {status}", ""), content_type="text/html")

        return respond

    async def flaky(self, request: web.Request) -> web.Response:
        if self._counters.first(request.path):
            return web.Response(status=500, text="temporary failure")
        return web.Response(
            text=page("Flaky, now fine", "<p>second time lucky</p>"), content_type="text/html"
        )

    async def throttled(self, request: web.Request) -> web.Response:
        if self._counters.first(request.path):
            return web.Response(status=429, headers={"Retry-After": "1"}, text="slow down")
        return web.Response(
            text=page("Throttled, now fine", "<p>thanks for waiting</p>"), content_type="text/html"
        )

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.slow_seconds)
        return web.Response(text=page("Slow page", "<p>worth the wait</p>"), content_type="text/html")

    async def big_body(self, request: web.Request) -> web.StreamResponse:
        """50 MiB of HTML, generated while sent; with Content-Length, or chunked without it."""
        response = web.StreamResponse(headers={"Content-Type": HTML})
        if not request.path.endswith("chunked"):
            response.content_length = BIG_BODY_BYTES
        await response.prepare(request)
        chunk = (b"<p>" + b"x" * 1016 + b"</p>\n") * 64  # 64 KiB
        for start in range(0, BIG_BODY_BYTES, len(chunk)):
            await response.write(chunk[: BIG_BODY_BYTES - start])
        await response.write_eof()
        return response

    async def gzip_bomb(self, request: web.Request) -> web.StreamResponse:
        """~10 MiB of gzip that inflates to BOMB_BLOCKS MiB of zeros (Content-Encoding: gzip)."""
        first, block = _bomb_blocks()
        response = web.StreamResponse(headers={"Content-Type": HTML, "Content-Encoding": "gzip"})
        response.content_length = len(first) + len(block) * (BOMB_BLOCKS - 1) + len(_BOMB_END) + 8
        await response.prepare(request)
        await response.write(first)
        batch = 16
        for start in range(1, BOMB_BLOCKS, batch):
            await response.write(block * min(batch, BOMB_BLOCKS - start))
        # The trailer needs the CRC of every inflated byte; only a client reading to the end
        # (which a crawler must not) makes us compute it.
        await response.write(_BOMB_END + await asyncio.to_thread(_bomb_trailer))
        await response.write_eof()
        return response

    async def pdf(self, request: web.Request) -> web.Response:
        return web.Response(body=pdf_bytes(request.match_info["name"]), content_type="application/pdf")

    async def gallery(self, request: web.Request) -> web.Response:
        figures = "".join(
            f'<figure><img src="{image.path}" width="{image.width}" height="{image.height}" alt="">'
            f'<figcaption><a href="{image.path}">{image.path}</a></figcaption></figure>'
            for image in IMAGES
        )
        return web.Response(text=page("Gallery", figures), content_type="text/html")

    async def image(self, request: web.Request) -> web.Response:
        image = self.images.get(request.path)
        if image is None:
            raise web.HTTPNotFound()
        return web.Response(body=image_bytes(image), content_type=IMAGE_CONTENT_TYPES[image.format])

    def encoded_page(self, charset: str, text: str) -> Handler:
        """A page encoded in `charset`, declared both in Content-Type and in <meta>."""
        body = page(f"{charset} page", f"<p>{text}</p>", charset=charset).encode(charset)

        async def respond(request: web.Request) -> web.Response:
            return web.Response(body=body, headers={"Content-Type": f"text/html; charset={charset}"})

        return respond

    async def cached(self, request: web.Request) -> web.Response:
        etag = f'"rev-{self.revision}"'
        last_modified = CACHED_LAST_MODIFIED + timedelta(days=self.revision - 1)
        headers = {"ETag": etag, "Last-Modified": format_datetime(last_modified, usegmt=True)}
        if _not_modified(request, etag, last_modified):
            return web.Response(status=304, headers=headers)
        body = page("Cached page", f"<p>revision {self.revision}</p>")
        return web.Response(text=body, content_type="text/html", headers=headers)

    async def text(self, request: web.Request) -> web.Response:
        return web.Response(text=TEXT_BODY, content_type="text/plain")

    async def json(self, request: web.Request) -> web.Response:
        return web.json_response(JSON_BODY)

    async def meta_nofollow(self, request: web.Request) -> web.Response:
        body = page(
            "Meta nofollow",
            '<a href="/meta-nofollow-target">not followed either</a>',
            head='<meta name="robots" content="index, nofollow">',
        )
        return web.Response(text=body, content_type="text/html")

    async def deep(self, request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        if not 1 <= number <= DEEP_PAGES:
            raise web.HTTPNotFound()
        more = f'<a href="/deep/{number + 1}">deeper</a>' if number < DEEP_PAGES else ""
        if number == 2:  # depth 3: long after their twins at depth 1 were fetched
            more += links("/docs-home", "/article?ref=feed")
        return web.Response(text=page(f"Deep {number}", more), content_type="text/html")

    async def article(self, request: web.Request) -> web.Response:
        """The same bytes whatever the query, naming /article as the canonical URL."""
        head = '<link rel="canonical" href="/article">'
        return web.Response(text=page("Article", "<p>The article.</p>", head=head), content_type="text/html")

    async def blog(self, request: web.Request) -> web.Response:
        return web.Response(text=page("Blog", "<p>Posts are in the sitemap.</p>"), content_type="text/html")

    async def blog_sitemap(self, request: web.Request) -> web.Response:
        return web.Response(text=self._urlset("/blog/post-1", "/blog/post-2"), content_type="application/xml")

    async def plain_page(self, request: web.Request) -> web.Response:
        return web.Response(
            text=page(f"Page {request.path}", f"<p>content of {request.path}</p>"), content_type="text/html"
        )


SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
_BOMB_END = b"\x03\x00"  # an empty final deflate block (fixed Huffman, end-of-block only)


def _page_number(request: web.Request) -> int:
    try:
        return int(request.query.get("page", "1"))
    except ValueError as exc:
        raise web.HTTPBadRequest() from exc


def _not_modified(request: web.Request, etag: str, last_modified: datetime) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*"
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since is None:
        return False
    try:
        return parsedate_to_datetime(if_modified_since) >= last_modified
    except (TypeError, ValueError):
        return False


def gzip_bytes(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@functools.cache
def _bomb_blocks() -> tuple[bytes, bytes]:
    """The gzip header with the first MiB of zeros, and the deflate bytes of each further MiB:
    after a full flush the compressor starts afresh, so every further MiB compresses the same."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    mebibyte = bytes(1024 * 1024)
    first = compressor.compress(mebibyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(mebibyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first, block


@functools.cache
def _bomb_trailer() -> bytes:
    mebibyte = bytes(1024 * 1024)
    crc = 0
    for _ in range(BOMB_BLOCKS):
        crc = zlib.crc32(mebibyte, crc)
    return struct.pack("<II", crc, (BOMB_BLOCKS * len(mebibyte)) & 0xFFFFFFFF)


@functools.cache
def pdf_bytes(name: str) -> bytes:
    """A small valid PDF with one page of text, byte-for-byte the same on every call."""
    document = FPDF()
    document.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    document.set_title(name)
    document.add_page()
    document.set_font("Helvetica", size=12)
    document.multi_cell(0, 10, f"{PDF_TEXT} ({name})")
    return bytes(document.output())


@functools.cache
def image_bytes(image: SiteImage) -> bytes:
    """A deterministic picture of the given size and format (a GIF has two frames)."""
    frames = []
    for shade in (40, 200) if image.format == "GIF" else (40,):
        picture = Image.new("RGB", (image.width, image.height), (shade, 120, 255 - shade))
        draw = ImageDraw.Draw(picture)
        draw.ellipse(
            (image.width // 4, image.height // 4, image.width * 3 // 4, image.height * 3 // 4),
            fill=(250, 200, 0),
        )
        frames.append(picture)
    buffer = io.BytesIO()
    if image.format == "GIF":
        frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    else:
        frames[0].save(buffer, format=image.format)
    return buffer.getvalue()


async def _main() -> None:
    parser = serve_args("Serve the crawler's fixture site")
    parser.add_argument("--crawl-delay", type=float, default=0.2)
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    args = parser.parse_args()
    site = FixtureSite(
        args.host,
        args.port,
        crawl_delay=args.crawl_delay,
        slow_seconds=args.slow_seconds,
        access_log_file=args.access_log,
    )
    await serve_until_terminated(site)


if __name__ == "__main__":
    asyncio.run(_main())
