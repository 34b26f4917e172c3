"""`trawl crawl URL... [settings] [--config FILE] [--wait]`: a job from flags, a run, its progress.

Every setting of a job has a flag (as `scrapy crawl -s` or Firecrawl's crawl options do); a
JSON file given with `--config` holds any of them in the API's job body shape, and a flag
given on the command line wins over the file.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import uuid4

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.events import JobKind
from trawl.client import TrawlClient
from trawl.console import console
from trawl.conversation import call_api
from trawl.expansions import print_expansion

# Where each flag goes in the job body: (section or None for the top level, field).
_PLACES: dict[str, tuple[str | None, str]] = {
    "name": (None, "name"),
    "kind": (None, "kind"),
    "keyword": (None, "keywords"),
    "brand": (None, "brand_name"),
    "expansions": (None, "expansions_per_keyword"),
    "max_images": ("limits", "max_images"),
    "user_agent": (None, "user_agent"),
    "max_pages": ("limits", "max_pages"),
    "depth": ("limits", "max_depth"),
    "per_host": ("limits", "per_host_concurrency"),
    "delay": ("limits", "min_delay_seconds"),
    "timeout": ("limits", "request_timeout_seconds"),
    "retries": ("limits", "max_retries"),
    "max_bytes": ("limits", "max_body_bytes"),
    "include": ("scope", "include_patterns"),
    "exclude": ("scope", "exclude_patterns"),
    "allow_domain": ("scope", "allowed_domains"),
    "robots": ("scope", "respect_robots"),
    "follow_nofollow": ("scope", "follow_nofollow"),
    "sitemaps": ("options", "sitemaps"),
    "autothrottle": ("options", "autothrottle"),
}


def job_body(seeds: list[str], base: dict[str, Any], **flags: Any) -> dict[str, Any]:
    """The job to create: `base` (a --config file, or empty) with the seeds and every flag
    that was given (not None) set in its place."""
    body: dict[str, Any] = json.loads(json.dumps(base))  # a copy the caller's dict does not share
    if seeds:
        body["seeds"] = seeds
    for flag, value in flags.items():
        if value is None or value == []:
            continue
        section, field = _PLACES[flag]
        target = body if section is None else body.setdefault(section, {})
        target[field] = value.value if isinstance(value, JobKind) else value
    body.setdefault("name", f"crawl {(body.get('seeds') or body.get('keywords') or ['?'])[0]}")
    return body


def crawl(
    urls: Annotated[list[str] | None, typer.Argument(help="seed URLs (or `seeds` in --config)")] = None,
    config: Annotated[Path | None, typer.Option(help="a JSON job body; flags win over it")] = None,
    name: Annotated[str | None, typer.Option(help="the job's name")] = None,
    kind: Annotated[JobKind | None, typer.Option(help="crawl, scrape, images or keywords")] = None,
    keyword: Annotated[
        list[str] | None,
        typer.Option(help="search for it (a keywords or images job; needs a search provider)"),
    ] = None,
    brand: Annotated[str | None, typer.Option(help="a brand job: each search is '<brand> <keyword>'")] = None,
    expansions: Annotated[
        int | None, typer.Option(help="LLM expansions searched per keyword, default 3 (0: none)")
    ] = None,
    max_images: Annotated[int | None, typer.Option(help="an images job keeps at most this many")] = None,
    max_pages: Annotated[int | None, typer.Option(help="stop after this many pages, default 100")] = None,
    depth: Annotated[int | None, typer.Option(help="links to follow from a seed, default 3")] = None,
    per_host: Annotated[int | None, typer.Option(help="fetches in flight per host, default 2")] = None,
    delay: Annotated[float | None, typer.Option(help="seconds between requests to a host, default 0")] = None,
    timeout: Annotated[float | None, typer.Option(help="seconds per request, default 30")] = None,
    retries: Annotated[int | None, typer.Option(help="retries of 5xx, 429 and timeouts, default 3")] = None,
    max_bytes: Annotated[int | None, typer.Option(help="largest response body, default 20 MiB")] = None,
    include: Annotated[list[str] | None, typer.Option(help="only URLs matching this regex")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="skip URLs matching this regex")] = None,
    allow_domain: Annotated[list[str] | None, typer.Option(help="also crawl this domain")] = None,
    robots: Annotated[
        bool | None, typer.Option("--robots/--no-robots", help="obey robots.txt, default yes")
    ] = None,
    follow_nofollow: Annotated[
        bool | None,
        typer.Option("--follow-nofollow/--no-follow-nofollow", help="follow rel=nofollow, default no"),
    ] = None,
    sitemaps: Annotated[
        bool | None,
        typer.Option(
            "--sitemaps/--no-sitemaps", help="read robots.txt and /sitemap.xml sitemaps, default yes"
        ),
    ] = None,
    autothrottle: Annotated[
        bool | None,
        typer.Option("--autothrottle/--no-autothrottle", help="adapt delays to latency, default no"),
    ] = None,
    user_agent: Annotated[str | None, typer.Option(help="the User-Agent sent")] = None,
    schema: Annotated[Path | None, typer.Option(help="JSON Schema file of records to extract")] = None,
    wait: Annotated[bool, typer.Option(help="follow the run with a progress bar until it ends")] = False,
) -> None:
    """Crawl sites, or what keywords find: create a job from these settings and start a run of it."""
    base = json.loads(config.read_text()) if config else {}
    body = job_body(
        urls or [],
        base,
        name=name,
        kind=kind,
        keyword=keyword,
        brand=brand,
        expansions=expansions,
        max_images=max_images,
        max_pages=max_pages,
        depth=depth,
        per_host=per_host,
        delay=delay,
        timeout=timeout,
        retries=retries,
        max_bytes=max_bytes,
        include=include,
        exclude=exclude,
        allow_domain=allow_domain,
        robots=robots,
        follow_nofollow=follow_nofollow,
        sitemaps=sitemaps,
        autothrottle=autothrottle,
        user_agent=user_agent,
    )
    definition = json.loads(schema.read_text()) if schema else None

    async def work(client: TrawlClient) -> dict[str, Any]:
        if schema is not None and definition is not None:
            created = await client.create_schema(schema.stem, definition, version=uuid4().hex[:8])
            body["extractor_schema_id"] = created["id"]
        job = await client.create_job(body)
        run = await client.start_run(job["id"], idempotency_key=str(uuid4()))
        console.print(f"run {run['id']} of job {job['id']} started")
        return await follow(client, run["id"]) if wait else run

    run = call_api(work)
    if wait:
        print_summary(run)
        if run["status"] != "completed":
            raise typer.Exit(1)


async def follow(client: TrawlClient, run_id: str, *, wait_seconds: float | None = None) -> dict[str, Any]:
    """Show the run's progress until it ends (or `wait_seconds` pass); returns it as last seen."""
    columns = (TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    last: dict[str, Any] = await client.run(run_id)
    with Progress(*columns, console=console, transient=False) as bar:
        fetched = bar.add_task("fetched", total=None)
        indexed = bar.add_task("indexed", total=None)

        async def updates() -> None:
            nonlocal last
            async for run in client.watch(run_id):
                last = run
                progress = run["progress"]
                known = max(progress["pages_total"], progress["pages_fetched"]) or None
                bar.update(
                    fetched, completed=progress["pages_fetched"], total=progress["pages_published"] or known
                )
                expected = (
                    progress["pages_published"] or progress["documents_expected"] or progress["pages_fetched"]
                )
                bar.update(indexed, completed=progress["extractor_outcomes"], total=expected or None)

        try:
            await asyncio.wait_for(updates(), wait_seconds)
        except TimeoutError:
            console.print(f"[yellow]still {last['status']} after {wait_seconds:.0f}s[/yellow]")
    return last


def print_summary(run: dict[str, Any]) -> None:
    progress = run["progress"]
    table = Table(
        "run", "status", "pages fetched", "failed", "documents", "chunks", "items", "errors", "took"
    )
    colour = {"completed": "green", "running": "yellow"}.get(run["status"], "red")
    took = "" if not run.get("finished_at") else _seconds_between(run["started_at"], run["finished_at"])
    table.add_row(
        run["id"][:8],
        f"[{colour}]{run['status']}[/{colour}]",
        str(progress["pages_fetched"]),
        str(progress["pages_failed"]),
        str(progress["documents_indexed"]),
        str(progress["chunks_indexed"]),
        str(progress["items_extracted"]),
        str(progress["errors"]),
        took,
    )
    console.print(table)
    print_expansion(run)


def _seconds_between(start: str, end: str) -> str:
    return f"{(datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds():.1f}s"
