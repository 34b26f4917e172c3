"""The main job (`trawl demo`, the README's first command): all five services in this process,
the bundled demo website served on 127.0.0.1, a tenant and key, a crawl of the site through the
public API with a progress bar, then the counts, the top hits of two searches and the products
found; then a second run of the same job, which finds the same products (observed again, none
new)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

from rich.console import Console
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from shared.config import Settings
from shared.http import HealthServer
from shared.logging import configure_logging
from shared.service import ServiceRuntime, running
from trawl.api_commands import bootstrap_tenant, print_hits
from trawl.client import ApiError, TrawlClient, default_api_url
from trawl.crawling import follow, job_body, print_summary
from trawl.exports import export_and_download
from trawl.items import print_products
from trawl.registry import all_specs

DEMO_SITE = Path(__file__).parent / "demo_site" / "site"
LOOPBACK = "127.0.0.0/8"
SEARCHES = ("how long did the lighthouse keeper light the lamp", "waterproof lantern for the deck")


@contextlib.asynccontextmanager
async def serving_demo_site(host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """The demo website over HTTP; yields its base URL."""
    server = HealthServer(
        "demo-site",
        host,
        port,
        checks={},
        routes=[Mount("/", app=StaticFiles(directory=DEMO_SITE, html=True))],
    )
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


def demo_settings(settings: Settings) -> Settings:
    """The crawler may fetch the demo site on loopback: only here, never by default."""
    allowed = [*settings.crawler_allowed_networks, LOOPBACK]
    return settings.model_copy(update={"crawler_allowed_networks": sorted(set(allowed))})


async def crawl_demo_site(client: TrawlClient, site_url: str, *, wait_seconds: float) -> dict[str, Any]:
    job = await client.create_job(job_body([f"{site_url}/index.html"], {}, max_pages=100, depth=4))
    return await run_again(client, job["id"], wait_seconds=wait_seconds)


async def run_again(client: TrawlClient, job_id: str, *, wait_seconds: float) -> dict[str, Any]:
    """A new run of the job, followed to its end."""
    run = await client.start_run(job_id, idempotency_key=f"demo-{job_id}-{uuid4()}")
    return await follow(client, run["id"], wait_seconds=wait_seconds)


async def products_by_id(client: TrawlClient) -> dict[str, dict[str, Any]]:
    return {product["id"]: product for product in (await client.products(limit=500))["products"]}


async def main_job(settings: Settings, console: Console, *, wait_seconds: float) -> bool:
    configure_logging("trawl", "WARNING", json=False)
    settings = demo_settings(settings)
    runtimes = [ServiceRuntime(spec, settings) for spec in all_specs()]
    console.print("starting the five services…")
    async with running(runtimes), serving_demo_site() as site_url:
        made = await bootstrap_tenant(settings, "demo", "demo@localhost")
        console.print(f"demo website at {site_url}; tenant 'demo' with a new API key")
        async with TrawlClient(settings.api_url or default_api_url(settings), made.key.plaintext) as client:
            try:
                run = await crawl_demo_site(client, site_url, wait_seconds=wait_seconds)
                print_summary(run)
                for query in SEARCHES:
                    print_hits(await client.search(query, run_id=run["id"], limit=3))
                found = await products_by_id(client)
                print_products(list(found.values()))
                console.print("the same job again: its pages are unchanged, its products observed again")
                again = await run_again(client, run["job_id"], wait_seconds=wait_seconds)
                print_summary(again)
                new = len(await products_by_id(client)) - len(found)
                console.print(f"{len(found)} products, {new} new after the second run")
                exported = settings.home / "exports" / "demo-products.csv"
                exported.parent.mkdir(parents=True, exist_ok=True)
                console.print("the products exported by the exporter, as CSV:")
                await export_and_download(
                    client, {"run_id": again["id"], "dataset": "products", "format": "csv"}, exported
                )
                if settings.llm_url is None:
                    console.print(
                        "LLM tasks: no endpoint configured; set TRAWL_LLM_URL (any OpenAI-compatible API) "
                        "and a job's llm_queries run over its products (`trawl llm sessions`)"
                    )
                run = again
            except ApiError as exc:
                console.print(f"[red]{exc}[/red]")
                return False
    return bool(run["status"] == "completed")
