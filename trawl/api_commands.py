"""`trawl` commands of the public API: keys, runs, search, upload, submit (and `crawling`'s crawl).

Everything but `keys create` goes through the HTTP API. `keys create` bootstraps: it makes a
tenant, its admin user and a key straight in ingest's tables (the API cannot authenticate a
caller before any key exists) and saves the URL and key for the other commands.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated, Any
from uuid import uuid4

import typer
from rich.table import Table

from services.ingest import commands
from services.ingest.commands import Bootstrapped
from shared.config import Settings
from shared.search_api import SearchMode
from trawl import crawling, expansions, exports, images, items, llm
from trawl.client import TrawlClient, resolve, save_config, saved_tenant
from trawl.console import console
from trawl.conversation import call_api

keys_app = typer.Typer(help="API keys: bootstrap a tenant and its first key.", no_args_is_help=True)
runs_app = typer.Typer(help="Runs: list, show, cancel, delete.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="name of the new tenant")] = "default",
    email: Annotated[str, typer.Option(help="its first admin user")] = "admin@localhost",
    save: Annotated[
        bool, typer.Option(help="make the other commands use this key (they switch to the new tenant)")
    ] = True,
) -> None:
    """Create a tenant, its admin user and an API key (shown once) directly in ingest's database."""
    settings = Settings()
    previous = saved_tenant(settings)
    try:
        key = asyncio.run(bootstrap_tenant(settings, tenant, email)).key.plaintext
    except OSError as exc:
        console.print(f"[red]cannot reach PostgreSQL ({exc}); start the stack with `trawl up`[/red]")
        raise typer.Exit(1) from exc
    console.print(f"tenant {tenant!r}, admin {email}\nAPI key (shown once): [bold]{key}[/bold]")
    if not save:
        console.print(f"not saved: the other commands still use {_whose(previous)}")
        return
    url, _ = resolve(settings)
    path = save_config(settings, api_url=url, api_key=key, tenant=tenant)
    console.print(f"saved to {path}: the other commands now act as tenant {tenant!r}", end="")
    console.print(
        f" [yellow](they acted as {_whose(previous)}; --no-save keeps that)[/yellow]" if previous else ""
    )


def _whose(tenant: str | None) -> str:
    return f"tenant {tenant!r}" if tenant else "the key saved before (or TRAWL_API_KEY)"


async def bootstrap_tenant(settings: Settings, tenant: str, email: str) -> Bootstrapped:
    from services.ingest.app import SPEC
    from shared.db import create_pool
    from shared.service import ServiceRuntime
    from shared.uow import Database

    await ServiceRuntime(SPEC, settings).migrate()
    pool = await create_pool(settings, SPEC.name, max_size=1)
    try:
        async with Database(
            pool, service=SPEC.name, topic_prefix=settings.topic_prefix
        ).unit_of_work() as uow:
            return await commands.create_tenant_with_admin(
                uow,
                name=tenant,
                email=email,
                quota_pages_monthly=settings.default_quota_pages_monthly,
                max_active_runs=settings.default_max_active_runs,
            )
    finally:
        await pool.close()


@runs_app.command("list")
def runs_list(
    status: Annotated[str | None, typer.Option(help="only runs in this status")] = None,
    limit: Annotated[int, typer.Option(help="most recent first")] = 20,
) -> None:
    """Recent runs of this tenant."""
    runs = call_api(lambda client: client.runs(status=status, limit=limit))
    table = Table("run", "job", "kind", "status", "pages", "chunks", "errors", "created")
    for run in runs:
        progress = run["progress"]
        table.add_row(
            run["id"],
            run["job_name"] or "",
            run["kind"],
            run["status"],
            str(progress["pages_fetched"]),
            str(progress["chunks_indexed"]),
            str(progress["errors"]),
            run["created_at"][:19],
        )
    console.print(table)


@runs_app.command("show")
def runs_show(run_id: str) -> None:
    """One run with its progress."""
    run = call_api(lambda client: client.run(run_id))
    crawling.print_summary(run)
    refusals = run["progress"]["refusals"]
    if refusals:
        table = Table("not fetched or not stored, because", "URLs", title="refused URLs (`trawl runs pages`)")
        for reason, count in sorted(refusals.items(), key=lambda item: -item[1]):
            table.add_row(reason, str(count))
        console.print(table)
    console.print_json(json.dumps(run))


@runs_app.command("pages")
def runs_pages(
    run_id: str,
    status: Annotated[
        list[str] | None, typer.Option(help="queued, leased, fetched, skipped or failed (repeatable)")
    ] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
) -> None:
    """The run's URLs in the order they were found, with their state and why any was refused."""
    page = call_api(
        lambda client: client.run_pages(run_id, status=status or ["failed", "skipped"], limit=limit)
    )
    table = Table("url", "kind", "state", "reason", "status", "attempts")
    for entry in page["urls"]:
        table.add_row(
            entry["url"],
            entry["kind"],
            entry["state"],
            entry["reason"] or "",
            str(entry["status_code"] or ""),
            str(entry["attempts"]),
        )
    console.print(table)
    if page["next_cursor"]:
        console.print(f"more: GET /v1/runs/{run_id}/pages?cursor={page['next_cursor']}")


