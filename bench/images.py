"""An image dataset built by Trawl against img2dataset on the same URL list, same machine, same run.

    python -m bench.images [--images 1000] [--threads 16]

Generates `--images` distinct JPEG pictures (tests/fixtures/image_set.py, 480-1024 px, ~50-120
KiB each), serves them from a separate process (Python's threading HTTP server) and builds a
dataset of them twice: with img2dataset (bench/img2dataset_reference.py, in its own process:
files kept as served, SHA-256, EXIF, `--threads` threads), and with Trawl's crawler in this
process over the real Kafka, Postgres and S3 — an image job over the same URLs (each image
fetched, decoded in full, pHashed, thumbnailed, stored content-addressed in S3 with its row and
ImageStored event through the outbox), then a validation job over them (sizes, formats,
blank, exact and near duplicates), timed from publishing JobCreated to the validation's
completion. Prints images/s for both, the ratio and each side's peak RSS. Uses the local stack
(started if needed) or the TRAWL_* servers, and removes its schemas and topics afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import asyncpg

from bench.crawl_vs_scrapy import PeakRss
from services.crawler.app import SPEC
from shared.config import Settings
from shared.events import ValidationRequested, ValidationRules
from shared.logging import configure_logging
from shared.producer import publish_direct
from shared.service import ServiceRuntime, running
from tests.fixtures import image_set
from tests.integration.crawler.conftest import start_crawl, wait_finished
from tests.support import drop_isolated, wait_until
from trawl import localstack

RULES = ValidationRules(min_width=200, min_height=200, formats=["jpeg", "png", "webp"])


def write_images(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True)
    names = []
    for n in range(count):
        name = f"{n:06d}.jpg"
        (folder / name).write_bytes(image_set.jpeg(image_set.photo(n, image_set.picture_size(n))))
        names.append(name)
    return names


@contextlib.asynccontextmanager
async def serving(folder: Path) -> AsyncIterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await asyncio.sleep(1.0)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        await server.wait()


async def with_img2dataset(urls: list[str], workdir: Path, threads: int) -> tuple[int, float, int]:
    listing = workdir / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("img2dataset_reference.py")),
        str(listing), str(workdir / "img2dataset"), "--threads", str(threads),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    stdout, _ = await process.communicate()
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    return int(result["images"]), float(result["seconds"]), int(result["peak_rss"])


async def with_trawl(base: Settings, urls: list[str], threads: int) -> tuple[int, float, int, dict[str, int]]:
    tag = uuid4().hex[:8]
    settings = base.model_copy(
        update={
            "topic_prefix": f"bench{tag}.",
            "schema_prefix": f"bench{tag}_",
            "crawler_allowed_networks": ["127.0.0.0/8"],
            "crawler_concurrency": threads,
            "http_base_port": 0,
        }
    )
    memory = PeakRss()
    config = {
        "kind": "images",
        "seeds": urls,
        "limits": {"max_pages": len(urls) + 10, "max_depth": 0, "per_host_concurrency": threads},
        "options": {"sitemaps": False},
    }
    try:
        async with memory.sampling(), running([ServiceRuntime(SPEC, settings)]) as (runtime,):
            pool = runtime.pool
            assert pool is not None
            started = time.perf_counter()
            crawl = await start_crawl(settings, config)
            await wait_finished(pool, crawl, within=3600)
            validation_id = uuid4()
            request = ValidationRequested(
                tenant_id=crawl.tenant_id,
                validation_id=validation_id,
                run_id=crawl.run_id,
                rules=RULES,
                requested_at=datetime.now(UTC),
            )
            await publish_direct(settings, [request], source="bench")
            row = await wait_until(lambda: _finished(pool, validation_id), within=3600)
            seconds = time.perf_counter() - started
            stored = await pool.fetchval(
                "SELECT count(*) FROM images WHERE run_id = $1 AND s3_key IS NOT NULL", crawl.run_id
            )
            reasons = await pool.fetch(
                "SELECT unnest(reasons) AS reason, count(*) FROM image_verdicts"
                " WHERE validation_id = $1 GROUP BY 1",
                validation_id,
            )
    finally:
        await drop_isolated(settings)
    assert row["status"] == "completed", dict(row)
    return int(stored), seconds, memory.peak, {r["reason"]: int(r["count"]) for r in reasons}


async def _finished(pool: asyncpg.Pool, validation_id: object) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT status, validated FROM validations WHERE validation_id = $1", validation_id
    )
    return row if row is not None and row["status"] in ("completed", "failed") else None


async def main(args: argparse.Namespace, settings: Settings) -> None:
    with tempfile.TemporaryDirectory(prefix="trawl-bench-") as tmp:
        workdir = Path(tmp)
        names = await asyncio.to_thread(write_images, workdir / "site", args.images)
        size = sum((workdir / "site" / name).stat().st_size for name in names)
        async with serving(workdir / "site") as base_url:
            urls = [f"{base_url}/{name}" for name in names]
            theirs = await with_img2dataset(urls, workdir, args.threads)
            ours = await with_trawl(settings, urls, args.threads)
    print(f"{args.images:,} images, {size / 2**20:,.0f} MiB, {args.threads} fetches in flight, one host")
    print(
        f"img2dataset: {theirs[0]:,} images in {theirs[1]:.1f}s = {theirs[0] / theirs[1]:,.0f} images/s, "
        f"peak RSS {theirs[2] / 2**20:,.0f} MiB (fetch, SHA-256, EXIF; files to local disk)"
    )
    print(
        f"trawl      : {ours[0]:,} images in {ours[1]:.1f}s = {ours[0] / ours[1]:,.0f} images/s, "
        f"peak RSS {ours[2] / 2**20:,.0f} MiB (fetch, full decode, pHash, thumbnail, S3, rows, events; "
        f"then validated: {ours[3] or 'all valid'})"
    )
    print(f"ratio trawl/img2dataset: {(ours[0] / ours[1]) / (theirs[0] / theirs[1]):.2f} (images/s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16)
    settings = Settings(log_level="WARNING")
    configure_logging("bench", settings.log_level, settings.log_json)
    if any(component.state == "stopped" for component in localstack.status(settings)):
        localstack.up(settings)
    asyncio.run(main(parser.parse_args(), settings))
