"""A local image site for image keyword jobs, with the truth of what validation must find.

Every image is generated (tests/fixtures/image_set.py), so the site is the same on every run:
good photos in three formats, one turned by its EXIF orientation, one too small, one too wide,
one too heavy, an exact copy under another URL, a resized and re-compressed near copy, a blank
image, a truncated and a corrupt file, and one served with `X-Robots-Tag: noai`, which a crawl
honours by not keeping it. `search_index()` is what an image search answers for the tests'
keyword; `EXPECTED` is each image's verdict under `RULES`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fixtures import image_set
from tests.sites.search_engines import FakeResult
from tests.sites.server import LoggedSite

HOST = "127.0.0.6"
KEYWORD = "harbour lighthouse"
RULES: dict[str, Any] = {
    "min_width": 200,
    "min_height": 150,
    "max_aspect_ratio": 3.0,
    "formats": ["jpeg", "png"],
    "max_bytes": 400_000,
    "duplicates": "run",
    "near_duplicate_distance": 10,
}


@dataclass(frozen=True)
class SiteImage:
    name: str
    content_type: str
    make: Callable[[], bytes]
    alt: str
    reasons: tuple[str, ...] = ()  # under RULES; () is valid
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def path(self) -> str:
        return f"/images/{self.name}"


def _photo(seed: int, size: tuple[int, int] = (800, 600)) -> bytes:
    return image_set.jpeg(image_set.photo(seed, size))


IMAGES = (
    SiteImage("lighthouse-dawn.jpg", "image/jpeg", lambda: _photo(11), "The lighthouse at dawn"),
    SiteImage(
        "harbour-wall.png",
        "image/png",
        lambda: image_set.encoded(image_set.photo(12, (400, 300)), "PNG"),
        "The harbour wall",
    ),
    SiteImage(
        "keeper-cottage.webp",
        "image/webp",
        lambda: image_set.encoded(image_set.photo(13), "WEBP", quality=80),
        "The keeper's cottage",
        ("format_not_allowed",),
    ),
    SiteImage(
        "lamp-room.jpg",
        "image/jpeg",
        lambda: image_set.rotated_by_exif(image_set.photo(14, (640, 480))),
        "The lamp room, taken sideways",
    ),
    SiteImage(
        "buoy-icon.jpg", "image/jpeg", lambda: _photo(15, (120, 90)), "A buoy", ("too_narrow", "too_short")
    ),
    SiteImage(
        "breakwater-strip.jpg",
        "image/jpeg",
        lambda: _photo(16, (1600, 300)),
        "The breakwater",
        ("aspect_ratio",),
    ),
    SiteImage(
        "chart-scan.png",
        "image/png",
        lambda: image_set.encoded(image_set.photo(17, (1200, 900)), "PNG"),
        "A scanned chart",
        ("too_many_bytes",),
    ),
    SiteImage(
        "lighthouse-dawn-copy.jpg", "image/jpeg", lambda: _photo(11), "The lighthouse again", ("duplicate",)
    ),
    SiteImage(
        "lighthouse-dawn-small.jpg",
        "image/jpeg",
        lambda: image_set.jpeg(image_set.photo(11, (800, 600)).resize((480, 360)), quality=45),
        "The lighthouse, smaller",
        ("near_duplicate",),
    ),
    SiteImage("fog.png", "image/png", lambda: image_set.blank((400, 300)), "Fog", ("blank",)),
    SiteImage(
        "pier-truncated.jpg",
        "image/jpeg",
        lambda: image_set.truncated(_photo(18)),
        "The pier",
        ("truncated",),
    ),
    SiteImage(
        "mast-corrupt.png",
        "image/png",
        lambda: image_set.corrupt_png(image_set.encoded(image_set.photo(19, (400, 300)), "PNG")),
        "The mast",
        ("corrupt",),
    ),
    SiteImage(
        "private-boat.jpg",
        "image/jpeg",
        lambda: _photo(20),
        "A private boat",
        headers=(("X-Robots-Tag", "noai, noimageai"),),
    ),
)
STORED = tuple(image for image in IMAGES if not image.headers)  # the noai image is not kept
VALID = tuple(image for image in STORED if not image.reasons)


class ImageSite(LoggedSite):
    def __init__(self) -> None:
        super().__init__(host=HOST)
        self.bodies = {image.name: image.make() for image in IMAGES}

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/robots.txt", self._robots)
        app.router.add_get("/gallery/{name}", self._gallery)
        app.router.add_get("/images/{name}", self._image)

    async def _robots(self, request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow:\n")

    async def _gallery(self, request: web.Request) -> web.Response:
        image = self._named(request.match_info["name"])
        figure = f'<figure><img src="{image.path}" alt="{html.escape(image.alt)}"></figure>'
        return web.Response(
            text=f"<!doctype html><html><body>{figure}</body></html>", content_type="text/html"
        )

    async def _image(self, request: web.Request) -> web.Response:
        image = self._named(request.match_info["name"])
        return web.Response(
            body=self.bodies[image.name], content_type=image.content_type, headers=dict(image.headers)
        )

    def _named(self, name: str) -> SiteImage:
        for image in IMAGES:
            if image.name == name:
                return image
        raise web.HTTPNotFound()

    def search_index(self) -> dict[str, list[FakeResult]]:
        return {
            KEYWORD: [
                FakeResult(
                    self.url(f"/gallery/{image.name}"),
                    image.alt,
                    engine="bing images",
                    image_url=self.url(image.path),
                    thumbnail_url=self.url(image.path),
                )
                for image in IMAGES
            ]
        }
