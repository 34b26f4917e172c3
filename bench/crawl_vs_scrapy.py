"""Trawl's crawler against Scrapy on the same local static site, same machine, same run.

    python -m bench.crawl_vs_scrapy [--pages 5000] [--concurrency 16]

Generates `--pages` interlinked pages of ~20 KiB (tests/sites/static_site.py), serves them from
a separate process, and crawls the whole site once with each: Trawl's crawler in this process
over the real Kafka, Postgres and S3 (durable frontier, raw bytes to S3, PageFetched through
the outbox), timed from publishing JobCreated to the run's completion; and Scrapy
(bench/scrapy_reference.py, in its own process: Twisted wants its own reactor) with the same
concurrency, robots.txt obeyed, no delay, items to a JSON-lines feed. Prints pages/s for both,
the ratio Trawl/Scrapy, each side's peak RSS, and the crawler's outbox relay lag (the oldest
event not yet in Kafka, sampled every 0.25 s: at most how old it got). Uses the local stack
(started if needed) or the TRAWL_* servers, and removes its schemas and topics afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import asyncpg
import psutil

from services.crawler.app import SPEC
from shared.config import Settings
from shared.logging import configure_logging
from shared.service import ServiceRuntime, running
from tests.integration.crawler.conftest import start_crawl, wait_finished
from tests.sites.server import site_process
from tests.support import drop_isolated
from trawl import localstack


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time of a process and its children (live and reaped), e.g. Postgres and its backends."""
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


class StackCpu:
    """CPU the local stack's servers (Kafka, Postgres, S3) spend while a crawl runs."""

    def __init__(self, settings: Settings) -> None:
        self._servers = [
            psutil.Process(component.pid)
            for component in localstack.status(settings)
            if component.pid is not None and component.state == "running"
        ]

    def total(self) -> float:
        return sum(cpu_seconds(server) for server in self._servers)


class PeakRss:
    """Samples this process's resident memory while running."""

    def __init__(self) -> None:
        self.peak = 0
        self._process = psutil.Process()

    @contextlib.asynccontextmanager
    async def sampling(self, interval: float = 0.05) -> AsyncIterator[None]:
        async def sample() -> None:
            while True:
                self.peak = max(self.peak, self._process.memory_info().rss)
                await asyncio.sleep(interval)

        task = asyncio.create_task(sample())
        try:
            yield
        finally:
            task.cancel()
            self.peak = max(self.peak, self._process.memory_info().rss)


class OutboxLag:
    """The age of the oldest event not yet relayed to Kafka, sampled while a crawl runs."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.worst = 0.0

    @contextlib.asynccontextmanager
    async def sampling(self, interval: float = 0.25) -> AsyncIterator[None]:
        async def sample() -> None:
            while True:
                age = await self._pool.fetchval(
                    "SELECT extract(epoch FROM now() - min(created_at))"
                    " FROM outbox WHERE published_at IS NULL"
                )
                self.worst = max(self.worst, float(age or 0))
                await asyncio.sleep(interval)

        task = asyncio.create_task(sample())
        try:
            yield
        finally:
            task.cancel()


@dataclass(frozen=True)
class Result:
    pages: int
    seconds: float
    peak_rss: int
    cpu: float  # the crawler process's CPU seconds
    stack_cpu: float  # Kafka + Postgres + S3 CPU seconds meanwhile
    outbox_lag: float | None = None  # the oldest unrelayed event's greatest age, seconds

    @property
    def rate(self) -> float:
        return self.pages / self.seconds

    def line(self, name: str) -> str:
        per_page = 1000 / self.pages
        return (
            f"{name}: {self.pages:,} pages in {self.seconds:.1f}s = {self.rate:,.0f} pages/s, "
            f"peak RSS {self.peak_rss / 2**20:,.0f} MiB, CPU/page {self.cpu * per_page:.2f} ms in-process "
            f"+ {self.stack_cpu * per_page:.2f} ms in Kafka/Postgres/S3"
            + ("" if self.outbox_lag is None else f", outbox relay lag at most {self.outbox_lag:.2f}s")
        )


async def crawl_with_trawl(base: Settings, url: str, pages: int, concurrency: int) -> Result:
    tag = uuid4().hex[:8]
    settings = base.model_copy(
        update={
            "topic_prefix": f"bench{tag}.",
            "schema_prefix": f"bench{tag}_",
            "crawler_allowed_networks": ["127.0.0.0/8"],
            "crawler_concurrency": concurrency,
            "http_base_port": 0,
        }
    )
    memory = PeakRss()
    try:
        async with memory.sampling(), running([ServiceRuntime(SPEC, settings)]) as (runtime,):
            assert runtime.pool is not None
            config = {
                "seeds": [url],
                "limits": {"max_pages": pages + 10, "max_depth": 100, "per_host_concurrency": concurrency},
                "options": {"sitemaps": False},
            }
            stack, me = StackCpu(settings), psutil.Process()
            stack_before, cpu_before = stack.total(), cpu_seconds(me)
            lag = OutboxLag(runtime.pool)
            started = time.perf_counter()
            async with lag.sampling():
                crawl = await start_crawl(settings, config)
                run = await wait_finished(runtime.pool, crawl, within=3600)
            seconds = time.perf_counter() - started
            cpu, stack_cpu = cpu_seconds(me) - cpu_before, stack.total() - stack_before
    finally:
        await drop_isolated(settings)
    return Result(int(run["pages_crawled"]), seconds, memory.peak, cpu, stack_cpu, lag.worst)


async def crawl_with_scrapy(settings: Settings, url: str, concurrency: int, workdir: Path) -> Result:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("scrapy_reference.py")),
        url,
        "--concurrency",
        str(concurrency),
        "--feed",
        str(workdir / "scrapy.jsonl"),
        stdout=asyncio.subprocess.PIPE,
    )
    stack = StackCpu(settings)
    stack_before = stack.total()
    stdout, _ = await process.communicate()
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    return Result(
        int(result["pages"]),
        float(result["seconds"]),
        int(result["peak_rss"]),
        float(result["cpu"]),
        stack.total() - stack_before,
    )


async def main(args: argparse.Namespace, settings: Settings) -> None:
    with tempfile.TemporaryDirectory(prefix="trawl-bench-") as tmp:
        workdir = Path(tmp)
        async with site_process(
            "tests.sites.static_site",
            str(workdir / "site"),
            "--pages",
            str(args.pages),
            host="127.0.0.1",
            access_log=workdir / "access.log",
        ) as base_url:
            url = base_url + "/"
            scrapy = await crawl_with_scrapy(settings, url, args.concurrency, workdir)
            trawl = await crawl_with_trawl(settings, url, args.pages, args.concurrency)
    print(f"site: {args.pages:,} pages of ~20 KiB, concurrency {args.concurrency}, robots obeyed, no delay")
    print(scrapy.line("scrapy"))
    print(trawl.line("trawl "))
    print(f"ratio trawl/scrapy: {trawl.rate / scrapy.rate:.2f} (pages/s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    settings = Settings(log_level="WARNING")
    configure_logging("bench", settings.log_level, settings.log_json)
    if any(component.state == "stopped" for component in localstack.status(settings)):
        localstack.up(settings)
    asyncio.run(main(parser.parse_args(), settings))
