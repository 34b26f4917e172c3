"""The fixture site serves what it claims, and its expected crawl outcome matches its links."""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from services.crawler.domain.images import ImageInfo, inspect_image
from services.crawler.domain.links import decode_html, extract_links, select_href
from services.crawler.domain.robots import RobotsRules
from services.crawler.domain.scope import ScopePolicy
from services.crawler.domain.sitemaps import parse_sitemap
from services.crawler.domain.urls import canonical_url
from shared.events import JobConfig
from tests.sites.fixture_site import (
    BIG_BODY_BYTES,
    CATALOG_LAST_PAGE,
    CP1251_TEXT,
    IMAGES,
    JSON_BODY,
    LIST_LAST_PAGE,
    METADATA_URL,
    PDF_TEXT,
    SHIFT_JIS_TEXT,
    TEXT_BODY,
    FixtureSite,
    pdf_bytes,
)
from tests.sites.server import read_access_log, site_process
from tests.sites.static_site import (
    PAGE_BYTES,
    StaticSite,
    generate_static_site,
    max_depth,
    page_depth,
    page_path,
    page_paths,
)


@pytest.fixture
async def site() -> AsyncIterator[FixtureSite]:
    async with FixtureSite(slow_seconds=0.5) as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, headers={"user-agent": "TrawlTest/1.0"}) as http:
        yield http


async def test_robots_disallows_private_with_crawl_delay_and_sitemap(
    site: FixtureSite, client: httpx.AsyncClient
) -> None:
    response = await client.get(site.url("/robots.txt"))
    rules = RobotsRules.from_response(response.status_code, response.content, fetched_at=0.0)
    assert not rules.allows(site.url("/private/secret"), "TrawlTest")
    assert rules.allows(site.url("/about"), "TrawlTest")
    assert rules.crawl_delay("TrawlTest") == 0.2
    assert rules.sitemaps == [site.url("/sitemap.xml"), site.foreign_sitemap]


async def test_sitemap_index_points_to_a_plain_and_a_gzipped_sitemap(
    site: FixtureSite, client: httpx.AsyncClient
) -> None:
    index = parse_sitemap((await client.get(site.url("/sitemap.xml"))).content)
    assert index.sitemaps == [site.url("/sitemap-pages.xml"), site.url("/sitemap-more.xml.gz")]
    plain = (await client.get(site.url("/sitemap-pages.xml"))).content
    gzipped = (await client.get(site.url("/sitemap-more.xml.gz"))).content
    assert plain.startswith(b"<?xml") and gzipped.startswith(b"\x1f\x8b")
    urls = parse_sitemap(plain).urls + parse_sitemap(gzipped).urls
    assert urls == [
        site.url(path)
        for path in (
            "/from-sitemap/1",
            "/from-sitemap/2",
            "/about",
            "/from-sitemap/3",
            "/from-sitemap/4",
            "/private/from-sitemap",
        )
    ]


async def test_url_pattern_pagination_ends_in_404_and_feed_repeats(
    site: FixtureSite, client: httpx.AsyncClient
) -> None:
    statuses = [
        (await client.get(site.url(f"/list?page={n}"))).status_code for n in range(1, LIST_LAST_PAGE + 3)
    ]
    assert statuses == [200] * LIST_LAST_PAGE + [404, 404]
    feed = [(await client.get(site.url(f"/feed?page={n}"))).text for n in (1, 2, 3, 9)]
    assert feed[0] != feed[1] == feed[2] == feed[3]


async def test_next_button_pagination(site: FixtureSite, client: httpx.AsyncClient) -> None:
    url: str | None = site.url("/catalog/1")
    visited = []
    while url is not None:
        response = await client.get(url)
        assert response.status_code == 200
        visited.append(url)
        url = select_href(response.text, url, "a.next")
        next_links = extract_links(response.text, str(response.url), follow_nofollow=False).next_links
        assert next_links == ([] if url is None else [url])
    assert visited == [site.url(f"/catalog/{n}") for n in range(1, CATALOG_LAST_PAGE + 1)]