@runs_app.command("cancel")
def runs_cancel(run_id: str) -> None:
    """Stop a run: no new work starts for it."""
    run = call_api(lambda client: client.cancel(run_id))
    console.print(f"run {run['id']} {run['status']}")


@runs_app.command("delete")
def runs_delete(run_id: str) -> None:
    """Delete a run and, in every service, everything it produced."""
    call_api(lambda client: client.delete(run_id))
    console.print(f"run {run_id} deleted")


def search(
    query: Annotated[str, typer.Argument(help="what to look for")],
    mode: Annotated[SearchMode, typer.Option(help="hybrid, vector or keyword")] = SearchMode.HYBRID,
    run: Annotated[str | None, typer.Option(help="only this run's documents")] = None,
    limit: Annotated[int, typer.Option(help="how many hits")] = 5,
    every_chunk: Annotated[
        bool, typer.Option(help="every matching chunk, of every version of a page (default: one hit per URL)")
    ] = False,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            help="only documents with this name:value tag (repeatable: all of them), e.g. language:de"
        ),
    ] = None,
) -> None:
    """Search what this tenant has indexed; prints ranked hits, one per URL (its latest version)."""
    result = call_api(
        lambda client: client.search(
            query, mode=mode.value, run_id=run, limit=limit, distinct_urls=not every_chunk, tags=tag
        )
    )
    print_hits(result)


def print_hits(result: dict[str, Any]) -> None:
    table = Table(
        "#", "score", "title / url", "snippet", title=f"{result['mode']} search: {result['query']!r}"
    )
    for rank, hit in enumerate(result["hits"], start=1):
        where = f"{hit.get('title') or ''}\n[dim]{hit.get('url') or hit['document_id']}[/dim]"
        table.add_row(str(rank), f"{hit['score']:.3f}", where, hit["text"][:160].replace("\n", " "))
    console.print(table)
    console.print(f"{len(result['hits'])} hit(s) in {result['took_ms']:.0f} ms")


def upload(
    files: Annotated[list[Path], typer.Argument(help="HTML, PDF, text or Markdown files", exists=True)],
) -> None:
    """Upload files to be indexed as one run."""

    async def work(client: TrawlClient) -> dict[str, Any]:
        return await client.upload(files)

    result = call_api(work)
    table = Table("document", "file", "type", "bytes")
    for document in result["documents"]:
        table.add_row(
            document["document_id"], document["filename"], document["content_type"], str(document["size"])
        )
    console.print(table)
    console.print(f"run {result['run']['id']} indexes them; `trawl runs show {result['run']['id']}`")


def submit(
    config: Annotated[Path, typer.Argument(help="a JSON file with a job configuration", exists=True)],
    idempotency_key: Annotated[str | None, typer.Option(help="the same key gives the same run")] = None,
    wait_seconds: Annotated[float, typer.Option(help="how long to wait for the intake's answer")] = 30.0,
) -> None:
    """Publish a JobSubmitted to Kafka (as an external producer would) and show what intake made of it."""
    from shared.events import JobSubmitted
    from shared.producer import publish_direct

    settings = Settings()
    raw = json.loads(config.read_text())

    async def work(client: TrawlClient) -> dict[str, Any] | None:
        me = await client.me()
        submission = JobSubmitted(
            tenant_id=me["tenant_id"],
            submission_id=uuid4(),
            idempotency_key=idempotency_key,
            config=raw,
            submitted_by=f"key:{me['key_id']}",
        )
        await publish_direct(settings, [submission])
        console.print(f"published JobSubmitted {submission.submission_id}")
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if (outcome := await client.submission(str(submission.submission_id))) is not None:
                return outcome
            await asyncio.sleep(0.5)
        return None

    outcome = call_api(work)
    if outcome is None:
        console.print(f"[yellow]no answer from intake within {wait_seconds:.0f}s[/yellow]")
        raise typer.Exit(1)
    if outcome["status"] == "rejected":
        console.print("[red]rejected:[/red]" + "".join(f"\n  {reason}" for reason in outcome["reasons"]))
        raise typer.Exit(1)
    console.print(f"[green]accepted:[/green] run {outcome['run_id']}")


def register(app: typer.Typer) -> None:
    """Add these commands to the `trawl` CLI."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(runs_app, name="runs")
    app.add_typer(llm.llm_app, name="llm")
    app.command()(crawling.crawl)
    app.command()(expansions.expansions)
    app.command()(exports.export)
    app.command()(items.items)
    app.command()(items.products)
    app.command()(images.images)
    app.command()(images.validate)
    for command in (submit, search, upload):
        app.command()(command)
