"""A static site of N interlinked pages (~20 KiB each) for the crawl benchmark and crash test.

`generate_static_site(directory, pages)` writes the same files for the same arguments: page 0
is `/` and page i > 0 is `/pages/<i>.html`. Pages form a tree of fan-out `FANOUT` (page i
links to pages FANOUT*i+1 .. FANOUT*i+FANOUT and to its parent), so every page is at most
`max_depth(pages)` links from `/`, plus `CROSS_LINKS` seeded random links per page for an
interlinked graph. `StaticSite` serves such a directory with an access log;
`python -m tests.sites.static_site DIRECTORY --pages N` generates and serves it from a
subprocess.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from tests.sites.server import Handler, LoggedSite, serve_args, serve_until_terminated

FANOUT = 20
CROSS_LINKS = 10
PAGE_BYTES = 20 * 1024
ROBOTS_TXT = "User-agent: *\nDisallow:\n"
# The vocabulary of the generated prose.
_VOCABULARY = """
crawler frontier politeness robots sitemap canonical fetch latency throughput replica lease kafka
postgres bucket object index vector chunk search export dataset schema product brand price review
catalog page link anchor header footer article section paragraph summary detail river mountain
forest harbour market station library garden bridge tower village meadow
"""
_WORDS = _VOCABULARY.split()


def page_path(index: int) -> str:
    return "/" if index == 0 else f"/pages/{index}.html"


def page_depth(index: int) -> int:
    depth = 0
    while index > 0:
        index = (index - 1) // FANOUT
        depth += 1
    return depth


def max_depth(pages: int) -> int:
    return page_depth(pages - 1)


def page_paths(pages: int) -> list[str]:
    return [page_path(index) for index in range(pages)]


def page_links(index: int, pages: int, *, seed: int = 0) -> list[str]:
    """Paths page `index` links to: its parent, its children, then seeded random pages."""
    targets = [] if index == 0 else [(index - 1) // FANOUT]
    targets += range(FANOUT * index + 1, min(FANOUT * index + FANOUT, pages - 1) + 1)
    rng = random.Random(seed * 1_000_003 + index)
    targets += [rng.randrange(pages) for _ in range(CROSS_LINKS)]
    return [page_path(target) for target in targets]


def generate_static_site(
    directory: Path, pages: int, *, page_bytes: int = PAGE_BYTES, seed: int = 0
) -> list[str]:
    """Write `pages` pages of about `page_bytes` each under `directory`; returns their paths."""
    if pages < 1:
        raise ValueError("a site needs at least one page")
    (directory / "pages").mkdir(parents=True, exist_ok=True)
    (directory / "robots.txt").write_text(ROBOTS_TXT)
    paragraphs = _paragraph_pool(random.Random(seed))
    for index in range(pages):
        html = _page_html(index, page_links(index, pages, seed=seed), paragraphs, page_bytes, seed)
        target = directory / "index.html" if index == 0 else directory / "pages" / f"{index}.html"
        target.write_text(html, encoding="utf-8")
    return page_paths(pages)


def _paragraph_pool(rng: random.Random, size: int = 256) -> list[str]:
    return [
        "<p>" + " ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 120))).capitalize() + ".</p>\n"
        for _ in range(size)
    ]


def _page_html(index: int, links: list[str], paragraphs: list[str], page_bytes: int, seed: int) -> str:
    nav = "".join(f'<li><a href="{path}">{path}</a></li>' for path in links)
    parts = [
        f'<!doctype html><html><head><meta charset="utf-8"><title>Page {index}</title>'
        f'<link rel="canonical" href="{page_path(index)}"></head><body>'
        f"<h1>Page {index}</h1><nav><ul>{nav}</ul></nav><article>\n"
    ]
    size = len(parts[0]) + len("</article></body></html>\n")
    rng = random.Random(seed * 7_919 + index)
    while size < page_bytes:
        paragraph = rng.choice(paragraphs)
        parts.append(paragraph)
        size += len(paragraph)
    parts.append("</article></body></html>\n")
    return "".join(parts)


class StaticSite(LoggedSite):
    """Serves a generated directory: `/`, `/robots.txt` and `/pages/<i>.html`."""

    def __init__(
        self, directory: Path, host: str = "127.0.0.1", port: int = 0, *, access_log_file: Path | None = None
    ) -> None:
        super().__init__(host, port, access_log_file=access_log_file)
        self.directory = directory

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._serve(lambda request: "index.html"))
        app.router.add_get(
            "/pages/{number:\\d+}.html",
            self._serve(lambda request: f"pages/{request.match_info['number']}.html"),
        )
        app.router.add_get("/robots.txt", self._serve(lambda request: "robots.txt"))

    def _serve(self, file_name: Callable[[web.Request], str]) -> Handler:
        """Reads the file on the event loop: pages are small and in the page cache, and this is
        twice as fast as aiohttp's FileResponse, whose stat/open go through a thread pool."""

        async def serve(request: web.Request) -> web.Response:
            name = file_name(request)
            try:
                body = (self.directory / name).read_bytes()
            except FileNotFoundError:
                raise web.HTTPNotFound() from None
            content_type = "text/html" if name.endswith(".html") else "text/plain"
            return web.Response(body=body, content_type=content_type, charset="utf-8")

        return serve


async def _main() -> None:
    parser = serve_args("Generate and serve a static site of interlinked pages")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--pages", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    await asyncio.to_thread(generate_static_site, args.directory, args.pages, seed=args.seed)
    await serve_until_terminated(
        StaticSite(args.directory, args.host, args.port, access_log_file=args.access_log)
    )


if __name__ == "__main__":
    asyncio.run(_main())