async def test_redirects(site: FixtureSite, client: httpx.AsyncClient) -> None:
    chain = await client.get(site.url("/redirect/chain"), follow_redirects=True)
    assert [hop.status_code for hop in chain.history] == [301, 302, 307]
    assert str(chain.url) == site.url("/redirect/final") and chain.status_code == 200
    with pytest.raises(httpx.TooManyRedirects):
        await client.get(site.url("/redirect/loop"), follow_redirects=True)
    loopback = await client.get(site.url("/redirect/to-loopback"))
    assert loopback.headers["location"] == f"http://127.0.0.1:{site.port}/redirect/landing"
    metadata = await client.get(site.url("/redirect/to-metadata"))
    assert metadata.status_code == 302 and metadata.headers["location"] == METADATA_URL


async def test_redirect_into_loopback_leaves_a_site_on_127_0_0_2(client: httpx.AsyncClient) -> None:
    async with FixtureSite(host="127.0.0.2") as site:
        response = await client.get(site.url("/redirect/to-loopback"))
        assert response.headers["location"].startswith("http://127.0.0.1:")
        assert site.access_log[-1].client == "127.0.0.1"
        assert site.expected.failed[canonical_url(site.url("/redirect/to-loopback"))] == "redirect"


async def test_error_statuses_and_fail_once_endpoints(site: FixtureSite, client: httpx.AsyncClient) -> None:
    async def statuses(path: str, times: int) -> list[int]:
        return [(await client.get(site.url(path))).status_code for _ in range(times)]

    assert await statuses("/missing", 1) == [404]
    assert await statuses("/gone", 1) == [410]
    assert await statuses("/always-500", 3) == [500, 500, 500]
    assert await statuses("/flaky", 3) == [500, 200, 200]
    first = await client.get(site.url("/throttled"))
    assert (first.status_code, first.headers["retry-after"]) == (429, "1")
    assert (await client.get(site.url("/throttled"))).status_code == 200
    site.reset_state()
    assert await statuses("/flaky", 2) == [500, 200]


