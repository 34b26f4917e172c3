"""The reference crawl of bench/crawl_vs_scrapy.py: a plain Scrapy spider following every link.

    python bench/scrapy_reference.py URL --concurrency N --feed FILE

Prints one JSON line: pages crawled, seconds, peak RSS in bytes, CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor


class SiteSpider(scrapy.Spider):
    name = "site"
    links = LinkExtractor()

    def __init__(self, start: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [start]

    def parse(self, response: Response) -> Iterator[Any]:
        yield {"url": response.url, "title": response.css("title::text").get(), "bytes": len(response.body)}
        for link in self.links.extract_links(response):
            yield response.follow(link.url, self.parse)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--feed", required=True)
    args = parser.parse_args()
    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
            "ROBOTSTXT_OBEY": True,
            "DOWNLOAD_DELAY": 0,
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
            "FEEDS": {args.feed: {"format": "jsonlines", "overwrite": True}},
        }
    )
    process.crawl(SiteSpider, start=args.url)
    started = time.perf_counter()
    process.start()
    seconds = time.perf_counter() - started
    with open(args.feed, encoding="utf-8") as feed:
        pages = sum(1 for line in feed if line.strip())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"pages": pages, "seconds": seconds, "peak_rss": usage.ru_maxrss * 1024, "cpu": cpu}))


if __name__ == "__main__":
    main()