async def test_slow_endpoint_outlasts_a_short_timeout(site: FixtureSite, client: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await client.get(site.url("/slow"), timeout=0.1)
    assert (await client.get(site.url("/slow"))).status_code == 200


@pytest.mark.parametrize(("path", "declared"), [("/big/50mb", True), ("/big/50mb-chunked", False)])
async def test_50_mib_body_is_streamed(
    site: FixtureSite, client: httpx.AsyncClient, path: str, declared: bool
) -> None:
    received = 0
    async with client.stream("GET", site.url(path)) as response:
        assert ("content-length" in response.headers) is declared
        async for chunk in response.aiter_raw():
            received += len(chunk)
    assert received == BIG_BODY_BYTES


async def test_big_body_aborted_by_the_client_is_logged(site: FixtureSite, client: httpx.AsyncClient) -> None:
    async with client.stream("GET", site.url("/big/50mb")) as response:
        async for _chunk in response.aiter_raw():
            break
    assert site.requests_for("/big/50mb")[0].status == 200


async def test_gzip_bomb_inflates_over_a_hundredfold(site: FixtureSite, client: httpx.AsyncClient) -> None:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    compressed = inflated = 0
    async with client.stream("GET", site.url("/bomb")) as response:
        assert response.headers["content-encoding"] == "gzip"
        declared = int(response.headers["content-length"])
        async for chunk in response.aiter_raw():
            compressed += len(chunk)
            data = chunk
            while data:
                inflated += len(inflater.decompress(data, 64 * 1024 * 1024))
                data = inflater.unconsumed_tail
            if compressed >= 1024 * 1024:
                break
    assert 9 * 1024 * 1024 < declared < 12 * 1024 * 1024
    ratio = inflated / compressed
    assert ratio > 200 and declared * ratio > 2**31  # the whole body inflates beyond 2 GiB


async def test_pdf_carries_its_text(site: FixtureSite, client: httpx.AsyncClient) -> None:
    response = await client.get(site.url("/docs/report.pdf"))
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == pdf_bytes("report")
    assert response.content.startswith(b"%PDF-") and response.content.rstrip().endswith(b"%%EOF")
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", response.content, re.DOTALL)
    text = b"".join(zlib.decompress(stream) for stream in streams if stream.startswith(b"x"))
    assert PDF_TEXT.split(":")[0].encode() in text


async def test_images_have_their_sizes_and_formats(site: FixtureSite, client: httpx.AsyncClient) -> None:
    for image in IMAGES:
        response = await client.get(site.url(image.path))
        assert response.headers["content-type"] == f"image/{image.format.lower()}"
        assert inspect_image(response.content) == ImageInfo(image.width, image.height, image.format.lower())
    gallery = extract_links(
        (await client.get(site.url("/gallery"))).text, site.url("/gallery"), follow_nofollow=False
    )
    assert {site.url(image.path) for image in IMAGES} <= set(gallery.links)


@pytest.mark.parametrize(
    ("path", "charset", "text"),
    [("/intl/cp1251", "windows-1251", CP1251_TEXT), ("/intl/shift-jis", "shift_jis", SHIFT_JIS_TEXT)],
)
async def test_non_utf8_pages_declare_their_charset_twice(
    site: FixtureSite, client: httpx.AsyncClient, path: str, charset: str, text: str
) -> None:
    response = await client.get(site.url(path))
    assert response.headers["content-type"] == f"text/html; charset={charset}"
    assert f'<meta charset="{charset}">'.encode() in response.content
    assert text.encode(charset) in response.content
    assert text in decode_html(response.content, response.headers["content-type"])
    assert text in decode_html(response.content, "text/html")  # from <meta> alone


async def test_duplicate_and_nofollow_links_on_the_home_page(
    site: FixtureSite, client: httpx.AsyncClient
) -> None:
    home = (await client.get(site.url("/"))).text
    found = extract_links(home, site.url("/"), follow_nofollow=False)
    assert site.url("/about") in found.links and site.url("/about#team") not in found.links
    products = [url for url in found.links if "/products" in url]
    assert len(products) == 2 and len({canonical_url(url) for url in products}) == 1
    assert found.nofollow_skipped == 1 and site.url("/nofollow-target") not in found.links
    assert found.canonical == site.url("/")
    meta = (await client.get(site.url("/meta-nofollow"))).text
    assert extract_links(meta, site.url("/meta-nofollow"), follow_nofollow=False).links == []


async def test_conditional_requests_get_304_until_the_page_changes(
    site: FixtureSite, client: httpx.AsyncClient
) -> None:
    first = await client.get(site.url("/cached"))
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert (await client.get(site.url("/cached"), headers={"if-none-match": etag})).status_code == 304
    assert (
        await client.get(site.url("/cached"), headers={"if-modified-since": last_modified})
    ).status_code == 304
    assert (await client.get(site.url("/cached"), headers={"if-none-match": '"other"'})).status_code == 200
    site.revise()
    changed = await client.get(
        site.url("/cached"), headers={"if-none-match": etag, "if-modified-since": last_modified}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag and changed.text != first.text
    newer = format_datetime(datetime.now(UTC), usegmt=True)
    assert (await client.get(site.url("/cached"), headers={"if-modified-since": newer})).status_code == 304


async def test_text_and_json(site: FixtureSite, client: httpx.AsyncClient) -> None:
    text = await client.get(site.url("/notes.txt"))
    assert text.headers["content-type"].startswith("text/plain") and text.text == TEXT_BODY
    data = await client.get(site.url("/data.json"))
    assert data.headers["content-type"].startswith("application/json") and data.json() == JSON_BODY


async def test_access_log_records_every_request(site: FixtureSite, client: httpx.AsyncClient) -> None:
    await client.get(site.url("/about?x=1"), headers={"if-none-match": '"a"'})
    await client.get(site.url("/missing"))
    about, missing = site.access_log
    assert (about.method, about.path, about.status, about.client) == ("GET", "/about?x=1", 200, "127.0.0.1")
    assert about.headers["user-agent"] == "TrawlTest/1.0" and about.headers["if-none-match"] == '"a"'
    assert (missing.path, missing.status) == ("/missing", 404)
    assert about.time <= missing.time
    site.reset_log()
    assert site.access_log == []


async def test_site_runs_in_a_subprocess_with_a_file_access_log(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    log = tmp_path / "access.jsonl"
    async with site_process("tests.sites.fixture_site", host="127.0.0.1", access_log=log) as base_url:
        assert (await client.get(base_url + "/data.json")).json() == JSON_BODY
    [record] = read_access_log(log)
    assert (record.path, record.status) == ("/data.json", 200)


async def test_expected_outcome_matches_what_the_site_links_and_serves(
    site: FixtureSite, client: httpx.AsyncClient
) -> None:
    """Walk the site as a default crawl would (links, sitemaps, robots, scope, depth) and check
    that `expected` names exactly the URLs found, with the statuses the site answers."""
    expected = site.expected
    seed = site.url("/")
    config = JobConfig.model_validate({"seeds": [seed]})
    scope = ScopePolicy.for_job(config)
    robots_response = await client.get(site.url("/robots.txt"))
    robots = RobotsRules.from_response(robots_response.status_code, robots_response.content, 0.0)

    found: dict[str, str | None] = {}  # canonical URL -> skip reason (None: to fetch)
    frontier = [(seed, 0)]
    for sitemap_url in expected.sitemaps:
        sitemap = parse_sitemap((await client.get(sitemap_url)).content)
        frontier += [(url, 1) for url in sitemap.urls]
    while frontier:
        url, depth = frontier.pop(0)
        key = canonical_url(url)
        if key in found:
            continue
        reason = scope.refusal(url, depth) or (None if robots.allows(url, "TrawlTest") else "robots")
        found[key] = reason
        outcome = expected.urls.get(key)
        if reason is not None or outcome is None or outcome.kind != "html":
            continue
        response = await client.get(url, follow_redirects=True)
        for _ in range(2):  # the fail-once endpoints answer on a retry
            if response.status_code in (429, 500):
                response = await client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        assert str(response.url) == (outcome.final_url or url)
        page = extract_links(response.text, str(response.url), follow_nofollow=False)
        frontier += [(link, depth + 1) for link in page.links]

    assert set(found) == set(expected.urls)
    duplicates = {url for url, reason in expected.skipped.items() if reason == "duplicate"}
    assert {url: reason for url, reason in found.items() if reason == "robots"} == {
        url: reason for url, reason in expected.skipped.items() if url not in duplicates
    }
    for url in duplicates:  # reached again: redirected to, or naming with the same bytes, a fetched page
        assert found[url] is None
        response = await client.get(url, follow_redirects=True)
        twin = extract_links(response.text, str(response.url), follow_nofollow=False).canonical or str(
            response.url
        )
        assert canonical_url(twin) in expected.fetched and canonical_url(twin) != url
        assert (await client.get(twin)).content == response.content
    assert {
        url: reason for url, reason in found.items() if reason not in (None, "robots")
    } == expected.out_of_scope
    assert not {canonical_url(url) for url in expected.not_discovered} & set(found)
    for url, outcome in expected.urls.items():
        if outcome.outcome == "failed" and outcome.reason and outcome.reason.startswith("http_"):
            assert (await client.get(url)).status_code == int(outcome.reason.removeprefix("http_"))
        if outcome.outcome == "fetched" and outcome.kind not in (None, "html"):
            response = await client.get(url)
            assert response.status_code == 200, url


def test_static_site_is_deterministic_and_pages_are_about_20_kib(tmp_path: Path) -> None:
    paths = generate_static_site(tmp_path / "a", 250)
    generate_static_site(tmp_path / "b", 250)
    files = sorted(path.relative_to(tmp_path / "a") for path in (tmp_path / "a").rglob("*.html"))
    assert len(files) == len(paths) == 250
    for file in files:
        content = (tmp_path / "a" / file).read_bytes()
        assert content == (tmp_path / "b" / file).read_bytes()
        assert PAGE_BYTES <= len(content) < PAGE_BYTES + 2048
    assert generate_static_site(tmp_path / "c", 250, seed=1) == paths
    assert (tmp_path / "c" / "pages" / "7.html").read_bytes() != (
        tmp_path / "a" / "pages" / "7.html"
    ).read_bytes()


async def test_static_site_pages_are_all_reachable_within_max_depth(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    pages = 500
    generate_static_site(tmp_path, pages)
    async with StaticSite(tmp_path) as site:
        robots = await client.get(site.url("/robots.txt"))
        assert RobotsRules.from_response(robots.status_code, robots.content, 0.0).allows(
            site.url("/pages/1.html"), "X"
        )
        depth_of = {site.url("/"): 0}
        frontier = [site.url("/")]
        while frontier:
            url = frontier.pop(0)
            response = await client.get(url)
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
            for link in extract_links(response.text, url, follow_nofollow=False).links:
                if link not in depth_of:
                    depth_of[link] = depth_of[url] + 1
                    frontier.append(link)
        assert set(depth_of) == {site.url(path) for path in page_paths(pages)}
        assert max(depth_of.values()) == max_depth(pages) == 3
        assert all(depth_of[site.url(page_path(index))] <= page_depth(index) for index in range(pages))
        assert len(site.access_log) == pages + 1
        assert {record.path for record in site.access_log} == {*page_paths(pages), "/robots.txt"}
        assert (await client.get(site.url("/pages/9999.html"))).status_code == 404
